import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

export const AUTOVACUUM_OFF_WARNING =
  'autovacuum is off on this PostgreSQL: the inbox, outbox and rebilling tables never get statistics or have ' +
  'their processed rows reclaimed, so their claims slow down as they grow; turn it on (docs/performance.md, ' +
  '"Eighth pass")';

/**
 * Warns once at boot when the server runs without autovacuum. The claims are written to stay O(batch) (see
 * test/claim-plans.e2e-spec.ts), but the inbox's plan still needs statistics on its table, and only (auto)vacuum
 * keeps index scans from stepping over processed rows.
 */
export async function warnIfAutovacuumOff(db: DataSource): Promise<boolean> {
  // advice only: a failed read must not stop the boot
  const rows = await db
    .query<{ setting: string }[]>(`SELECT current_setting('autovacuum') AS setting`)
    .catch((): { setting: string }[] => []);
  const off = rows[0]?.setting === 'off';
  if (off) {
    new Logger('Database').warn(AUTOVACUUM_OFF_WARNING);
  }
  return off;
}
