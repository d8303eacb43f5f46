import { Injectable } from '@nestjs/common';

export type SandboxSystem = 'cleeng' | 'adyen' | 'cleverbridge' | 'smart-glocal' | 'smartpay';

export interface FaultSettings {
  /** added before every request is handled */
  latencyMs?: number;
  /** share of requests (0..1) answered with `failStatus` before any processing */
  errorRate?: number;
  /** the next N requests are answered with `failStatus` before any processing */
  failNext?: number;
  failStatus?: number;
  /**
   * `failNext` and `errorRate` only for requests matching this `METHOD /path` suffix (as `killOn`), e.g. only
   * Cleeng's payment reports (`POST /payments`) while its orders still work; emulators that pass the operation
   * to beforeRequest: cleeng
   */
  failOn?: string;
  /** sent as `Retry-After` (seconds) with an injected 429 or 503 */
  retryAfterSeconds?: number;
  /** the next N requests are processed, then their response is held for `hangMs` (client times out) */
  hangNext?: number;
  hangMs?: number;
  /**
   * the next N requests are processed, then answered with `failStatus` (default 500) instead of their answer
   * (an answer lost after the gateway acted; emulators that support it: cleverbridge)
   */
  failAfterNext?: number;
  /** share of outgoing webhooks silently lost */
  lostWebhookRate?: number;
  /** share of outgoing webhooks delivered twice */
  duplicateWebhookRate?: number;
  /**
   * Crash-point testing (test/faults): SIGKILL this process id once a matching request has been processed
   * and before it is answered, i.e. "the vendor did it, the caller died before hearing so". One shot.
   */
  killPid?: number;
  /** only requests `METHOD /path` whose method is this one's and whose path ends with this one's (e.g. `POST /payments`); unset: every request */
  killOn?: string;
  /** let this many matching requests through before the kill (e.g. the Nth charge of a rebill batch) */
  killSkip?: number;
}

export class InjectedFault extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(`sandbox fault injected: HTTP ${status}`);
  }
}

/**
 * `POST /payments` matches `POST /payments` and `POST /sandbox/cleeng/3.1/payments`, not `POST /payments/details`;
 * `*` stands for one path segment (`PATCH /payments/*`).
 */
function matchesOperation(pattern: string | undefined, operation: string): boolean {
  if (!pattern) {
    return true;
  }
  const [method, suffix = ''] = pattern.split(' ');
  const [opMethod, opPath = ''] = operation.split(' ');
  const escaped = suffix.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]+');
  return method === opMethod && new RegExp(`${escaped}$`).test(opPath);
}

/** SIGKILL; a process that is already gone is not an error (the test restarts it anyway). */
function killProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ESRCH')) {
      throw error;
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Fault injection shared by every emulator: `/sandbox/faults/:system`. */
@Injectable()
export class SandboxFaults {
  private readonly settings = new Map<SandboxSystem, FaultSettings>();

  set(system: SandboxSystem, settings: FaultSettings): FaultSettings {
    const merged = { ...this.settings.get(system), ...settings };
    this.settings.set(system, merged);
    return merged;
  }

  clear(system?: SandboxSystem): void {
    if (system) {
      this.settings.delete(system);
    } else {
      this.settings.clear();
    }
  }

  get(system: SandboxSystem): FaultSettings {
    return { ...this.settings.get(system) };
  }

  all(): Record<string, FaultSettings> {
    return Object.fromEntries(this.settings);
  }

  /**
   * Call before processing a request: may delay, may throw InjectedFault (nothing processed). `operation` is
   * `METHOD /path`, matched against `failOn`.
   */
  async beforeRequest(system: SandboxSystem, operation = ''): Promise<void> {
    const s = this.settings.get(system);
    if (!s) {
      return;
    }
    if (s.latencyMs) {
      await sleep(s.latencyMs);
    }
    if (s.failOn !== undefined && !matchesOperation(s.failOn, operation)) {
      return;
    }
    if (s.failNext && s.failNext > 0) {
      s.failNext -= 1;
      throw new InjectedFault(s.failStatus ?? 503, s.retryAfterSeconds);
    }
    if (s.errorRate && Math.random() < s.errorRate) {
      throw new InjectedFault(s.failStatus ?? 503, s.retryAfterSeconds);
    }
  }

  /**
   * Call after processing, before responding: may kill the caller (`killPid`) or hold the response past the
   * caller's timeout. `operation` is `METHOD /path`, matched against `killOn`.
   */
  async afterRequest(system: SandboxSystem, operation = ''): Promise<void> {
    const s = this.settings.get(system);
    if (s?.killPid !== undefined && matchesOperation(s.killOn, operation)) {
      if (s.killSkip && s.killSkip > 0) {
        s.killSkip -= 1;
      } else {
        const pid = s.killPid;
        delete s.killPid;
        killProcess(pid);
      }
    }
    if (s?.hangNext && s.hangNext > 0) {
      s.hangNext -= 1;
      await sleep(s.hangMs ?? 30_000);
    }
  }

  /** After processing: the status to answer instead of the real answer (`failAfterNext`), if one is due. */
  failAfterProcessing(system: SandboxSystem): number | undefined {
    const s = this.settings.get(system);
    if (s?.failAfterNext && s.failAfterNext > 0) {
      s.failAfterNext -= 1;
      return s.failStatus ?? 500;
    }
    return undefined;
  }

  /** How many copies of an outgoing webhook to send: 0 (lost), 1, or 2 (duplicate). */
  webhookCopies(system: SandboxSystem): number {
    const s = this.settings.get(system);
    if (s?.lostWebhookRate && Math.random() < s.lostWebhookRate) {
      return 0;
    }
    if (s?.duplicateWebhookRate && Math.random() < s.duplicateWebhookRate) {
      return 2;
    }
    return 1;
  }
}
