#!/usr/bin/env node
// npm run dashboard:seed [-- <payments>]  (default 1,000,000) on DATABASE_URL, after the migrations ran (start the
// app once). Adds synthetic history for measuring the dashboard: payments over the last year across four gateway
// ids, their orders and status changes, refunds, gateway calls, inbox events and reports to Cleeng, all with ids
// prefixed "seed-". Rows are generated in the database (generate_series), so a million takes a minute or two.
const { Client } = require('pg');

const total = Number(process.argv[2] ?? 1_000_000);
const url = process.env.DATABASE_URL;
if (!url || !Number.isInteger(total) || total <= 0) {
  console.error('usage: DATABASE_URL=postgres://... npm run dashboard:seed [-- <number of payments>]');
  process.exit(1);
}

const steps = [
  [
    'orders',
    `INSERT INTO orders (cleeng_order_id, customer_id, offer_id, gateway, payment_method_id, amount_minor, currency,
                         country, payment_operation, status, created_at, updated_at)
     SELECT 'seed-' || i, 'seed-cust-' || (i % ($1 / 5 + 1)), 'S100000001_US',
            (ARRAY['adyen','cleverbridge','smart-glocal','smartpay'])[1 + i % 4], 101, 999 + (i % 7) * 100,
            (ARRAY['USD','EUR','GBP','JPY'])[1 + (i / 4) % 4], 'US', 'initial-payment', 'paid',
            now() - (i * interval '365 days' / $1), now() - (i * interval '365 days' / $1)
       FROM generate_series(1, $1) i`,
  ],
  ['status trigger off', `ALTER TABLE payments DISABLE TRIGGER payments_status_change`],
  [
    'payments',
    `INSERT INTO payments (order_id, customer_id, gateway, operation, amount_minor, currency, status,
                           external_payment_id, captured_minor, refunded_minor, decline, cleeng_payment_id,
                           created_at, updated_at, next_check_at)
     SELECT o.id, o.customer_id, o.gateway, 'initial-payment', o.amount_minor, o.currency, s.status,
            'seed-psp-' || o.cleeng_order_id,
            CASE WHEN s.status IN ('captured','refunded') THEN o.amount_minor ELSE 0 END,
            CASE WHEN s.status = 'refunded' THEN o.amount_minor ELSE 0 END,
            CASE WHEN s.status = 'rejected' THEN jsonb_build_object(
              'code', (ARRAY['PAY_DEC','PAY_CLE','PAY_CEX','FRA_REJ'])[1 + o.n % 4],
              'class', (ARRAY['soft','soft','hard','hard'])[1 + o.n % 4],
              'reason', 'seeded', 'rawCode', (ARRAY['2','12','6','7'])[1 + o.n % 4]) END,
            'seed-cp-' || o.n, o.created_at, o.created_at, o.created_at
       FROM (SELECT o.*, substr(o.cleeng_order_id, 6)::int AS n FROM orders o WHERE o.cleeng_order_id LIKE 'seed-%') o
       CROSS JOIN LATERAL (SELECT CASE
              WHEN o.n % 100 < 80 THEN 'captured' WHEN o.n % 100 < 92 THEN 'rejected'
              WHEN o.n % 100 < 95 THEN 'refunded' WHEN o.n % 100 < 98 THEN 'authorised'
              WHEN o.n % 1000 < 990 THEN 'cancelled' WHEN o.n % 1000 < 994 THEN 'action_required'
              WHEN o.n % 1000 < 997 THEN 'pending' ELSE 'unknown' END AS status) s`,
  ],
  ['status trigger on', `ALTER TABLE payments ENABLE TRIGGER payments_status_change`],
  [
    'status changes',
    `INSERT INTO payment_status_changes (payment_id, from_status, to_status, changed_at)
     SELECT id, NULL, 'pending', created_at FROM payments WHERE external_payment_id LIKE 'seed-psp-%'
     UNION ALL
     SELECT id, 'pending', status, created_at + interval '1 second' FROM payments
      WHERE external_payment_id LIKE 'seed-psp-%' AND status <> 'pending'`,
  ],
  [
    'gateway calls',
    `INSERT INTO gateway_calls (gateway, operation, subject_id, external_payment_id, outcome, duration_ms,
                                response_summary, called_at)
     SELECT gateway, 'authorise', id::text, external_payment_id, 'ok', 50 + (amount_minor % 300),
            jsonb_build_object('status', status), created_at
       FROM payments WHERE external_payment_id LIKE 'seed-psp-%'`,
  ],
  [
    'refunds',
    `INSERT INTO refunds (payment_id, amount_minor, currency, status, source, source_key, created_at, updated_at)
     SELECT id, refunded_minor, currency, 'succeeded', 'api', 'seed-' || id, created_at, created_at
       FROM payments WHERE external_payment_id LIKE 'seed-psp-%' AND status = 'refunded'`,
  ],
  [
    'inbox events',
    `INSERT INTO inbox_events (source, lane, event_key, event_type, payload, status, attempts, received_at,
                               processed_at, last_error)
     SELECT gateway, gateway, 'seed:' || id, 'AUTHORISATION',
            jsonb_build_object('type', 'payment.authorised', 'reference', id::text,
                               'externalPaymentId', external_payment_id),
            CASE WHEN amount_minor % 997 = 0 THEN 'failed' ELSE 'done' END, 1, created_at, created_at,
            CASE WHEN amount_minor % 997 = 0 THEN 'seeded failure' END
       FROM payments WHERE external_payment_id LIKE 'seed-psp-%'`,
  ],
  [
    'reports to Cleeng',
    `INSERT INTO outbox_messages (kind, aggregate_id, dedupe_key, payload, status, attempts, created_at,
                                  delivered_at, last_error)
     SELECT 'cleeng.payment.create', id::text, 'seed:' || id,
            jsonb_build_object('method', 'POST', 'path', '/payments', 'body', jsonb_build_object('status', status)),
            CASE WHEN cleeng_payment_id LIKE '%77' THEN 'dead' ELSE 'delivered' END, 1, created_at,
            CASE WHEN cleeng_payment_id LIKE '%77' THEN NULL ELSE created_at END,
            CASE WHEN cleeng_payment_id LIKE '%77' THEN 'HTTP 400: seeded' END
       FROM payments WHERE external_payment_id LIKE 'seed-psp-%'`,
  ],
  ['analyse', `ANALYZE`],
];

async function main() {
  const client = new Client({ connectionString: url });
  await client.connect();
  const [{ seeded }] = (await client.query(`SELECT count(*)::int AS seeded FROM orders WHERE cleeng_order_id LIKE 'seed-%'`)).rows;
  if (seeded > 0) {
    console.error(`this database already holds ${seeded} seeded orders: seed a fresh database`);
    process.exit(1);
  }
  for (const [name, sql] of steps) {
    const started = Date.now();
    const result = await client.query(sql, sql.includes('$1') ? [total] : []);
    console.log(`${name}: ${result.rowCount ?? ''} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  await client.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
