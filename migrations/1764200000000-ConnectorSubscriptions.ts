import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Connector-managed subscriptions (billing mode 3), their rebill attempts (one per period, enforced by a
 * unique constraint) and one-off Cleverbridge ProcessCart purchases.
 */
export class ConnectorSubscriptions1764200000000 implements MigrationInterface {
  name = 'ConnectorSubscriptions1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE connector_subscriptions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        customer_id text NOT NULL,
        gateway text NOT NULL,
        external_subscription_id text,
        cleeng_subscription_id text,
        offer_id text,
        product_id text,
        quantity integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        currency char(3) NOT NULL,
        billing_interval text NOT NULL,
        billing_anchor timestamptz NOT NULL,
        period_index integer NOT NULL DEFAULT 0 CHECK (period_index >= 0),
        next_billing_at timestamptz NOT NULL,
        next_attempt_at timestamptz,
        status text NOT NULL,
        x_parameters jsonb NOT NULL DEFAULT '{}'::jsonb,
        dunning_step integer NOT NULL DEFAULT 0 CHECK (dunning_step >= 0),
        dunning_started_at timestamptz,
        last_decline jsonb,
        checkout_url text,
        checkout_expires_at timestamptz,
        last_error text,
        lease_owner text,
        lease_until timestamptz,
        cancel_reason text,
        cancelled_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT connector_subscriptions_external_uq UNIQUE (gateway, external_subscription_id),
        CONSTRAINT connector_subscriptions_cleeng_offer CHECK (cleeng_subscription_id IS NULL OR offer_id IS NOT NULL)
      )`);
    // the rebill claim: due rows in order; rows with nothing to do have no next_attempt_at
    await q.query(`
      CREATE INDEX connector_subscriptions_due_idx ON connector_subscriptions (next_attempt_at)
      WHERE next_attempt_at IS NOT NULL`);
    await q.query(
      `CREATE INDEX connector_subscriptions_customer_idx ON connector_subscriptions (customer_id)`,
    );

    await q.query(`
      CREATE TABLE rebill_attempts (
        id uuid PRIMARY KEY,
        subscription_id uuid NOT NULL REFERENCES connector_subscriptions(id),
        period_index integer NOT NULL,
        period_start timestamptz NOT NULL,
        period_end timestamptz NOT NULL,
        gateway text NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        currency char(3) NOT NULL,
        status text NOT NULL,
        try_number integer NOT NULL DEFAULT 1 CHECK (try_number > 0),
        idempotency_key text NOT NULL UNIQUE,
        external_payment_id text,
        decline jsonb,
        retry_scheduled boolean NOT NULL DEFAULT false,
        technical_failures integer NOT NULL DEFAULT 0,
        tries jsonb NOT NULL DEFAULT '[]'::jsonb,
        refunded_minor bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
        adjustments jsonb NOT NULL DEFAULT '[]'::jsonb,
        last_error text,
        captured_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT rebill_attempts_period_uq UNIQUE (subscription_id, period_start)
      )`);
    await q.query(`
      CREATE INDEX rebill_attempts_external_idx ON rebill_attempts (gateway, external_payment_id)
      WHERE external_payment_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE purchases (
        id uuid PRIMARY KEY,
        gateway text NOT NULL,
        customer jsonb NOT NULL,
        items jsonb NOT NULL,
        mode text NOT NULL,
        x_parameters jsonb NOT NULL DEFAULT '{}'::jsonb,
        status text NOT NULL,
        external_purchase_id text,
        external_subscription_id text,
        total_minor bigint CHECK (total_minor >= 0),
        currency char(3),
        refunded_minor bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
        checkout_url text,
        checkout_expires_at timestamptz,
        decline jsonb,
        retry_scheduled boolean NOT NULL DEFAULT false,
        adjustments jsonb NOT NULL DEFAULT '[]'::jsonb,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT purchases_external_uq UNIQUE (gateway, external_purchase_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE purchases`);
    await q.query(`DROP TABLE rebill_attempts`);
    await q.query(`DROP TABLE connector_subscriptions`);
  }
}
