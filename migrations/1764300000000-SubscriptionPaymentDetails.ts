import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A connector-managed subscription may rebill a stored token (card gateways, merchant-initiated): it points
 * at the payment details that hold the sealed token, never at the token itself.
 */
export class SubscriptionPaymentDetails1764300000000 implements MigrationInterface {
  name = 'SubscriptionPaymentDetails1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE connector_subscriptions ADD COLUMN payment_details_id uuid REFERENCES payment_details(id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE connector_subscriptions DROP COLUMN payment_details_id`);
  }
}
