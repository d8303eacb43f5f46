import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Connector-managed subscriptions as Cleeng's externally managed subscriptions:
 * - `default_language_id`: the subscription's language at the gateway (Cleverbridge rebills name one; null =
 *   the gateway's deployment default);
 * - `cleeng_link_payment_id`: the gateway payment whose externally managed report made Cleeng create the
 *   subscription; set when that report is written, so exactly one report creates it and later ones wait for
 *   `cleeng_subscription_id` (filled from Cleeng's answer).
 */
export class ExternallyManagedCleeng1764910000000 implements MigrationInterface {
  name = 'ExternallyManagedCleeng1764910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE connector_subscriptions
        ADD COLUMN default_language_id text CHECK (default_language_id ~ '^[a-z]{2}$'),
        ADD COLUMN cleeng_link_payment_id text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE connector_subscriptions DROP COLUMN default_language_id, DROP COLUMN cleeng_link_payment_id`);
  }
}
