import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { WebhookIntake } from '../src/webhooks/webhook-intake';
import { FAST_INBOX } from './support/flows';
import { captureLogs, startTestApp, TestApp } from './support/test-app';

/**
 * The bare webhook intake ahead of Express (issue 11): a well-formed delivery is stored and answered without the
 * Nest controller; everything else reaches the controller and is answered exactly as before. The intake is spied
 * on to tell the paths apart: the bare path calls `answer` (which calls `cleeng`/`gateway`), the controllers call
 * `cleeng`/`gateway` directly.
 */
describe('webhook intake without Express in the way', () => {
  let app: TestApp;
  const { destination: logDestination, lines: logLines } = captureLogs();
  const bare = jest.spyOn(WebhookIntake.prototype, 'answer');
  const cleeng = jest.spyOn(WebhookIntake.prototype, 'cleeng');
  const gateway = jest.spyOn(WebhookIntake.prototype, 'gateway');
  /** deliveries the controllers handled (after the bare path gave up on them, or without it) */
  const byController = (): number =>
    cleeng.mock.calls.length + gateway.mock.calls.length - bare.mock.calls.length;

  beforeAll(async () => {
    app = await startTestApp({ ...FAST_INBOX, LOG_LEVEL: 'info' }, { logDestination });
  });
  afterAll(async () => {
    await app.close();
    jest.restoreAllMocks();
  });
  beforeEach(() => {
    jest.clearAllMocks();
  });

  const sign = (body: string | Buffer): string =>
    createHmac('sha256', app.config.cleeng.webhookSecret).update(body).digest('hex');

  function termination(): string {
    return JSON.stringify({
      topic: 'subscriptionReadyForTermination',
      data: { subscriptionId: Math.floor(Math.random() * 1e9), customerId: 1, reason: randomUUID() },
    });
  }

  /** A POST written by hand: `chunks` go out as written (chunked unless a Content-Length is among the headers). */
  async function rawPost(
    headers: Record<string, string | number>,
    chunks: (string | Buffer)[],
  ): Promise<{ status: number; body: string }> {
    const url = new URL(app.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: '/webhooks/cleeng', method: 'POST', headers },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (chunk: Buffer) => parts.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }),
          );
        },
      );
      req.on('error', reject);
      for (const chunk of chunks) {
        req.write(chunk);
      }
      req.end();
    });
  }

  /** `body` POSTed to /webhooks/cleeng, signed over `signedOver` (the body itself unless a test breaks it). */
  function postSigned(body: string, signedOver: string = body) {
    return app.http
      .post('/webhooks/cleeng')
      .set('Content-Type', 'application/json')
      .set(app.config.cleeng.webhookSignatureHeader, sign(signedOver))
      .send(body);
  }

  /** `compressed` sent as a gzip-encoded delivery, signed over `signed` (the bytes the raw parser will hand on). */
  function postGzipped(
    compressed: Buffer,
    signed: string | Buffer,
  ): Promise<{ status: number; body: string }> {
    return rawPost(
      {
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip',
        'Content-Length': compressed.length,
        [app.config.cleeng.webhookSignatureHeader]: sign(signed),
      },
      [compressed],
    );
  }

  async function stored(body: string): Promise<number> {
    const rows: { n: number }[] = await app.app
      .get(DataSource)
      .query(
        `SELECT count(*)::int AS n FROM inbox_events WHERE source = 'cleeng' AND payload::text LIKE $1`,
        [`%${(JSON.parse(body) as { data: { reason: string } }).data.reason}%`],
      );
    return rows[0]?.n ?? 0;
  }

  it('the bare path writes the request log line and the request metric the Express path writes', async () => {
    const samples = async (): Promise<number> => {
      const text = (await app.http.get('/metrics')).text;
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith(
            'connector_http_request_duration_seconds_count{method="POST",route="/webhooks/cleeng",status="200"}',
          ),
        );
      return Number(line?.split(' ').pop() ?? 0);
    };
    const samplesBefore = await samples();
    const before = logLines.length;
    expect((await postSigned(termination())).status).toBe(200);
    expect(await samples()).toBe(samplesBefore + 1);
    expect(bare).toHaveBeenCalledTimes(1);
    const completed = logLines
      .slice(before)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter(
        (line) =>
          line.msg === 'request completed' &&
          (line.req as { url?: string } | undefined)?.url === '/webhooks/cleeng',
      );
    expect(completed).toEqual([
      expect.objectContaining({
        level: 30,
        req: { method: 'POST', url: '/webhooks/cleeng' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number) as number,
      }),
    ]);
  });

  it('a signed Cleeng webhook is stored and acknowledged by the bare path; its redelivery is a duplicate', async () => {
    const body = termination();
    const first = await postSigned(body);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ received: true, duplicate: false });
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    // helmet's headers, as on every Express answer
    expect(first.headers['x-content-type-options']).toBe('nosniff');
    expect(first.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(byController()).toBe(0);
    expect(await stored(body)).toBe(1);

    const again = await postSigned(body);
    expect(again.body).toEqual({ received: true, duplicate: true });
    expect(byController()).toBe(0);
    expect(await stored(body)).toBe(1);
  });

  it('a bad signature and a malformed body reach the controller and get its answers (401, 400); nothing is stored', async () => {
    const body = termination();
    const unsigned = await postSigned(body, `${body} `);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toMatchObject({ statusCode: 401, code: 'WEBHOOK_UNAUTHENTICATED' });
    const notJson = '{"topic":';
    const malformed = await postSigned(notJson);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ statusCode: 400, code: 'WEBHOOK_MALFORMED' });
    // the controller saw the same bytes the bare path had read
    expect(bare).toHaveBeenCalledTimes(2);
    expect(byController()).toBe(2);
    expect(await stored(body)).toBe(0);
  });

  it('a gzip-encoded delivery is left to Express, which inflates it, and is stored', async () => {
    const body = termination();
    const res = await postGzipped(gzipSync(body), body);
    expect(res).toEqual({ status: 200, body: JSON.stringify({ received: true, duplicate: false }) });
    expect(bare).not.toHaveBeenCalled();
    expect(byController()).toBe(1);
    expect(await stored(body)).toBe(1);
  });

  it('a corrupt gzip body is refused with 400 (it was a 500: the inflate error carried no body-parser type)', async () => {
    const corrupt = Buffer.from('this is not gzip');
    const res = await postGzipped(corrupt, corrupt);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      statusCode: 400,
      code: 'MALFORMED_REQUEST',
      message: 'request body could not be read',
    });
  });

  it('a chunked delivery (no declared length) is left to Express and is stored', async () => {
    const body = termination();
    const res = await rawPost(
      { 'Content-Type': 'application/json', [app.config.cleeng.webhookSignatureHeader]: sign(body) },
      [body.slice(0, 10), body.slice(10)],
    );
    expect(res.status).toBe(200);
    expect(bare).not.toHaveBeenCalled();
    expect(byController()).toBe(1);
    expect(await stored(body)).toBe(1);
  });

  it('a body over the limit is refused with 413 by the raw parser, as before', async () => {
    const big = JSON.stringify({ topic: 'x', pad: 'a'.repeat(1024 * 1024) });
    const res = await postSigned(big);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('gateway notifications: an Adyen delivery is acknowledged "[accepted]" by the bare path; unknown gateways get the 400 they got', async () => {
    const sent = await app.http.post('/sandbox/adyen/webhooks/send').send({
      items: [
        {
          pspReference: `F${randomUUID().replace(/-/g, '').slice(0, 15).toUpperCase()}`,
          merchantAccountCode: 'SomeOtherMerchantECOM',
          merchantReference: randomUUID(),
          amount: { value: 100, currency: 'USD' },
          eventCode: 'REPORT_AVAILABLE',
          success: 'true',
          eventDate: new Date().toISOString(),
          reason: 'fast path',
        },
      ],
    });
    expect(sent.body).toMatchObject({ status: 200, body: '[accepted]' });
    expect(bare).toHaveBeenCalledTimes(1);
    expect(byController()).toBe(0);

    const unknown = await app.http
      .post('/webhooks/paypal')
      .set('Content-Type', 'application/json')
      .send('{}');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ statusCode: 400 });
    expect(bare).toHaveBeenCalledTimes(1); // refused by the route's enum pipe, as before
  });
});
