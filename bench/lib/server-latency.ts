import { Server } from 'node:http';
import { IntervalHistogram, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { ServerLatency } from './probe-protocol';
import { percentileSorted, sortAscending } from './stats';

/**
 * The app's own view of a phase's requests, for the probe's latency-start/-stop (ServerLatency): each request's time
 * from the server's `request` event to `finish`, the event loop's delay and GC pauses. Off outside such a phase (one
 * test a request).
 */

interface LatencyRecording {
  requests: number[];
  loopDelay: IntervalHistogram;
  gcPauses: number[];
  gc: PerformanceObserver;
}

let recording: LatencyRecording | undefined;
let patched = false;

/** Wraps `http.Server#emit` (once) so every request answered while recording is timed. */
export function timeServerRequests(): void {
  if (patched) {
    return;
  }
  patched = true;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the server as `this`
  const emit = Server.prototype.emit;
  Server.prototype.emit = function timedEmit(
    this: Server,
    event: string | symbol,
    ...args: unknown[]
  ): boolean {
    const current = recording;
    if (current && event === 'request') {
      const started = performance.now();
      (args[1] as NodeJS.EventEmitter).once('finish', () =>
        current.requests.push(performance.now() - started),
      );
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof Server.prototype.emit;
}

/** Starts a recording (a running one is replaced). */
export function latencyStart(): void {
  const gcPauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcPauses.push(entry.duration);
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  recording = { requests: [], loopDelay, gcPauses, gc };
}

/** Ends the recording: what it saw, or undefined when none was running. */
export function latencyStop(): ServerLatency | undefined {
  const done = recording;
  recording = undefined;
  if (!done) {
    return undefined;
  }
  done.loopDelay.disable();
  done.gc.disconnect();
  const sorted = sortAscending(done.requests);
  const ms = (ns: number): number => ns / 1e6;
  return {
    requests: sorted.length,
    p50Ms: percentileSorted(sorted, 50),
    p99Ms: percentileSorted(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    loopDelayP99Ms: ms(done.loopDelay.percentile(99)),
    loopDelayMaxMs: ms(done.loopDelay.max),
    gcPauses: done.gcPauses.length,
    gcPauseTotalMs: done.gcPauses.reduce((a, b) => a + b, 0),
    gcPauseMaxMs: Math.max(0, ...done.gcPauses),
  };
}
