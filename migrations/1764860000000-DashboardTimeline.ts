import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The operator dashboard (issue 12): one timeline per payment and an audit log of operator actions.
 *  - payment_status_changes: written by a trigger on payments, so every state change (whichever service made
 *    it, through the transition tables) is recorded in the same transaction without touching their code;
 *  - gateway_calls: one row per callGateway call with request/response SUMMARIES only (operation, outcome,
 *    status, ids, decline codes; never card data or tokens), written by the wrapper's recorder;
 *  - dashboard_audit_log: who did what from the dashboard;
 *  - indexes for searching and paging a million payments and for finding a payment's webhooks.
 * Additive only: no existing column or index changes.
 */
export class DashboardTimeline1764860000000 implements MigrationInterface {
  name = 'DashboardTimeline1764860000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payment_status_changes (
        id bigserial PRIMARY KEY,
        payment_id uuid NOT NULL,
        from_status text,
        to_status text NOT NULL,
        decline_code text,
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(
      `CREATE INDEX payment_status_changes_payment_idx ON payment_status_changes (payment_id, id)`,
    );
    await q.query(`
      CREATE FUNCTION record_payment_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
          INSERT INTO payment_status_changes (payment_id, from_status, to_status, decline_code)
          VALUES (NEW.id, CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status END, NEW.status,
                  NEW.decline->>'code');
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER payments_status_change AFTER INSERT OR UPDATE OF status ON payments
      FOR EACH ROW EXECUTE FUNCTION record_payment_status_change()`);

    await q.query(`
      CREATE TABLE gateway_calls (
        id bigserial PRIMARY KEY,
        gateway text NOT NULL,
        operation text NOT NULL,
        subject_id text,
        external_payment_id text,
        outcome text NOT NULL,
        duration_ms integer NOT NULL,
        request_summary jsonb NOT NULL DEFAULT '{}'::jsonb,
        response_summary jsonb NOT NULL DEFAULT '{}'::jsonb,
        called_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(
      `CREATE INDEX gateway_calls_subject_idx ON gateway_calls (subject_id, id) WHERE subject_id IS NOT NULL`,
    );
    await q.query(`
      CREATE INDEX gateway_calls_external_idx ON gateway_calls (gateway, external_payment_id)
      WHERE external_payment_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE dashboard_audit_log (
        id bigserial PRIMARY KEY,
        operator text NOT NULL,
        session_id text NOT NULL,
        action text NOT NULL,
        target text,
        outcome text NOT NULL,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);

    // search and paging (newest first, keyset on (created_at, id))
    await q.query(`CREATE INDEX payments_created_idx ON payments (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX payments_customer_idx ON payments (customer_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX payments_order_idx ON payments (order_id)`);
    await q.query(
      `CREATE INDEX payments_external_idx ON payments (external_payment_id) WHERE external_payment_id IS NOT NULL`,
    );
    // a payment's webhooks: parsed gateway events carry our reference or the gateway's payment id
    await q.query(`
      CREATE INDEX inbox_events_reference_idx ON inbox_events ((payload->>'reference'))
      WHERE payload->>'reference' IS NOT NULL`);
    await q.query(`
      CREATE INDEX inbox_events_payment_reference_idx ON inbox_events ((payload->>'paymentReference'))
      WHERE payload->>'paymentReference' IS NOT NULL`);
    await q.query(`
      CREATE INDEX inbox_events_external_idx ON inbox_events (source, (payload->>'externalPaymentId'))
      WHERE payload->>'externalPaymentId' IS NOT NULL`);
    // the dashboard lists the failed inbox and the dead outbox newest first
    await q.query(
      `CREATE INDEX inbox_events_failed_idx ON inbox_events (received_at DESC) WHERE status = 'failed'`,
    );
    await q.query(`CREATE INDEX outbox_messages_aggregate_all_idx ON outbox_messages (aggregate_id, id)`);
    await q.query(
      `CREATE INDEX outbox_messages_dead_recent_idx ON outbox_messages (id DESC) WHERE status = 'dead'`,
    );
    // subscriptions in dunning and the periods that went through it
    await q.query(`
      CREATE INDEX connector_subscriptions_dunning_idx ON connector_subscriptions (dunning_started_at DESC)
      WHERE dunning_step > 0`);
    await q.query(
      `CREATE INDEX rebill_attempts_retried_idx ON rebill_attempts (created_at) WHERE try_number > 1`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of [
      'rebill_attempts_retried_idx',
      'connector_subscriptions_dunning_idx',
      'outbox_messages_dead_recent_idx',
      'outbox_messages_aggregate_all_idx',
      'inbox_events_failed_idx',
      'inbox_events_external_idx',
      'inbox_events_payment_reference_idx',
      'inbox_events_reference_idx',
      'payments_external_idx',
      'payments_order_idx',
      'payments_customer_idx',
      'payments_created_idx',
    ]) {
      await q.query(`DROP INDEX IF EXISTS ${index}`);
    }
    await q.query(`DROP TABLE dashboard_audit_log`);
    await q.query(`DROP TABLE gateway_calls`);
    await q.query(`DROP TRIGGER payments_status_change ON payments`);
    await q.query(`DROP FUNCTION record_payment_status_change()`);
    await q.query(`DROP TABLE payment_status_changes`);
  }
}
