import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconciler work is ordered by when a row is next due for a check, with backoff for rows that cannot be
 * resolved yet, so a few stuck rows never crowd out newer ones (the 50 oldest were taken before). The partial
 * indexes cover only the open states the reconcilers look at.
 */
export class ReconcileSchedule1764400000000 implements MigrationInterface {
  name = 'ReconcileSchedule1764400000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['payments', 'refunds']) {
      await q.query(`ALTER TABLE ${table} ADD COLUMN next_check_at timestamptz NOT NULL DEFAULT now()`);
      await q.query(`ALTER TABLE ${table} ADD COLUMN check_attempts integer NOT NULL DEFAULT 0`);
      await q.query(`UPDATE ${table} SET next_check_at = updated_at`);
    }
    await q.query(`DROP INDEX IF EXISTS payments_unknown_idx`);
    await q.query(
      `CREATE INDEX payments_next_check_idx ON payments (next_check_at)
       WHERE status IN ('pending', 'unknown', 'action_required')`,
    );
    await q.query(
      `CREATE INDEX refunds_next_check_idx ON refunds (next_check_at) WHERE status IN ('requested', 'unknown')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS refunds_next_check_idx`);
    await q.query(`DROP INDEX IF EXISTS payments_next_check_idx`);
    await q.query(`CREATE INDEX payments_unknown_idx ON payments (updated_at) WHERE status = 'unknown'`);
    for (const table of ['payments', 'refunds']) {
      await q.query(`ALTER TABLE ${table} DROP COLUMN check_attempts`);
      await q.query(`ALTER TABLE ${table} DROP COLUMN next_check_at`);
    }
  }
}
