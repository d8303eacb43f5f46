import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DrainsOnShutdown } from './lifecycle/shutdown-coordinator';

/** Exponential backoff with ±20 % jitter, capped. */
export function backoffDelay(attempts: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 20));
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

/**
 * A background loop over durable rows (outbox, inbox, reconciler): polls every `intervalMs`, can be
 * kicked to run at once, never runs two passes at the same time in one process, and stops cleanly.
 * Rows are claimed with SKIP LOCKED and leases by the subclass, so several instances are safe.
 * On shutdown (ShutdownCoordinator) it stops claiming; a pass checks `stopped` between items, releases what it
 * claimed but has not started, and finishes what is in flight.
 */
export abstract class PollingWorker<Summary>
  implements OnApplicationBootstrap, OnApplicationShutdown, DrainsOnShutdown
{
  protected readonly logger = new Logger(this.constructor.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Summary> | undefined;
  private again = false;
  protected stopped = false;

  protected abstract readonly intervalMs: number;
  /** One pass over everything due now. */
  protected abstract pass(): Promise<Summary>;

  onApplicationBootstrap(): void {
    this.schedule();
  }

  /** Stop claiming now; resolves when the pass in progress (its in-flight items) is done. */
  async drainForShutdown(): Promise<void> {
    this.stop();
    await this.running?.catch(() => undefined);
  }

  /** The bounded wait was drainForShutdown's (SHUTDOWN_TIMEOUT_MS): by now the pool is closing, do not wait again. */
  onApplicationShutdown(): void {
    this.stop();
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Run soon, coalescing concurrent kicks into one extra pass. */
  kick(): void {
    if (this.stopped) {
      return;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    this.runOnce().catch((err: unknown) => this.logger.error(`pass failed: ${String(err)}`));
  }

  /** Runs a pass now (or joins the one in progress) and returns its summary. */
  runOnce(): Promise<Summary> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) {
      return;
    }
    this.timer = setTimeout(() => {
      this.kick();
      this.schedule();
    }, this.intervalMs);
    this.timer.unref();
  }
}
