import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `payments_external_idx (external_payment_id)` served only the dashboard's search by the gateway's payment id, which
 * now goes through the unique `(gateway, external_payment_id)` with every gateway id listed. Every payment row version
 * with a gateway id paid for an entry in it, and a status change is never a HOT update (`status` is in three partial
 * indexes' predicates): 1.3 of a purchase's ~128 WAL records (docs/performance-history.md, eighteenth pass).
 */
export class PaymentsExternalIndexDropped1765100000000 implements MigrationInterface {
  name = 'PaymentsExternalIndexDropped1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS payments_external_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX payments_external_idx ON payments (external_payment_id) WHERE external_payment_id IS NOT NULL`,
    );
  }
}
