import { Logger } from '@nestjs/common';
import { Agent } from 'undici';

/**
 * Deliveries go out through one keep-alive pool with undici's `request` (not `fetch`, whose WHATWG objects cost the
 * emulator more CPU per webhook than the app spent taking it in; the emulators share the machine with the app in
 * benchmarks). Every request is sent as its own attempt: undici never retries a POST by itself.
 */
const WEBHOOK_CLIENT = new Agent({ keepAliveTimeout: 4_000 });

/** One HTTP request, fully prepared: the body is serialised (and signed) exactly once, by the caller. */
export interface OutgoingWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface WebhookAnswer {
  /** HTTP status; 0 when no answer arrived (network error, timeout) */
  status: number;
  body: unknown;
  error?: string;
}

export type DeliveryState = 'queued' | 'delivering' | 'delivered' | 'failed' | 'lost';

/** What the delivery log shows for one copy of one webhook. */
export interface DeliveryStatus {
  id: string;
  /** 1, or 2 for the duplicate SandboxFaults asked for */
  copy: number;
  state: DeliveryState;
  attempts: number;
  lastStatus: number | null;
  lastError?: string;
  delivered: boolean;
  /** dropped on purpose by SandboxFaults (lostWebhookRate): never sent */
  lost: boolean;
  /** sent once by a test route (`/webhooks/send`), not by the emulator */
  manual?: boolean;
  /** sandbox time (the shared Clock) at which the webhook was created */
  createdAt: string;
  deliveredAt?: string;
}

export type DeliveryRecord<M extends object> = M & DeliveryStatus;

export interface IdleResult {
  idle: boolean;
  /** deliveries held back by pause(), not counted as in flight */
  held: number;
}

const MAX_LOG = 5_000;
/** the log is trimmed back to MAX_LOG once it holds this many more (one copy per 1,000 webhooks, not one per webhook) */
const LOG_SLACK = 1_000;

/**
 * The emulator's shutdown, waking every delivery that waits or is in flight. Not an AbortSignal shared by all of
 * them: EventTarget searches its listener list on every add and remove, which with thousands of deliveries in
 * flight (a renewal run fires one per subscription at once) cost more than the deliveries themselves.
 */
class Shutdown {
  aborted = false;
  private readonly waiters = new Set<() => void>();

  /** Runs `wake` on shutdown (at once if already shut down); returns the function that stops listening. */
  onAbort(wake: () => void): () => void {
    if (this.aborted) {
      wake();
      return () => undefined;
    }
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  abort(): void {
    this.aborted = true;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) {
      wake();
    }
  }
}

/**
 * Fire-and-forget webhook delivery shared by the emulators: an optional initial delay (so the API answer that
 * caused the event goes out first), retries on network errors and non-2xx answers after `retryDelaysMs`, a
 * delivery log, pause/resume, and `idle()` so tests can wait for delivery deterministically. A failing
 * delivery is logged and given up; nothing ever throws into the caller or leaves a rejected promise behind.
 */
export class WebhookDispatcher<M extends object> {
  /** waits before the 2nd, 3rd, ... attempt (tests shorten them) */
  retryDelaysMs: number[] = [200, 1_000, 3_000];
  /** wait before the first attempt */
  initialDelayMs = 20;
  timeoutMs = 5_000;

  private readonly logger: Logger;
  private log: DeliveryRecord<M>[] = [];
  private sequence = 0;
  private active = 0;
  private held = 0;
  private paused = false;
  private resumeWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private readonly shutdown = new Shutdown();
  /** the last URL delivered to, parsed (an emulator delivers to one URL, the app's webhook route) */
  private lastTarget: { url: string; origin: string; path: string } | undefined;

  constructor(
    private readonly name: string,
    private readonly now: () => Date,
  ) {
    this.logger = new Logger(`sandbox:${name}-webhooks`);
  }

  /**
   * Queues `copies` deliveries of `request` (0 = lost on purpose: logged, never sent) and returns their log
   * entries at once; the returned objects keep being updated as delivery proceeds.
   */
  dispatch(meta: M, request: OutgoingWebhook, copies: number): DeliveryRecord<M>[] {
    const createdAt = this.now().toISOString();
    if (copies <= 0) {
      return [this.record(meta, { copy: 1, state: 'lost', lost: true, createdAt })];
    }
    const records: DeliveryRecord<M>[] = [];
    for (let copy = 1; copy <= copies; copy += 1) {
      const record = this.record(meta, { copy, state: 'queued', lost: false, createdAt });
      records.push(record);
      this.active += 1;
      void this.deliver(record, request)
        .catch((error: unknown) => {
          // deliver() handles its own errors; this is the last line of defence against unhandled rejections
          this.logger.error(`delivery ${record.id} crashed: ${String(error)}`);
        })
        .finally(() => this.settle());
    }
    return records;
  }

  /** One attempt, now, no retries: the answer goes back to the caller (and the attempt into the log). */
  async sendOnce(meta: M, request: OutgoingWebhook): Promise<WebhookAnswer> {
    const record = this.record(meta, {
      copy: 1,
      state: 'delivering',
      lost: false,
      manual: true,
      createdAt: this.now().toISOString(),
    });
    const answer = await this.post(request);
    this.noteAttempt(record, answer);
    record.state = record.delivered ? 'delivered' : 'failed';
    return answer;
  }

  /** Deliveries wait (before their next attempt) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const wake of waiters) {
      wake();
    }
  }

  isPaused(): boolean {
    return this.paused;
  }

  /**
   * Resolves `{idle: true}` as soon as no delivery is in flight (deliveries held by pause() do not count),
   * or `{idle: false}` after `timeoutMs`.
   */
  async idle(timeoutMs: number): Promise<IdleResult> {
    if (this.active === 0) {
      return { idle: true, held: this.held };
    }
    const idle = await new Promise<boolean>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.push(wake);
    });
    return { idle, held: this.held };
  }

  /** The log, oldest first (copies, so callers cannot change it). */
  deliveries(): DeliveryRecord<M>[] {
    return this.log.slice(-MAX_LOG).map((record) => ({ ...record }));
  }

  /** Clears the log; deliveries under way continue. */
  reset(): void {
    this.log = [];
  }

  /** Stops every wait and request; later dispatches fail at once. Call on module destroy. */
  close(): void {
    this.shutdown.abort();
    this.resume();
  }

  private record(
    meta: M,
    status: Pick<DeliveryStatus, 'copy' | 'state' | 'lost' | 'createdAt'> & { manual?: boolean },
  ): DeliveryRecord<M> {
    this.sequence += 1;
    const record: DeliveryRecord<M> = {
      ...meta,
      id: `${this.name}-${this.sequence}`,
      attempts: 0,
      lastStatus: null,
      delivered: false,
      ...status,
    };
    this.log.push(record);
    if (this.log.length > MAX_LOG + LOG_SLACK) {
      this.log = this.log.slice(-MAX_LOG);
    }
    return record;
  }

  private async deliver(record: DeliveryRecord<M>, request: OutgoingWebhook): Promise<void> {
    const waits = [this.initialDelayMs, ...this.retryDelaysMs];
    for (let attempt = 0; attempt < waits.length; attempt += 1) {
      if (!(await this.sleep(waits[attempt] ?? 0)) || !(await this.whenRunning())) {
        record.state = 'failed';
        record.lastError = record.lastError ?? 'emulator shut down';
        return;
      }
      record.state = 'delivering';
      const answer = await this.post(request);
      this.noteAttempt(record, answer);
      if (record.delivered) {
        record.state = 'delivered';
        return;
      }
      record.state = 'queued';
    }
    record.state = 'failed';
    this.logger.warn(
      `gave up on ${record.id} to ${request.url} after ${record.attempts} attempts ` +
        `(last: ${record.lastStatus ?? record.lastError ?? 'no answer'})`,
    );
  }

  private noteAttempt(record: DeliveryRecord<M>, answer: WebhookAnswer): void {
    record.attempts += 1;
    record.lastStatus = answer.status === 0 ? null : answer.status;
    if (answer.error !== undefined) {
      record.lastError = answer.error;
    } else {
      delete record.lastError;
    }
    if (answer.status >= 200 && answer.status < 300) {
      record.delivered = true;
      record.deliveredAt = this.now().toISOString();
    }
  }

  private async post(request: OutgoingWebhook): Promise<WebhookAnswer> {
    if (this.shutdown.aborted) {
      return { status: 0, body: null, error: 'emulator shut down' };
    }
    // a signal of its own per request: thousands of requests listening on one shared signal made every
    // add and remove walk the others (quadratic in the deliveries in flight)
    const aborter = new AbortController();
    const leave = this.shutdown.onAbort(() => aborter.abort());
    try {
      const { origin, path } = this.target(request.url);
      // undici's own per-request timeouts rather than a combined AbortSignal per delivery (AbortSignal.any and
      // .timeout were a tenth of the emulator's CPU in a rebilling benchmark): no answer's headers within
      // timeoutMs, or a body stalled that long, fails the attempt
      const res = await WEBHOOK_CLIENT.request({
        origin,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...request.headers },
        body: request.body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: aborter.signal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: parseBody(text) };
    } catch (error: unknown) {
      return { status: 0, body: null, error: describe(error) };
    } finally {
      leave();
    }
  }

  /** Origin and path of a webhook URL, parsed again only when the URL changes. */
  private target(url: string): { origin: string; path: string } {
    if (this.lastTarget?.url !== url) {
      const parsed = new URL(url);
      this.lastTarget = { url, origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    }
    return this.lastTarget;
  }

  /** false when the emulator shuts down first */
  private whenRunning(): Promise<boolean> {
    if (!this.paused) {
      return Promise.resolve(!this.shutdown.aborted);
    }
    this.active -= 1;
    this.held += 1;
    this.notifyIdle();
    return new Promise((resolve) => {
      this.resumeWaiters.push(() => {
        this.held -= 1;
        this.active += 1;
        resolve(!this.shutdown.aborted);
      });
    });
  }

  /** false when the emulator shuts down first */
  private sleep(ms: number): Promise<boolean> {
    if (this.shutdown.aborted) {
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      const leave = this.shutdown.onAbort(() => {
        clearTimeout(timer);
        resolve(false);
      });
      const timer = setTimeout(() => {
        leave();
        resolve(true);
      }, ms);
    });
  }

  private settle(): void {
    this.active -= 1;
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.active > 0) {
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) {
      wake();
    }
  }
}

function parseBody(text: string): unknown {
  if (text === '') {
    return null;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** undici's codes for an answer that did not come in time */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function describe(error: unknown): string {
  const failure = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof failure?.code === 'string' && TIMEOUT_CODES.has(failure.code)) {
    return 'timeout';
  }
  if (typeof failure?.cause?.code === 'string') {
    return failure.cause.code;
  }
  if (typeof failure?.code === 'string') {
    return failure.code;
  }
  return error instanceof Error ? error.message : String(error);
}
