import { DiscoveryService } from '@nestjs/core';
import { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { AppConfig } from '../../config/app-config';
import { DrainsOnShutdown, ShutdownCoordinator } from './shutdown-coordinator';

function coordinator(instances: unknown[], shutdownTimeoutMs: number): ShutdownCoordinator {
  const discovery = {
    getProviders: () => instances.map((instance) => ({ instance }) as InstanceWrapper),
  } as unknown as DiscoveryService;
  return new ShutdownCoordinator({ shutdownTimeoutMs } as AppConfig, discovery);
}

class Worker implements DrainsOnShutdown {
  stopped = false;
  finished = false;
  /** `inFlightMs` undefined: the work in flight never ends */
  constructor(private readonly inFlightMs?: number) {}
  async drainForShutdown(): Promise<void> {
    this.stopped = true;
    await new Promise((r) => (this.inFlightMs === undefined ? undefined : setTimeout(r, this.inFlightMs)));
    this.finished = true;
  }
}

describe('ShutdownCoordinator', () => {
  it('is ready until shutdown starts, then drains every worker in parallel', async () => {
    const fast = new Worker(200);
    const slow = new Worker(200);
    const shutdown = coordinator([fast, slow, { notAWorker: true }, undefined], 5_000);
    expect(shutdown.draining).toBe(false);
    const started = Date.now();
    const drained = shutdown.beforeApplicationShutdown();
    // every worker is told to stop at once, before any of them finished
    expect(shutdown.draining).toBe(true);
    expect([fast.stopped, slow.stopped]).toEqual([true, true]);
    await drained;
    expect([fast.finished, slow.finished]).toEqual([true, true]);
    expect(Date.now() - started).toBeLessThan(350); // in parallel, not 200 + 200 one after another
  });

  it('gives up waiting after SHUTDOWN_TIMEOUT_MS', async () => {
    const stuck = new Worker();
    const shutdown = coordinator([stuck], 50);
    const started = Date.now();
    await shutdown.drain();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(stuck.stopped).toBe(true);
    expect(stuck.finished).toBe(false);
  });

  it('a second signal joins the drain in progress', async () => {
    const worker = new Worker(20);
    const spy = jest.spyOn(worker, 'drainForShutdown');
    const shutdown = coordinator([worker], 1_000);
    await Promise.all([shutdown.drain(), shutdown.drain()]);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});
