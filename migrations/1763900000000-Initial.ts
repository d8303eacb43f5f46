import { MigrationInterface, QueryRunner } from 'typeorm';

/** Orders, payments, payment details, incoming idempotency records and the Cleeng outbox. PG 15 features only. */
export class Initial1763900000000 implements MigrationInterface {
  name = 'Initial1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        cleeng_order_id text NOT NULL UNIQUE,
        customer_id text NOT NULL,
        offer_id text NOT NULL,
        gateway text NOT NULL,
        payment_method_id integer NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
        currency char(3) NOT NULL,
        country char(2) NOT NULL,
        payment_operation text NOT NULL,
        cleeng_subscription_id text,
        status text NOT NULL,
        expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC)`);

    await q.query(`
      CREATE TABLE payment_details (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        customer_id text NOT NULL,
        gateway text NOT NULL,
        shopper_reference text NOT NULL,
        token_sealed text NOT NULL,
        card jsonb NOT NULL DEFAULT '{}'::jsonb,
        cleeng_payment_details_id text UNIQUE,
        status text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX payment_details_customer_idx ON payment_details (customer_id)`);

    await q.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id uuid NOT NULL REFERENCES orders(id),
        customer_id text NOT NULL,
        gateway text NOT NULL,
        operation text NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
        currency char(3) NOT NULL,
        status text NOT NULL,
        external_payment_id text,
        captured_minor bigint NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
        refunded_minor bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= captured_minor),
        decline jsonb,
        action jsonb,
        gateway_state jsonb,
        payment_details_id uuid REFERENCES payment_details(id),
        cleeng_payment_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT payments_external_id_uq UNIQUE (gateway, external_payment_id)
      )`);
    // One live payment per order: a second attempt can only start once the first has failed.
    await q.query(`
      CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id)
      WHERE status IN ('pending', 'unknown', 'action_required', 'authorised', 'captured', 'partially_refunded', 'refunded')`);
    await q.query(`CREATE INDEX payments_unknown_idx ON payments (updated_at) WHERE status = 'unknown'`);

    await q.query(`
      CREATE TABLE idempotency_records (
        scope text NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        state text NOT NULL,
        response_status integer,
        response_body jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
      )`);

    await q.query(`
      CREATE TABLE outbox_messages (
        id bigserial PRIMARY KEY,
        kind text NOT NULL,
        aggregate_id text NOT NULL,
        dedupe_key text NOT NULL UNIQUE,
        payload jsonb NOT NULL,
        sealed_secret text,
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        last_error text,
        result jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX outbox_due_idx ON outbox_messages (next_attempt_at, id) WHERE status = 'pending'`,
    );
    await q.query(
      `CREATE INDEX outbox_aggregate_idx ON outbox_messages (aggregate_id, id) WHERE status <> 'delivered'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox_messages`);
    await q.query(`DROP TABLE idempotency_records`);
    await q.query(`DROP TABLE payments`);
    await q.query(`DROP TABLE payment_details`);
    await q.query(`DROP TABLE orders`);
  }
}
