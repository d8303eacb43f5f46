import { Logger } from '@nestjs/common';
import { SandboxError } from '../shared/sandbox-error';
import { Clock } from './clock';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** One advance moves at most this far: enough for an annual renewal plus dunning, small enough to stay sane. */
export const MAX_ADVANCE_DAYS = 400;

export interface AdvanceBy {
  days?: number;
  hours?: number;
  minutes?: number;
}

export type AdvanceListener = (now: Date) => Promise<void>;

export interface ListenerRun {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

export interface AdvanceResult {
  previous: string;
  now: string;
  advancedMs: number;
  /** Every registered listener, in registration order: what ran after the move. */
  listeners: ListenerRun[];
}

interface Registration {
  name: string;
  listener: AdvanceListener;
}

/**
 * The sandbox test clock, and the app's clock when SANDBOX=true (createSandbox hands it to the app, which
 * sees it through its own Clock contract: `now()` and `onAdvance`). `advance` moves "now" forward, then lets
 * every emulator and the connector's schedulers act on the new time, one after the other. When `advance`
 * resolves, every listener has finished, so every webhook that became due has at least been queued.
 *
 * Advances are serialised: a second call waits until the first one's listeners are done.
 */
export class SandboxClockService extends Clock {
  private readonly logger = new Logger(SandboxClockService.name);
  private readonly registrations: Registration[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** Runs after every advance, in registration order. Returns the unsubscribe function. */
  onAdvance(listener: AdvanceListener, name = `listener-${this.registrations.length + 1}`): () => void {
    const registration: Registration = { name, listener };
    this.registrations.push(registration);
    return () => {
      const index = this.registrations.indexOf(registration);
      if (index >= 0) {
        this.registrations.splice(index, 1);
      }
    };
  }

  /** Validates `by`, moves the clock, runs the listeners. Throws VALIDATION_FAILED for a bad `by`. */
  async advance(by: AdvanceBy): Promise<AdvanceResult> {
    const ms = advanceMs(by);
    return this.serialised(async () => {
      const previous = this.now();
      this.offsetMs += ms;
      const now = this.now();
      this.logger.log(`sandbox clock advanced by ${ms} ms to ${now.toISOString()}`);
      const listeners = await this.runListeners(now);
      return { previous: previous.toISOString(), now: now.toISOString(), advancedMs: ms, listeners };
    });
  }

  /** Runs the listeners for the current time without moving the clock (e.g. "fire what is due now"). */
  tick(): Promise<ListenerRun[]> {
    return this.serialised(() => this.runListeners(this.now()));
  }

  private async runListeners(now: Date): Promise<ListenerRun[]> {
    const runs: ListenerRun[] = [];
    // a copy: a listener that unsubscribes (or subscribes another) does not disturb this round
    for (const { name, listener } of [...this.registrations]) {
      const started = performance.now();
      try {
        await listener(new Date(now));
        runs.push({ name, ok: true, ms: Math.round(performance.now() - started) });
      } catch (error: unknown) {
        // one broken emulator must not stop the others from seeing the new time
        const message = error instanceof Error ? error.message : String(error);
        this.logger.error(`clock listener ${name} failed: ${message}`);
        runs.push({ name, ok: false, error: message, ms: Math.round(performance.now() - started) });
      }
    }
    return runs;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** `{days?, hours?, minutes?}` -> milliseconds; at least one field, each finite and >= 0, total <= 400 days. */
export function advanceMs(by: AdvanceBy): number {
  const fields = (['days', 'hours', 'minutes'] as const).filter((f) => by[f] !== undefined);
  if (fields.length === 0) {
    throw new SandboxError('VALIDATION_FAILED', 'give at least one of days, hours, minutes', [
      { field: 'days', messages: ['at least one of days, hours, minutes is required'] },
    ]);
  }
  for (const field of fields) {
    const value = by[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new SandboxError('VALIDATION_FAILED', `${field}: must be a non-negative number`, [
        { field, messages: ['must be a non-negative number'] },
      ]);
    }
  }
  const ms = Math.round((by.days ?? 0) * DAY_MS + (by.hours ?? 0) * HOUR_MS + (by.minutes ?? 0) * MINUTE_MS);
  if (ms > MAX_ADVANCE_DAYS * DAY_MS) {
    throw new SandboxError('VALIDATION_FAILED', `one advance may move at most ${MAX_ADVANCE_DAYS} days`, [
      { field: 'days', messages: [`the total must not exceed ${MAX_ADVANCE_DAYS} days`] },
    ]);
  }
  return ms;
}
