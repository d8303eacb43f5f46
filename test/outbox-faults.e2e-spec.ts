import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';
import { cleengPaymentsForOrder, createOrder, OPERATOR, pay } from './support/flows';

interface OutboxRow {
  id: string;
  kind: string;
  aggregateId: string;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string;
}

async function outboxFor(app: TestApp, paymentId: string): Promise<OutboxRow[]> {
  const res = await app.http.get('/ops/outbox').set(OPERATOR);
  return (res.body as OutboxRow[]).filter((m) => m.aggregateId === paymentId).reverse();
}

async function cleengFaults(app: TestApp, settings: Record<string, number>): Promise<void> {
  await app.http.post('/sandbox/faults/cleeng').send(settings).expect(200);
}

async function metric(app: TestApp, line: string): Promise<number | undefined> {
  const text = (await app.http.get('/metrics')).text;
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

/**
 * Reports to Cleeng while Cleeng refuses them for reasons that go away (a rotated publisher token,
 * rate limiting) are retried, never parked; only a definite validation error is `dead`, and an
 * operator replays dead reports with one call once the cause is fixed.
 */
describe('outbox: auth and rate-limit errors are retried, validation errors parked and replayable', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
    // earlier files on this database may have left reports their (now gone) emulator never took; they would
    // be retried here too and take the single failures injected below, so they are parked first
    await app.app
      .get(DataSource)
      .query(`UPDATE outbox_messages SET status = 'dead' WHERE status = 'pending'`);
  });
  afterEach(async () => {
    await app.http.delete('/sandbox/faults/cleeng');
  });
  afterAll(async () => {
    await app.close();
  });

  it.each([401, 403])(
    'Cleeng answering %i (publisher token rotated) is retried and alerted, then delivered',
    async (status) => {
      const order = await createOrder(app);
      await cleengFaults(app, { failNext: 1000, failStatus: status });
      const paid = await pay(app, order.id);
      expect(paid.body.status).toBe('captured');
      const retrying = await eventually(async () => {
        const [report] = await outboxFor(app, paid.body.id as string);
        return report && report.attempts >= 2 ? report : undefined;
      });
      expect(retrying.status).toBe('pending');
      expect(retrying.lastError).toContain(String(status));
      expect(await metric(app, 'connector_outbox_retrying{reason="auth"}')).toBeGreaterThanOrEqual(1);

      await app.http.delete('/sandbox/faults/cleeng');
      const reported = await eventually(
        async () => (await cleengPaymentsForOrder(app, order.cleengOrderId))[0],
      );
      expect(reported.status).toBe('captured');
      // Cleeng has it a moment before the dispatcher records the delivery
      await eventually(async () =>
        (await outboxFor(app, paid.body.id as string)).every((m) => m.status === 'delivered'),
      );
      expect((await metric(app, 'connector_outbox_retrying{reason="auth"}')) ?? 0).toBe(0);
    },
  );

  it('a 429 is retried no earlier than its Retry-After', async () => {
    const order = await createOrder(app);
    await cleengFaults(app, { failNext: 1, failStatus: 429, retryAfterSeconds: 3 });
    const paid = await pay(app, order.id);
    const retrying = await eventually(async () => {
      const [report] = await outboxFor(app, paid.body.id as string);
      return report && report.attempts === 1 ? report : undefined;
    });
    expect(retrying.status).toBe('pending');
    const log = (await app.http.get('/sandbox/cleeng/requests')).body as { status: number; at: string }[];
    const refusedAt = Date.parse(log.filter((r) => r.status === 429).at(-1)?.at ?? '');
    // the test backoff is capped at 1 s; Retry-After asks for 3 s
    expect(Date.parse(retrying.nextAttemptAt) - refusedAt).toBeGreaterThanOrEqual(2_900);
    const reported = await eventually(
      async () => (await cleengPaymentsForOrder(app, order.cleengOrderId))[0],
      15_000,
    );
    expect(reported.status).toBe('captured');
  });

  it('a 400 with an error body is dead and holds later reports; one replay call delivers them in order', async () => {
    const order = await createOrder(app);
    await cleengFaults(app, { failNext: 1, failStatus: 400 });
    const paid = await pay(app, order.id);
    const paymentId = paid.body.id as string;
    await eventually(async () => (await outboxFor(app, paymentId))[0]?.status === 'dead');
    const refund = await app.http
      .post('/v1/refunds')
      .set('X-Api-Key', API_KEY)
      .set('Idempotency-Key', randomUUID())
      .send({ paymentId, reason: 'customer request' });
    expect(refund.status).toBe(201);
    const held = await eventually(async () => {
      const rows = await outboxFor(app, paymentId);
      return rows.length === 2 ? rows : undefined;
    });
    expect(held.map((m) => m.status)).toEqual(['dead', 'pending']);
    await app.http.post('/ops/outbox/dispatch').set(OPERATOR).expect(200);
    expect((await outboxFor(app, paymentId)).map((m) => m.status)).toEqual(['dead', 'pending']);

    const missing = await app.http.post('/ops/outbox/replay').send({ all: true });
    expect(missing.status).toBe(401);
    const invalid = await app.http.post('/ops/outbox/replay').set(OPERATOR).send({});
    expect(invalid.status).toBe(400);
    const replay = await app.http.post('/ops/outbox/replay').set(OPERATOR).send({ paymentId });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ requeued: 1 });

    const delivered = await eventually(async () => {
      const rows = await outboxFor(app, paymentId);
      return rows.every((m) => m.status === 'delivered') ? rows : undefined;
    });
    expect(delivered.map((m) => m.kind)).toEqual(['cleeng.payment.create', 'cleeng.payment.refund']);
    const [cleengPayment] = await cleengPaymentsForOrder(app, order.cleengOrderId);
    expect(cleengPayment?.status).toBe('refunded');
    // nothing left to replay
    const again = await app.http.post('/ops/outbox/replay').set(OPERATOR).send({ paymentId });
    expect(again.body).toEqual({ requeued: 0 });
  });
});
