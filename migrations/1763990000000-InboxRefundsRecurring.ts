import { MigrationInterface, QueryRunner } from 'typeorm';

/** Webhook inbox, refunds, and the links Cleeng-managed renewals need. */
export class InboxRefundsRecurring1763990000000 implements MigrationInterface {
  name = 'InboxRefundsRecurring1763990000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE inbox_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source text NOT NULL,
        event_key text NOT NULL,
        event_type text NOT NULL,
        payload jsonb NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        last_error text,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        CONSTRAINT inbox_events_natural_key UNIQUE (source, event_key)
      )`);
    await q.query(`CREATE INDEX inbox_due_idx ON inbox_events (next_attempt_at) WHERE status = 'pending'`);

    await q.query(`
      CREATE TABLE refunds (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        payment_id uuid NOT NULL REFERENCES payments(id),
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        currency char(3) NOT NULL,
        status text NOT NULL,
        reason text,
        source text NOT NULL,
        source_key text NOT NULL UNIQUE,
        external_refund_id text,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX refunds_payment_idx ON refunds (payment_id)`);

    // the inbox event that created a recurring order: re-processing the event reuses the order
    await q.query(`ALTER TABLE orders ADD COLUMN source_event_id uuid UNIQUE REFERENCES inbox_events(id)`);
    await q.query(
      `CREATE INDEX payments_cleeng_payment_idx ON payments (cleeng_payment_id) WHERE cleeng_payment_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX payments_cleeng_payment_idx`);
    await q.query(`ALTER TABLE orders DROP COLUMN source_event_id`);
    await q.query(`DROP TABLE refunds`);
    await q.query(`DROP TABLE inbox_events`);
  }
}
