import { CleengClient } from '../src/cleeng/cleeng.client';
import { CleengSetupError, CONNECTOR_TOPICS, runCleengSetup } from '../src/cleeng/cleeng-setup';
import { APP_CONFIG, AppConfig } from '../src/config/app-config';
import { SANDBOX_SECRETS } from '../sandbox/sandbox-settings';
import { startTestApp, TestApp } from './support/test-app';

/**
 * `npm run cleeng:setup` against the sandbox Cleeng: the webhook endpoint of this deployment for the six topics,
 * merged with what another connector registered (PUT replaces a topic's whole list), filtered by our payment
 * method ids and verified by HMAC with our secret; `--dry-run` changes nothing; a second run writes nothing.
 */
const TOKEN = { 'X-Publisher-Token': SANDBOX_SECRETS.cleengPublisherToken };
const OTHER = {
  url: 'https://paypal-connector.example.com/cleeng',
  filters: [{ name: 'paymentMethodId', options: { value: 555 } }],
};

interface Endpoint {
  url: string;
  filters?: { name: string; options: { value: number } }[];
  verification?: { name: string; options: { hashAlg: string; sharedSecret: string } };
}

let app: TestApp;
let config: AppConfig;
let client: CleengClient;

async function registered(): Promise<Map<string, Endpoint[]>> {
  const res = await app.http.get('/sandbox/cleeng/3.1/webhook_subscriptions').set(TOKEN).expect(200);
  return new Map(
    (res.body.data as { topic: string; endpoints: Endpoint[] }[]).map((t) => [t.topic, t.endpoints]),
  );
}

async function puts(): Promise<number> {
  const log = (await app.http.get('/sandbox/cleeng/requests')).body as { method: string; path: string }[];
  return log.filter((r) => r.method === 'PUT' && r.path.includes('/webhook_subscriptions/')).length;
}

async function run(dryRun: boolean, withConfig: AppConfig = config): Promise<string[]> {
  const lines: string[] = [];
  await runCleengSetup(withConfig, new CleengClient(withConfig), { dryRun, print: (l) => lines.push(l) });
  return lines;
}

beforeAll(async () => {
  app = await startTestApp();
  config = app.app.get<AppConfig>(APP_CONFIG);
  client = app.app.get(CleengClient);
  await app.http.post('/sandbox/cleeng/reset').expect(200);
  // another connector already listens to one topic
  await app.http
    .put('/sandbox/cleeng/3.1/webhook_subscriptions/subscriptionReadyForPaymentCapture')
    .set(TOKEN)
    .send([OTHER])
    .expect(200);
});

afterAll(async () => {
  await app?.close();
});

describe('cleeng:setup', () => {
  it('--dry-run prints the plan and changes nothing', async () => {
    const lines = await run(true);
    expect(lines).toContain('plan (dry run: nothing is changed):');
    expect(lines).toContain('  subscriptionReadyForPaymentCapture: add');
    expect(lines.join('\n')).toContain(`= ${OTHER.url} [paymentMethodId=555]`);
    expect(lines.join('\n')).not.toContain(config.cleeng.webhookSecret);
    expect(await puts()).toBe(1); // the other connector's, before
    expect([...(await registered()).keys()]).toEqual(['subscriptionReadyForPaymentCapture']);
  });

  it('registers our endpoint for the six topics, keeping the other connector, with progress', async () => {
    const lines = await run(false);
    expect(lines.filter((l) => /^\[\d\/6\] PUT \/webhook_subscriptions\//.test(l))).toHaveLength(6);
    expect(lines).toContain('done: 6 topic(s) written, 0 unchanged');
    expect(lines.some((l) => l.startsWith('dunning actions'))).toBe(true);
    expect(lines.join('\n')).not.toContain(config.cleeng.webhookSecret);

    const now = await registered();
    expect([...now.keys()].sort()).toEqual([...CONNECTOR_TOPICS].sort());
    const ours = [...config.cleeng.paymentMethods.values()].sort((a, b) => a - b);
    const expected = ours.map((value) => ({
      url: `${config.publicUrl}/webhooks/cleeng`,
      filters: [{ name: 'paymentMethodId', options: { value } }],
      verification: {
        name: 'HMAC',
        options: { hashAlg: 'SHA256', sharedSecret: config.cleeng.webhookSecret },
      },
    }));
    for (const topic of CONNECTOR_TOPICS) {
      expect(now.get(topic)).toEqual(
        topic === 'subscriptionReadyForPaymentCapture' ? [OTHER, ...expected] : expected,
      );
    }
  });

  it('a second run writes nothing; a changed secret updates our endpoints only', async () => {
    const before = await puts();
    expect(await run(false)).toContain('webhook subscriptions already up to date');
    expect(await puts()).toBe(before);

    const rotated: AppConfig = {
      ...config,
      cleeng: { ...config.cleeng, webhookSecret: 'a-new-secret-of-32-bytes-length!' },
    };
    const lines = await run(false, rotated);
    expect(lines).toContain('  refundPayment: update');
    const capture = (await registered()).get('subscriptionReadyForPaymentCapture') ?? [];
    expect(capture[0]).toEqual(OTHER);
    expect(
      capture.slice(1).every((e) => e.verification?.options.sharedSecret === rotated.cleeng.webhookSecret),
    ).toBe(true);
  });

  it('clear errors: a refused token, an unreachable Cleeng, a secret Cleeng would refuse', async () => {
    const badToken: AppConfig = { ...config, cleeng: { ...config.cleeng, publisherToken: 'wrong' } };
    await expect(run(true, badToken)).rejects.toThrow(/HTTP 401.*CLEENG_PUBLISHER_TOKEN/);
    const down: AppConfig = {
      ...config,
      cleeng: { ...config.cleeng, apiUrl: 'http://127.0.0.1:9/3.1', timeoutMs: 500 },
    };
    await expect(run(true, down)).rejects.toThrow(CleengSetupError);
    const short: AppConfig = { ...config, cleeng: { ...config.cleeng, webhookSecret: 'short' } };
    await expect(run(true, short)).rejects.toThrow(/CLEENG_WEBHOOK_SECRET is 5 bytes/);
    expect(client).toBeDefined();
  });

  it('the sandbox Cleeng validates endpoints like Cleeng', async () => {
    const put = (topic: string, body: unknown) =>
      app.http
        .put(`/sandbox/cleeng/3.1/webhook_subscriptions/${topic}`)
        .set(TOKEN)
        .send(body as object);
    expect((await put('noSuchTopic', [])).status).toBe(404);
    expect((await put('refundPayment', { url: 'https://x' })).status).toBe(400);
    expect((await put('refundPayment', [{ url: 'not a url' }])).status).toBe(400);
    expect(
      (
        await put('refundPayment', [
          { url: 'https://x', filters: [{ name: 'offerId', options: { value: 1 } }] },
        ])
      ).status,
    ).toBe(400);
    const shortSecret = { name: 'HMAC', options: { hashAlg: 'SHA256', sharedSecret: 'too-short' } };
    expect((await put('refundPayment', [{ url: 'https://x', verification: shortSecret }])).status).toBe(400);
    expect(
      (await app.http.put('/sandbox/cleeng/3.1/webhook_subscriptions/refundPayment').send([])).status,
    ).toBe(401);
  });
});
