import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Gateway-managed subscriptions (billing mode 2): the gateway's subscription, the initial payment and order it
 * pays, and its mirrored status. One row per gateway subscription; billing cycles are reported through the
 * outbox (its dedupe key makes each cycle's report unique).
 */
export class GatewaySubscriptions1764820000000 implements MigrationInterface {
  name = 'GatewaySubscriptions1764820000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gateway_subscriptions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        gateway text NOT NULL,
        external_subscription_id text NOT NULL,
        payment_id uuid NOT NULL REFERENCES payments (id),
        order_id uuid NOT NULL REFERENCES orders (id),
        customer_id text NOT NULL,
        offer_id text NOT NULL,
        payment_method_id integer NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
        currency char(3) NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'active', 'paused', 'cancelled', 'ended')),
        initial_transaction_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT gateway_subscriptions_external_uq UNIQUE (gateway, external_subscription_id),
        CONSTRAINT gateway_subscriptions_payment_uq UNIQUE (payment_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gateway_subscriptions`);
  }
}
