import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { APP_CONFIG, AppConfig } from '../../config/app-config';

/**
 * Background work that must drain on shutdown (polling workers, rebilling): on `drainForShutdown()` it stops
 * claiming at once (synchronously, before the first await), releases what it claimed but has not started, and
 * resolves when its in-flight work (gateway calls and their writes) is done.
 */
export interface DrainsOnShutdown {
  drainForShutdown(): Promise<void>;
}

function drainsOnShutdown(instance: unknown): instance is DrainsOnShutdown {
  return (
    typeof instance === 'object' &&
    instance !== null &&
    typeof (instance as Partial<DrainsOnShutdown>).drainForShutdown === 'function'
  );
}

/**
 * Graceful shutdown (SIGTERM -> RunningApp.close() -> app.close()). Nest runs `beforeApplicationShutdown` while
 * the HTTP server still answers and before the database pool closes (TypeORM closes it in
 * `onApplicationShutdown`, after the server), so draining here gives, in order: readiness 503, every worker
 * stops claiming, unstarted claims are released, in-flight work finishes within SHUTDOWN_TIMEOUT_MS, then the
 * server and the pool close. One hook drains every worker in parallel: Nest runs the hooks of different
 * modules one after another, which would stack the waits and let later workers keep claiming meanwhile.
 */
@Injectable()
export class ShutdownCoordinator implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ShutdownCoordinator.name);
  private drainingSince: number | undefined;
  private drained: Promise<void> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly discovery: DiscoveryService,
  ) {}

  /** true from the moment shutdown starts: readiness answers 503 so load balancers stop sending traffic */
  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.drain();
  }

  /** Idempotent: a second signal joins the drain in progress. */
  drain(): Promise<void> {
    this.drained ??= this.run();
    return this.drained;
  }

  private async run(): Promise<void> {
    this.drainingSince = Date.now();
    const workers = [
      ...new Set(
        this.discovery
          .getProviders()
          .map((wrapper) => wrapper.instance as unknown)
          .filter(drainsOnShutdown),
      ),
    ];
    const timeoutMs = this.config.shutdownTimeoutMs;
    this.logger.log(`draining ${workers.length} workers (at most ${timeoutMs} ms)`);
    let pending = workers.length;
    const all = Promise.all(
      workers.map((worker) =>
        worker
          .drainForShutdown()
          .catch((err: unknown) =>
            this.logger.error(`${worker.constructor.name} failed to drain: ${String(err)}`),
          )
          .finally(() => {
            pending -= 1;
          }),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const expired = await Promise.race([all.then(() => false), timedOut]);
    clearTimeout(timer);
    const ms = Date.now() - this.drainingSince;
    if (expired) {
      // what is still in flight keeps its lease: a gateway call may still answer, so nobody may replay it yet
      this.logger.warn(`shutdown timeout after ${ms} ms: ${pending} workers still had work in flight`);
    } else {
      this.logger.log(`drained in ${ms} ms`);
    }
  }
}
