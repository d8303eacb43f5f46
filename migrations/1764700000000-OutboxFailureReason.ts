import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why a pending report to Cleeng is waiting for another attempt (auth, rate_limited, conflict,
 * unavailable, unexpected): the `connector_outbox_retrying` alert reads it. An index serves the
 * operator's replay of one payment's dead reports.
 */
export class OutboxFailureReason1764700000000 implements MigrationInterface {
  name = 'OutboxFailureReason1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE outbox_messages ADD COLUMN failure_reason text
        CHECK (failure_reason IN ('auth', 'rate_limited', 'conflict', 'unavailable', 'unexpected'))`);
    await q.query(
      `CREATE INDEX outbox_messages_dead_idx ON outbox_messages (aggregate_id, id) WHERE status = 'dead'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX outbox_messages_dead_idx`);
    await q.query(`ALTER TABLE outbox_messages DROP COLUMN failure_reason`);
  }
}
