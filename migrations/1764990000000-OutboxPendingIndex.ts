import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox claim reads pending messages in id order (one aggregate's reports go out in the order written), so
 * its index is on `id`: with the old `(next_attempt_at, id)` index every claim read and sorted the whole backlog
 * to take 20 (after a Cleeng outage, the moment the outbox matters). The dashboard lists pending messages in the
 * same order, through the same index.
 */
export class OutboxPendingIndex1764990000000 implements MigrationInterface {
  name = 'OutboxPendingIndex1764990000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX outbox_pending_idx ON outbox_messages (id) WHERE status = 'pending'`);
    await q.query(`DROP INDEX outbox_due_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX outbox_due_idx ON outbox_messages (next_attempt_at, id) WHERE status = 'pending'`,
    );
    await q.query(`DROP INDEX outbox_pending_idx`);
  }
}
