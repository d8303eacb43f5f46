import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

export const AUTOVACUUM_OFF_WARNING =
  'autovacuum is off on this PostgreSQL: the inbox, outbox and rebilling tables and their indexes keep every ' +
  'processed row version and never get statistics; turn it on (docs/performance-history.md, eighth pass)';

/**
 * Warns once at boot when the server runs without autovacuum. The claims stay O(batch) without statistics (see
 * test/claim-plans.e2e-spec.ts), but only (auto)vacuum removes processed row versions: without it the tables and
 * indexes grow with every event, and every other query plans from defaults.
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
