import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox lease gets a token: each claim writes a fresh one, the heartbeat renews only rows still carrying
 * it, and the outcome write is fenced by it, so an instance that lost its lease cannot overwrite the outcome.
 */
export class InboxLeaseToken1764450000000 implements MigrationInterface {
  name = 'InboxLeaseToken1764450000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbox_events ADD COLUMN lease_token uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbox_events DROP COLUMN lease_token`);
  }
}
