import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { PurchaseReconciler } from '../src/purchases/purchase.reconciler';
import { FAST_INBOX, OPERATOR } from './support/flows';
import { API_KEY, eventually, startTestApp, TestApp } from './support/test-app';

/**
 * `POST /v1/purchases`: one-off Cleverbridge ProcessCart purchases (the seed's in-application use cases)
 * against the Cleverbridge emulator, every ProcessCart outcome through the real server and database.
 */
const API = { 'X-Api-Key': API_KEY };

interface PurchaseBody {
  id: string;
  status: string;
  purchaseId?: string;
  subscriptionId?: string;
  checkoutUrl?: string;
  checkoutExpiresAt?: string;
  decline?: { code: string; class: string; rawCode?: string };
  retryScheduled?: boolean;
  total?: { value: number; currency: string };
  refunded?: { value: number; currency: string };
}

interface Ledger {
  purchases: {
    purchaseId: string;
    status: string;
    attempt?: string;
    total: { value: number };
    refunded: { value: number };
  }[];
  calls: number;
}

let app: TestApp;
let ref = 0;
const customer = (): { customerReferenceId: string } => ({
  customerReferenceId: `p-${Date.now()}-${(ref += 1)}`,
});
const behaviour = (value: string): Record<string, string> => ({ 'x-sandbox-behaviour': value });

function buy(body: Record<string, unknown>, key: string = randomUUID()) {
  return app.http.post('/v1/purchases').set(API).set('Idempotency-Key', key).send(body);
}

async function ledger(attempt: string): Promise<Ledger> {
  return (await app.http.get('/sandbox/cleverbridge/ledger').query({ attempt })).body as Ledger;
}

/** Every Cleverbridge notification delivered, stored and processed. */
async function settle(): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await app.http.get('/sandbox/cleverbridge/webhooks/idle').query({ timeoutMs: 5000 });
    await app.http.post('/ops/inbox/process').set(OPERATOR);
  }
}

/** ProcessCart requests the emulator received for one purchase (its id is the x-connector-attempt). */
async function processCartCalls(id: string): Promise<{ status: number }[]> {
  const requests = (await app.http.get('/sandbox/cleverbridge/requests')).body as {
    path: string;
    attempt?: string;
    status: number;
  }[];
  return requests.filter((r) => r.attempt === id && r.path.endsWith('/cart/processcart'));
}

async function read(id: string): Promise<PurchaseBody> {
  const res = await app.http.get(`/v1/purchases/${id}`).set(API);
  expect(res.status).toBe(200);
  return res.body as PurchaseBody;
}

beforeAll(async () => {
  // the purchase reconciler runs when a test says so (runOnce); unknown purchases are due for it at once
  app = await startTestApp({
    ...FAST_INBOX,
    REBILL_CRON: 'off',
    RECONCILE_INTERVAL_MS: '3600000',
    RECONCILE_UNKNOWN_AFTER_MS: '0',
  });
});

afterAll(async () => {
  await app?.close();
});

describe('POST /v1/purchases (Cleverbridge ProcessCart)', () => {
  it('in-app update: a known customer pays at once; a replay with the same key returns the first answer', async () => {
    const key = randomUUID();
    const body = { customer: customer(), items: [{ productId: '200002', quantity: 1 }] };
    const res = await buy(body, key);
    expect(res.status).toBe(201);
    const first = res.body as PurchaseBody;
    expect(first).toMatchObject({ status: 'captured', purchaseId: expect.any(String) });

    const replay = await buy(body, key);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first);
    const reused = await buy({ ...body, items: [{ productId: '200002', quantity: 2 }] }, key);
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');

    expect((await ledger(first.id)).purchases).toEqual([
      expect.objectContaining({ purchaseId: first.purchaseId, status: 'Paid', attempt: first.id }),
    ]);
    await settle();
    // the PaidOrderNotification confirms it and brings the total
    expect(await read(first.id)).toMatchObject({
      status: 'captured',
      total: { value: 499, currency: 'USD' },
    });
  });

  it('support-hours upgrade: a one-off charge at a dynamic price for the customer of an earlier purchase', async () => {
    const earlier = (await buy({ customer: customer(), items: [{ productId: '200001', quantity: 1 }] }))
      .body as PurchaseBody;
    const res = await buy({
      customer: { logonPurchaseId: earlier.purchaseId },
      items: [
        {
          productId: '200001',
          quantity: 5,
          dynamicPrice: { value: 2000, currency: 'USD' },
          dynamicName: 'Support hours (upgrade)',
          extraParameters: { 'x-ticket': 'T-1' },
        },
      ],
      mode: 'non-interactive',
      extraParameters: { 'x-source': 'support-portal' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'captured', total: { value: 10_000, currency: 'USD' } });
    const [bought] = (await ledger((res.body as PurchaseBody).id)).purchases;
    expect(bought).toMatchObject({ total: { value: 10_000 } });
  });

  it('free-to-paid: Cleverbridge cannot charge an unknown customer, the checkout URL completes it', async () => {
    const res = await buy({
      customer: customer(),
      items: [{ productId: '100001', quantity: 1 }],
      mode: 'interactive',
      extraParameters: behaviour('action-needed'),
    });
    expect(res.status).toBe(201);
    const pending = res.body as PurchaseBody;
    expect(pending.status).toBe('action_required');
    expect(pending.checkoutUrl).toMatch(/\/sandbox\/cleverbridge\/checkout\/cs_/);
    const ttl = new Date(pending.checkoutExpiresAt ?? 0).getTime() - Date.now();
    expect(ttl).toBeGreaterThan(71 * 3_600_000);
    expect(ttl).toBeLessThanOrEqual(72 * 3_600_000 + 60_000);
    expect(pending.purchaseId).toBeUndefined(); // interactive: nothing saved at Cleverbridge yet

    const page = await app.http.get(new URL(pending.checkoutUrl ?? '').pathname);
    expect(page.status).toBe(200);
    const paid = await app.http.post(`${new URL(pending.checkoutUrl ?? '').pathname}/pay`);
    expect(paid.status).toBe(200);
    await settle();
    const after = await read(pending.id);
    expect(after).toMatchObject({
      status: 'captured',
      purchaseId: expect.any(String),
      subscriptionId: expect.stringMatching(/^S/),
    });
    expect(after.checkoutUrl).toBeUndefined();
  });

  it('offline payment: pending until the money arrives', async () => {
    const res = await buy({
      customer: customer(),
      items: [{ productId: '200002', quantity: 1 }],
      extraParameters: behaviour('offline'),
    });
    const pending = res.body as PurchaseBody;
    expect(pending).toMatchObject({ status: 'pending', purchaseId: expect.any(String) });
    await settle();
    expect((await read(pending.id)).status).toBe('pending'); // NewOfflinePaymentPurchaseNotification changes nothing
    await app.http.post(`/sandbox/cleverbridge/purchases/${pending.purchaseId}/receive-payment`).expect(200);
    await settle();
    expect((await read(pending.id)).status).toBe('captured');
  });

  it.each([
    ['PAY_CEX', 'hard'],
    ['PAY_CLE', 'soft'],
    ['PAY_DEC', 'soft'],
    ['PAY_REJ', 'hard'],
    ['FRA_REJ', 'hard'],
    ['PAY_SCO', 'hard'],
  ])(
    'declined %s (non-interactive): rejected with the normalised code and the URL for the customer',
    async (code, cls) => {
      const res = await buy({
        customer: customer(),
        items: [{ productId: '200002', quantity: 1 }],
        mode: 'non-interactive',
        extraParameters: behaviour(`decline:${code}`),
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        status: 'rejected',
        purchaseId: expect.any(String),
        decline: { code, class: cls, rawCode: code },
        checkoutUrl: expect.stringContaining('/sandbox/cleverbridge/checkout/'),
      });
      expect((res.body as PurchaseBody).retryScheduled).toBeUndefined();
    },
  );

  it('declined interactively: action_required with the page to change the payment details', async () => {
    const res = await buy({
      customer: customer(),
      items: [{ productId: '200002', quantity: 1 }],
      extraParameters: behaviour('decline:PAY_CLE'),
    });
    expect(res.body).toMatchObject({
      status: 'action_required',
      decline: { code: 'PAY_CLE' },
      checkoutUrl: expect.any(String),
    });
  });

  it('CCA_EXP: Cleverbridge schedules its own retry; its PaidOrderNotification an hour later settles the purchase', async () => {
    const res = await buy({
      customer: customer(),
      items: [{ productId: '200002', quantity: 1 }],
      mode: 'non-interactive',
      extraParameters: behaviour('decline:CCA_EXP'),
    });
    const declined = res.body as PurchaseBody;
    expect(declined).toMatchObject({
      status: 'rejected',
      retryScheduled: true,
      decline: { code: 'CCA_EXP', class: 'hard' },
    });
    const inAnHour = new Date(Date.now() + 3_600_000 + 60_000).toISOString();
    const ran = await app.http.post('/sandbox/cleverbridge/retries/run').send({ now: inAnHour });
    expect(ran.body.ran).toEqual([
      expect.objectContaining({ purchaseId: declined.purchaseId, outcome: 'Paid' }),
    ]);
    await settle();
    expect(await read(declined.id)).toMatchObject({ status: 'captured', purchaseId: declined.purchaseId });
  });

  it('400 InvalidRequest from Cleverbridge is our validation error; nothing is bought', async () => {
    const invalid = await buy({
      customer: customer(),
      items: [{ productId: '200002', quantity: 1 }],
      extraParameters: behaviour('invalid'),
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ field: 'cart', messages: [expect.stringContaining('INVALID_REQUEST')] }],
    });
    const unknownProduct = await buy({ customer: customer(), items: [{ productId: '999999', quantity: 1 }] });
    expect(unknownProduct.status).toBe(400);
    expect(unknownProduct.body.message).toContain('PRODUCT_NOT_FOUND');
  });

  it('500 every time: the outcome is unknown (never a decline, never a second purchase)', async () => {
    const res = await buy({
      customer: customer(),
      items: [{ productId: '200002', quantity: 1 }],
      extraParameters: behaviour('error'),
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'unknown' });
    const l = await ledger((res.body as PurchaseBody).id);
    expect(l.purchases).toHaveLength(0);
  });

  it('an answer lost to a timeout: unknown, never sent again; the PaidOrderNotification settles it', async () => {
    const res = await buy({
      customer: customer(),
      items: [{ productId: '200002', quantity: 1 }],
      extraParameters: behaviour('latency:2500'),
    });
    expect(res.status).toBe(201);
    const body = res.body as PurchaseBody;
    // the notification, sent while the answer is held, may settle it before the call gives up
    expect(['unknown', 'captured']).toContain(body.status);
    await settle();
    expect(await read(body.id)).toMatchObject({ status: 'captured', purchaseId: expect.any(String) });
    expect((await ledger(body.id)).purchases).toHaveLength(1);
    // the held answer is logged once its latency is over
    const calls = await eventually(async () => {
      const list = await processCartCalls(body.id);
      return list.length > 0 ? list : undefined;
    });
    expect(calls).toHaveLength(1);
  });

  it('charged but answered 500: one purchase, one ProcessCart, captured once the notification arrives', async () => {
    await app.http.post('/sandbox/faults/cleverbridge').send({ failAfterNext: 1 }).expect(200);
    let res;
    try {
      res = await buy({ customer: customer(), items: [{ productId: '200002', quantity: 1 }] });
    } finally {
      await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
    }
    expect(res.status).toBe(201);
    const body = res.body as PurchaseBody;
    expect(body).toMatchObject({ status: 'unknown' });
    await settle();
    const l = await ledger(body.id);
    expect(l.purchases).toEqual([expect.objectContaining({ status: 'Paid', attempt: body.id })]);
    expect(await processCartCalls(body.id)).toEqual([expect.objectContaining({ status: 500 })]);
    expect(await read(body.id)).toMatchObject({ status: 'captured', purchaseId: l.purchases[0]?.purchaseId });
  });

  it('charged, its answer and its notification lost: the reconciler looks it up and captures it, nothing re-sent', async () => {
    await app.http
      .post('/sandbox/faults/cleverbridge')
      .send({ failAfterNext: 1, lostWebhookRate: 1 })
      .expect(200);
    let res;
    try {
      res = await buy({ customer: customer(), items: [{ productId: '200002', quantity: 1 }] });
    } finally {
      await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
    }
    const body = res.body as PurchaseBody;
    expect(body).toMatchObject({ status: 'unknown' });
    await settle();
    expect((await read(body.id)).status).toBe('unknown'); // no notification: it would stay so for ever
    await app.app.get(PurchaseReconciler).runOnce();
    const l = await ledger(body.id);
    expect(l.purchases).toEqual([expect.objectContaining({ status: 'Paid', attempt: body.id })]);
    expect(await read(body.id)).toMatchObject({ status: 'captured', purchaseId: l.purchases[0]?.purchaseId });
    expect(await processCartCalls(body.id)).toHaveLength(1);
  });

  it('nothing reached Cleverbridge and no notification: the lookup finds nothing, rejected as not processed', async () => {
    await app.http.post('/sandbox/faults/cleverbridge').send({ failNext: 1, failStatus: 503 }).expect(200);
    let res;
    try {
      res = await buy({ customer: customer(), items: [{ productId: '200002', quantity: 1 }] });
    } finally {
      await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
    }
    const body = res.body as PurchaseBody;
    expect(body).toMatchObject({ status: 'unknown' });
    await app.app.get(PurchaseReconciler).runOnce();
    expect(await read(body.id)).toMatchObject({ status: 'rejected', decline: { code: 'GW_TIMEOUT' } });
    expect((await ledger(body.id)).purchases).toHaveLength(0);
    // the refused one only: the reconciler never sends a cart
    expect(await processCartCalls(body.id)).toEqual([expect.objectContaining({ status: 503 })]);
  });

  describe('a client retry after its Idempotency-Key went stale (the first request died with its process)', () => {
    /** What a crash before the answer leaves: the key `in_progress`, old enough to be taken over. */
    async function crashedBeforeAnswering(key: string): Promise<void> {
      await app.app.get(DataSource).query(
        `UPDATE idempotency_records SET state = 'in_progress', response_status = NULL, response_body = NULL,
             created_at = now() - interval '1 hour' WHERE key = $1`,
        [key],
      );
    }

    it('resumes the same purchase: the lookup finds it charged, no second ProcessCart', async () => {
      const key = randomUUID();
      const body = { customer: customer(), items: [{ productId: '200002', quantity: 1 }] };
      await app.http
        .post('/sandbox/faults/cleverbridge')
        .send({ failAfterNext: 1, lostWebhookRate: 1 })
        .expect(200);
      let first;
      try {
        first = (await buy(body, key)).body as PurchaseBody;
      } finally {
        await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
      }
      expect(first.status).toBe('unknown');
      await crashedBeforeAnswering(key);
      const retry = await buy(body, key);
      expect(retry.status).toBe(201);
      expect(retry.body).toMatchObject({ id: first.id, status: 'captured', purchaseId: expect.any(String) });
      expect((await ledger(first.id)).purchases).toHaveLength(1);
      expect(await processCartCalls(first.id)).toHaveLength(1);
      const mine = await app.app
        .get(DataSource)
        .query<unknown[]>(`SELECT id FROM purchases WHERE customer->>'customerReferenceId' = $1`, [
          body.customer.customerReferenceId,
        ]);
      expect(mine).toHaveLength(1);
    });

    it('sends the same cart again under the same key only when the lookup says nothing was bought', async () => {
      const key = randomUUID();
      const body = { customer: customer(), items: [{ productId: '200002', quantity: 1 }] };
      await app.http.post('/sandbox/faults/cleverbridge').send({ failNext: 1, failStatus: 503 }).expect(200);
      let first;
      try {
        first = (await buy(body, key)).body as PurchaseBody;
      } finally {
        await app.http.delete('/sandbox/faults/cleverbridge').expect(204);
      }
      expect(first.status).toBe('unknown');
      await crashedBeforeAnswering(key);
      const retry = await buy(body, key);
      expect(retry.body).toMatchObject({ id: first.id, status: 'captured' });
      expect((await ledger(first.id)).purchases).toEqual([
        expect.objectContaining({ status: 'Paid', attempt: first.id }),
      ]);
    });

    it('a cart Cleverbridge refused is refused again, not sent again', async () => {
      const key = randomUUID();
      const body = {
        customer: customer(),
        items: [{ productId: '200002', quantity: 1 }],
        extraParameters: behaviour('invalid'),
      };
      expect((await buy(body, key)).status).toBe(400);
      const calls = ((await app.http.get('/sandbox/cleverbridge/requests')).body as unknown[]).length;
      const retry = await buy(body, key);
      expect(retry.status).toBe(400);
      expect(retry.body.details[0].messages[0]).toContain('INVALID_REQUEST');
      expect(((await app.http.get('/sandbox/cleverbridge/requests')).body as unknown[]).length).toBe(calls);
    });
  });

  it('refunds and a chargeback made in Cleverbridge are recorded once each', async () => {
    const bought = (await buy({ customer: customer(), items: [{ productId: '200001', quantity: 2 }] }))
      .body as PurchaseBody;
    await settle();
    await app.http
      .post(`/sandbox/cleverbridge/purchases/${bought.purchaseId}/refund`)
      .send({ amount: 1000 })
      .expect(200);
    await settle();
    expect(await read(bought.id)).toMatchObject({ status: 'partially_refunded', refunded: { value: 1000 } });
    await app.http.post(`/sandbox/cleverbridge/purchases/${bought.purchaseId}/chargeback`).expect(200);
    await settle();
    expect((await read(bought.id)).status).toBe('charged_back');
  });
});

describe('POST /v1/purchases validation', () => {
  const item = { productId: '200002', quantity: 1 };

  // values must be strings for every gateway (request validation); the x- key rule is Cleverbridge's own,
  // checked by the gateway (validatePurchase) with its field names
  it('x-parameter keys must start with x- (cart and items), with field-level details', async () => {
    const res = await buy({
      customer: customer(),
      items: [{ ...item, extraParameters: { campaign: 'spring' } }],
      extraParameters: { 'x-ok': 'fine', customerid: '51254' },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    const details = res.body.details as { field: string; messages: string[] }[];
    expect(details).toEqual(
      expect.arrayContaining([
        { field: 'extraParameters', messages: [expect.stringContaining('keys must start with "x-"')] },
        { field: 'items[0].extraParameters', messages: [expect.stringContaining('"campaign"')] },
      ]),
    );
    const cart = details.find((d) => d.field === 'extraParameters');
    expect(cart?.messages[0]).toContain('"customerid"');

    const numeric = await buy({
      customer: customer(),
      items: [item],
      extraParameters: { 'x-ok': 'fine', 'x-number': 5 },
    });
    expect(numeric.status).toBe(400);
    expect(numeric.body.details).toEqual([
      {
        field: 'extraParameters',
        messages: [expect.stringContaining('values must be strings (bad: "x-number")')],
      },
    ]);
  });

  it("the connector's own x-parameters are refused", async () => {
    const res = await buy({
      customer: customer(),
      items: [item],
      extraParameters: { 'x-connector-attempt': 'mine' },
    });
    expect(res.status).toBe(400);
    expect(res.body.details[0].messages[0]).toContain('set by the connector');
  });

  it.each([
    [{ customer: {}, items: [item] }, 'customer'],
    [{ customer: { customerReferenceId: 'a', logonPurchaseId: 'b' }, items: [item] }, 'customer'],
    [{ customer: { email: 'a@b' }, items: [item] }, 'customer'],
    [{ customer: { customerReferenceId: 'a' }, items: [] }, 'items'],
    [
      { customer: { customerReferenceId: 'a' }, items: [{ productId: '1', quantity: 0 }] },
      'items.0.quantity',
    ],
    [
      {
        customer: { customerReferenceId: 'a' },
        items: [{ ...item, dynamicPrice: { value: 1.5, currency: 'USD' } }],
      },
      'items.0.dynamicPrice.value',
    ],
    [{ customer: { customerReferenceId: 'a' }, items: [item], mode: 'batch' }, 'mode'],
    [{ customer: { customerReferenceId: 'a' }, items: [item], unknown: 1 }, 'unknown'],
  ])('refuses %j (%s)', async (body, field) => {
    const res = await buy(body);
    expect(res.status).toBe(400);
    expect((res.body.details as { field: string }[]).map((d) => d.field)).toContain(field);
  });

  it('needs an API key and an Idempotency-Key', async () => {
    const body = { customer: customer(), items: [item] };
    expect((await app.http.post('/v1/purchases').send(body)).status).toBe(401);
    const noKey = await app.http.post('/v1/purchases').set(API).send(body);
    expect(noKey.status).toBe(400);
    expect(noKey.body.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    expect((await app.http.get(`/v1/purchases/${randomUUID()}`).set(API)).status).toBe(404);
  });
});
