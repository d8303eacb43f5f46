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
}

export class InjectedFault extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(`sandbox fault injected: HTTP ${status}`);
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

  /** Call before processing a request: may delay, may throw InjectedFault (nothing processed). */
  async beforeRequest(system: SandboxSystem): Promise<void> {
    const s = this.settings.get(system);
    if (!s) {
      return;
    }
    if (s.latencyMs) {
      await sleep(s.latencyMs);
    }
    if (s.failNext && s.failNext > 0) {
      s.failNext -= 1;
      throw new InjectedFault(s.failStatus ?? 503, s.retryAfterSeconds);
    }
    if (s.errorRate && Math.random() < s.errorRate) {
      throw new InjectedFault(s.failStatus ?? 503, s.retryAfterSeconds);
    }
  }

  /** Call after processing, before responding: may hold the response past the caller's timeout. */
  async afterRequest(system: SandboxSystem): Promise<void> {
    const s = this.settings.get(system);
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
