import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Work that must survive a crash is recorded under the caller-scoped Idempotency-Key before its gateway call,
 * so a client retry after the key went stale resumes it instead of repeating it (issue 8):
 * - purchases: the request key, and a reconciler schedule for purchases whose ProcessCart outcome is not known
 *   (`processing` after a crash, `unknown` after a lost answer), resolved by the gateway's lookup;
 * - payment_details_attempts: a tokenisation attempt (its id is in the gateway idempotency key) and the
 *   payment details it produced;
 * - an index for the reconciler's look at `authorised` payments (an initial purchase whose capture was lost).
 */
export class ResumableRequests1764810000000 implements MigrationInterface {
  name = 'ResumableRequests1764810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE purchases ADD COLUMN request_scope text`);
    await q.query(`ALTER TABLE purchases ADD COLUMN request_key text`);
    await q.query(
      `CREATE UNIQUE INDEX purchases_request_key_idx ON purchases (request_scope, request_key)
       WHERE request_key IS NOT NULL`,
    );
    await q.query(`ALTER TABLE purchases ADD COLUMN next_check_at timestamptz NOT NULL DEFAULT now()`);
    await q.query(`ALTER TABLE purchases ADD COLUMN check_attempts integer NOT NULL DEFAULT 0`);
    await q.query(
      `CREATE INDEX purchases_next_check_idx ON purchases (next_check_at) WHERE status IN ('processing', 'unknown')`,
    );
    await q.query(`
      CREATE TABLE payment_details_attempts (
        id uuid PRIMARY KEY,
        request_scope text NOT NULL,
        request_key text NOT NULL,
        customer_id text NOT NULL,
        gateway text NOT NULL,
        payment_details_id uuid REFERENCES payment_details(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (request_scope, request_key)
      )`);
    await q.query(
      `CREATE INDEX payments_authorised_check_idx ON payments (next_check_at) WHERE status = 'authorised'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX payments_authorised_check_idx`);
    await q.query(`DROP TABLE payment_details_attempts`);
    await q.query(`DROP INDEX purchases_next_check_idx`);
    await q.query(`ALTER TABLE purchases DROP COLUMN check_attempts`);
    await q.query(`ALTER TABLE purchases DROP COLUMN next_check_at`);
    await q.query(`DROP INDEX purchases_request_key_idx`);
    await q.query(`ALTER TABLE purchases DROP COLUMN request_key`);
    await q.query(`ALTER TABLE purchases DROP COLUMN request_scope`);
  }
}
