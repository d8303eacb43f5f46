import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each inbox event gets a lane: the gateway its processing calls ('' for none or unknown), set at intake. The due
 * index leads with the lane, so the worker claims each lane's earliest events on their own and one gateway's
 * backlog no longer fills the claim window that every other event waits behind (docs/decisions.md, "Claim lanes").
 * Pending rows of a gateway's own notifications take that gateway's lane here; pending Cleeng events stay in ''
 * (their gateway comes from CLEENG_PAYMENT_METHODS, which a migration cannot read), still bounded per gateway when
 * they run.
 */
export class InboxLanes1765000000000 implements MigrationInterface {
  name = 'InboxLanes1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbox_events ADD COLUMN lane text NOT NULL DEFAULT ''`);
    await q.query(`UPDATE inbox_events SET lane = source WHERE status = 'pending' AND source <> 'cleeng'`);
    await q.query(
      `CREATE INDEX inbox_lane_due_idx ON inbox_events (lane, next_attempt_at) WHERE status = 'pending'`,
    );
    await q.query(`DROP INDEX inbox_due_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX inbox_due_idx ON inbox_events (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`DROP INDEX inbox_lane_due_idx`);
    await q.query(`ALTER TABLE inbox_events DROP COLUMN lane`);
  }
}
