import { SANDBOX_SECRETS } from '../sandbox-settings';

/** What the app answered: the demo shows errors as they came, like a shop's front end would. */
export interface AppAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/**
 * The demo's only way into the app: HTTP, with the sandbox's API and operator keys, exactly as a shop's
 * back end and an operator's scripts would call it (the sandbox imports nothing from src/).
 */
export class DemoApi {
  constructor(readonly baseUrl: string) {}

  async call<T = Record<string, unknown>>(
    method: 'GET' | 'POST',
    path: string,
    options: { body?: unknown; operator?: boolean; idempotencyKey?: string } = {},
  ): Promise<AppAnswer<T>> {
    const headers: Record<string, string> = options.operator
      ? { 'X-Operator-Key': SANDBOX_SECRETS.operatorKey }
      : { 'X-Api-Key': SANDBOX_SECRETS.apiKey };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    if (options.idempotencyKey) {
      headers['Idempotency-Key'] = options.idempotencyKey;
    }
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, body: body as T };
  }

  /** Lets the emulators deliver what they queued and the app process and report it (as the tests' settle). */
  async settle(): Promise<void> {
    for (let round = 0; round < 3; round += 1) {
      await this.call('GET', '/sandbox/cleeng/webhooks/idle?timeoutMs=5000');
      await this.call('GET', '/sandbox/adyen/webhooks/idle?timeoutMs=5000');
      await this.call('GET', '/sandbox/smart-glocal/webhooks/idle?timeoutMs=5000');
      await this.call('POST', '/sandbox/smartpay/test/notifications/idle');
      await this.call('POST', '/ops/inbox/process', { operator: true });
      await this.call('POST', '/ops/outbox/dispatch', { operator: true });
    }
  }
}
