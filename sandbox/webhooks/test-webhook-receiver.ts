import { createServer, IncomingHttpHeaders } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * Test utility (not used by the app): a plain HTTP server standing in for the connector's webhook routes, so
 * emulator webhooks can be checked byte for byte. Point PUBLIC_URL at `url`.
 */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  json: unknown;
}

export interface ReceiverAnswer {
  status: number;
  body?: unknown;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** decides every answer (default 200 `{ok: true}`) */
  answer: (request: ReceivedWebhook, index: number) => ReceiverAnswer;
  /** resolves once `count` requests have arrived; rejects after `timeoutMs` */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const receiver: WebhookReceiver = {
    url: '',
    received,
    answer: () => ({ status: 200, body: { ok: true } }),
    async waitFor(count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`expected ${count} webhooks, got ${received.length}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return [...received];
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(rawBody) as unknown;
      } catch {
        json = undefined;
      }
      const webhook: ReceivedWebhook = { path: req.url ?? '', headers: req.headers, rawBody, json };
      const index = received.length;
      received.push(webhook);
      const { status, body } = receiver.answer(webhook, index);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? null));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
