import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { AppProcess, freePort, SandboxProcess } from './processes';

export const API_KEY = 'sandbox-key';
export const OPERATOR_KEY = 'sandbox-operator';
export const APPROVE_CARD = {
  type: 'scheme',
  number: '4111111111111111',
  expiryMonth: '03',
  expiryYear: '2030',
  cvc: '737',
  holderName: 'Matthew Brown',
};

export interface Reply {
  status: number;
  body: unknown;
}

/** A request to a process that may be killed while answering: a dropped connection is `status: 0`. */
export async function call(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  try {
    const res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch {
    return { status: 0, body: undefined };
  }
}

/** Polls until `check` returns a value; undefined on timeout (the row then reports "not final"). */
export async function poll<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export type Emulator = 'adyen' | 'cleeng' | 'cleverbridge';

/** The app under test, the standalone emulators and the database, for one fault run. */
export class World {
  private constructor(
    readonly app: AppProcess,
    readonly sandbox: SandboxProcess,
    readonly db: Pool,
  ) {}

  static async start(databaseUrl: string): Promise<World> {
    const [appPort, sandboxPort] = [await freePort(), await freePort()];
    const sandbox = new SandboxProcess(sandboxPort, `http://127.0.0.1:${appPort}`);
    const app = new AppProcess(appPort, sandbox.url, databaseUrl);
    await sandbox.start();
    await app.start();
    return new World(app, sandbox, new Pool({ connectionString: databaseUrl, max: 2 }));
  }

  async stop(): Promise<void> {
    await this.app.stop();
    await this.sandbox.stop();
    await this.db.end();
  }

  api(method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<Reply> {
    return call(method, `${this.app.url}${path}`, body, {
      'X-Api-Key': API_KEY,
      ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}),
    });
  }

  ops(method: string, path: string): Promise<Reply> {
    return call(method, `${this.app.url}${path}`, undefined, { 'X-Operator-Key': OPERATOR_KEY });
  }

  async emulator<T>(method: string, path: string, body?: unknown): Promise<T> {
    const reply = await call(method, `${this.sandbox.url}/sandbox${path}`, body);
    if (reply.status < 200 || reply.status >= 300) {
      throw new Error(`sandbox ${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return reply.body as T;
  }

  /** The emulator SIGKILLs the app once it has processed the matching request, before answering it. */
  async killAppOn(system: Emulator, operation: string, skip = 0): Promise<void> {
    await this.emulator('POST', `/faults/${system}`, {
      killPid: this.app.pid,
      killOn: operation,
      killSkip: skip,
    });
  }

  async clearFaults(): Promise<void> {
    for (const system of ['adyen', 'cleeng', 'cleverbridge'] as const) {
      await this.emulator('DELETE', `/faults/${system}`);
    }
  }

  /** After a crash: wait until the app is gone, clear what is left of the faults, start it again. */
  async restartAfterCrash(): Promise<void> {
    await this.app.waitForExit();
    await this.clearFaults();
    await this.expireLeasesOfDeadInstance();
    await this.app.start();
  }

  /**
   * The inbox (120 s) and outbox (60 s) leases of the killed instance are fixed in code; waiting them out in
   * every scenario would take the suite past its time budget. The only instance is dead, so ending its
   * leases is exactly what the clock would do: recovery is bounded by lease + FINAL_WITHIN_MS. Likewise the
   * killed request's `in_progress` Idempotency-Key is aged past its 120 s staleness, as if the client retried
   * after that long.
   */
  async expireLeasesOfDeadInstance(): Promise<void> {
    if (this.app.running) {
      throw new Error('leases can only be expired for a dead instance');
    }
    await this.sql('UPDATE inbox_events SET locked_until = NULL WHERE locked_until > now()');
    await this.sql('UPDATE outbox_messages SET locked_until = NULL WHERE locked_until > now()');
    await this.sql(
      `UPDATE idempotency_records SET created_at = created_at - interval '1 hour' WHERE state = 'in_progress'`,
    );
  }

  async sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
    return (await this.db.query(text, params)).rows as T[];
  }

  async createOrder(
    customerId = newCustomerId(),
  ): Promise<{ id: string; cleengOrderId: string; customerId: string }> {
    const reply = await this.api('POST', '/v1/orders', {
      customerId,
      offerId: 'S100000001_US',
      currency: 'USD',
      country: 'US',
      gateway: 'adyen',
    });
    if (reply.status !== 201) {
      throw new Error(`order: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return reply.body as { id: string; cleengOrderId: string; customerId: string };
  }

  pay(orderId: string, key: string = randomUUID()): Promise<Reply> {
    return this.api('POST', '/v1/payments', { orderId, paymentMethod: APPROVE_CARD }, key);
  }
}

let customerSeq = Math.floor(Math.random() * 1_000_000);
export function newCustomerId(): string {
  customerSeq += 1;
  return String(800_000_000 + customerSeq);
}
