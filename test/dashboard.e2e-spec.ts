import request from 'supertest';
import { DataSource } from 'typeorm';
import { DashboardQueries } from '../src/dashboard/dashboard.queries';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { CARDS, createOrder, pay } from './support/flows';

type Agent = ReturnType<typeof request.agent>;

function hiddenField(page: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]+)"`).exec(page);
  if (!match?.[1]) {
    throw new Error(`no ${name} field in the page`);
  }
  return match[1];
}

async function signIn(app: TestApp, operator: string): Promise<Agent> {
  const agent = request.agent(app.url);
  const form = await agent.get('/dashboard/login').expect(200);
  await agent
    .post('/dashboard/login')
    .type('form')
    .send({ _csrf: hiddenField(form.text, '_csrf'), operator, key: 'sandbox-operator' })
    .expect(303)
    .expect('Location', '/dashboard');
  return agent;
}

/**
 * The operator dashboard over the real app: sign-in sets a signed HttpOnly SameSite=Strict cookie, actions need
 * the session's CSRF token and land in the audit log, and a payment's timeline shows its state changes, gateway
 * calls and reports to Cleeng.
 */
describe('operator dashboard', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
    // reports earlier files left pending (their emulator is gone) would take the one Cleeng fault injected
    // below; they are parked first, as in outbox-faults.e2e-spec.ts
    await app.app
      .get(DataSource)
      .query(`UPDATE outbox_messages SET status = 'dead' WHERE status = 'pending'`);
  });
  afterAll(async () => {
    await app.http.delete('/sandbox/faults/cleeng');
    await app.close();
  });

  it('sends a visitor without a session to the login form and refuses a wrong key', async () => {
    await app.http.get('/dashboard').expect(303).expect('Location', '/dashboard/login');
    await app.http.get('/dashboard/payments').expect(303);
    const agent = request.agent(app.url);
    const form = await agent.get('/dashboard/login').expect(200);
    const csrf = hiddenField(form.text, '_csrf');
    const wrong = await agent
      .post('/dashboard/login')
      .type('form')
      .send({ _csrf: csrf, operator: 'eve', key: 'not-the-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']?.toString() ?? '').not.toContain('dashboard_session=');
    // a login post without the form's own token (another site posting) is refused
    await request(app.url)
      .post('/dashboard/login')
      .type('form')
      .send({ _csrf: csrf, operator: 'eve', key: 'sandbox-operator' })
      .expect(403);
    // bad input is a field-level 400
    const bad = await agent
      .post('/dashboard/login')
      .type('form')
      .send({ _csrf: csrf, operator: '<x>', key: 'k' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('operator');
  });

  it('signs in with an HttpOnly SameSite=Strict cookie and shows every page', async () => {
    const agent = request.agent(app.url);
    const form = await agent.get('/dashboard/login').expect(200);
    const res = await agent
      .post('/dashboard/login')
      .type('form')
      .send({ _csrf: hiddenField(form.text, '_csrf'), operator: 'alice', key: 'sandbox-operator' })
      .expect(303);
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith('dashboard_session='),
    );
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(res.headers.location).not.toContain('sandbox-operator');
    for (const path of [
      '/dashboard',
      '/dashboard?window=7d',
      '/dashboard/payments',
      '/dashboard/inbox',
      '/dashboard/outbox',
      '/dashboard/subscriptions',
      '/dashboard/gateways',
      '/dashboard/audit',
    ]) {
      const page = await agent.get(path);
      expect({ path, status: page.status }).toEqual({ path, status: 200 });
      expect(page.text).toContain('signed in as alice');
    }
    await agent.get('/dashboard?window=1y').expect(400);
    // a confirmation only shows when the dashboard itself signed it for this session
    const crafted = await agent
      .get('/dashboard')
      .query({ done: 'Session expired: mail your key to x@y', sig: 'x' });
    expect(crafted.text).not.toContain('mail your key');
    await agent
      .get('/dashboard/assets/chart.umd.min.js')
      .expect(200)
      .expect('Content-Type', /javascript/);
  });

  it("lists pending inbox events next due first across the gateways' lanes", async () => {
    const db = app.app.get(DataSource);
    const queries = app.app.get(DashboardQueries);
    // due long ago but leased elsewhere (the worker leaves them alone), so they lead the list
    const events = [
      { key: 'lane-b-1', lane: 'gw-b', due: '2000-01-01T00:00:01Z' },
      { key: 'lane-a-1', lane: 'gw-a', due: '2000-01-01T00:00:02Z' },
      { key: 'lane-none', lane: '', due: '2000-01-01T00:00:03Z' },
      { key: 'lane-b-2', lane: 'gw-b', due: '2000-01-01T00:00:04Z' },
    ];
    await db.query(
      `INSERT INTO inbox_events (source, lane, event_key, event_type, payload, next_attempt_at, locked_until)
       SELECT 'dashboard-test', e.lane, e.key, 'test', '{}', e.due, now() + interval '1 hour'
       FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS e(key, lane, due)`,
      [events.map((e) => e.key), events.map((e) => e.lane), events.map((e) => e.due)],
    );
    try {
      const pending = await queries.inboxItems('pending');
      expect(pending.slice(0, 4).map((e) => e.source)).toEqual(Array(4).fill('dashboard-test'));
      const stored: { id: string; event_key: string }[] = await db.query(
        `SELECT id, event_key FROM inbox_events WHERE source = 'dashboard-test'`,
      );
      const keyOf = new Map(stored.map((r) => [r.id, r.event_key]));
      expect(pending.slice(0, 4).map((e) => keyOf.get(e.id))).toEqual(events.map((e) => e.key));
      // the backlog by the gateway it waits for, on the page
      expect((await queries.inboxCounts()).lanes).toEqual(
        expect.arrayContaining([
          { lane: 'gw-a', pending: 1 },
          { lane: 'gw-b', pending: 2 },
        ]),
      );
      const page = await (await signIn(app, 'carol')).get('/dashboard/inbox').expect(200);
      expect(page.text).toContain('Backlog by gateway:');
      expect(page.text).toMatch(/gw-b <strong>2<\/strong>/);
    } finally {
      await db.query(`DELETE FROM inbox_events WHERE source = 'dashboard-test'`);
    }
  });

  it('finds a payment by customer, shows its timeline, and replays its dead report with an audited action', async () => {
    const agent = await signIn(app, 'bob');
    const order = await createOrder(app);
    // Cleeng refuses the first report with a validation error: it is parked dead
    await app.http.post('/sandbox/faults/cleeng').send({ failNext: 1, failStatus: 400 }).expect(200);
    const paid = await pay(app, order.id, CARDS.approve);
    expect(paid.body.status).toBe('captured');
    const paymentId = paid.body.id as string;
    const db = app.app.get(DataSource);
    const [dead] = await eventually(async () => {
      const rows: { id: string }[] = await db.query(
        `SELECT id::text AS id FROM outbox_messages WHERE aggregate_id = $1 AND status = 'dead'`,
        [paymentId],
      );
      return rows.length ? rows : undefined;
    });

    const found = await agent.get('/dashboard/payments').query({ q: order.customerId }).expect(200);
    expect(found.text).toContain(`/dashboard/payments/${paymentId}`);
    const byCleengOrder = await agent
      .get('/dashboard/payments')
      .query({ q: order.cleengOrderId })
      .expect(200);
    expect(byCleengOrder.text).toContain(paymentId.slice(0, 8));
    const [row] = await db.query<{ external_payment_id: string }[]>(
      `SELECT external_payment_id FROM payments WHERE id = $1`,
      [paymentId],
    );
    expect(row?.external_payment_id).toBeTruthy();
    const byGatewayPaymentId = await agent
      .get('/dashboard/payments')
      .query({ q: row?.external_payment_id })
      .expect(200);
    expect(byGatewayPaymentId.text).toContain(`/dashboard/payments/${paymentId}`);

    const timeline = await eventually(async () => {
      const page = await agent.get(`/dashboard/payments/${paymentId}`).expect(200);
      return page.text.includes('adyen authorise: ok') ? page.text : undefined;
    });
    expect(timeline).toContain('created pending');
    expect(timeline).toContain('→ captured');
    expect(timeline).toContain('report to Cleeng');
    expect(timeline).toContain('Replay this report');
    // summaries only: the card number never reaches the page or the recorded calls
    expect(timeline).not.toContain(CARDS.approve);
    const calls: { response_summary: unknown }[] = await db.query(
      `SELECT response_summary FROM gateway_calls WHERE subject_id = $1`,
      [paymentId],
    );
    expect(JSON.stringify(calls)).not.toMatch(/4111|token/i);

    // no CSRF token: refused, nothing replayed
    await agent.post(`/dashboard/outbox/${dead!.id}/replay`).type('form').send({}).expect(403);
    const outboxPage = await agent.get('/dashboard/outbox').expect(200);
    expect(outboxPage.text).toContain(`/dashboard/outbox/${dead!.id}/replay`);
    await agent
      .post(`/dashboard/outbox/${dead!.id}/replay`)
      .type('form')
      .send({ _csrf: hiddenField(outboxPage.text, '_csrf'), back: `/dashboard/payments/${paymentId}` })
      .expect(303)
      .expect('Location', new RegExp(`^/dashboard/payments/${paymentId}\\?done=`));
    await eventually(async () => {
      const [row]: { status: string }[] = await db.query(`SELECT status FROM outbox_messages WHERE id = $1`, [
        dead!.id,
      ]);
      return row?.status === 'delivered';
    });
    const audit = await agent.get('/dashboard/audit').expect(200);
    expect(audit.text).toMatch(new RegExp(`bob[\\s\\S]*outbox\\.replay[\\s\\S]*${dead!.id}`));

    // after sign-out the cookie is gone and so is access
    const page = await agent.get('/dashboard').expect(200);
    await agent
      .post('/dashboard/logout')
      .type('form')
      .send({ _csrf: hiddenField(page.text, '_csrf') })
      .expect(303);
    await agent.get('/dashboard').expect(303);
  });
});
