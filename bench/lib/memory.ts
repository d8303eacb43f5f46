import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Samples the resident set size of this process (the app and the load generator share it) every
 * `intervalMs`. The timer is unref'd so it never keeps the process alive.
 */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private startBytes = 0;
  private peakBytes = 0;
  private lastBytes = 0;
  private samples = 0;

  constructor(private readonly intervalMs = 50) {}

  start(): this {
    this.stop();
    this.startBytes = process.memoryUsage.rss();
    this.peakBytes = this.startBytes;
    this.lastBytes = this.startBytes;
    this.samples = 1;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    this.lastBytes = rss;
    this.samples += 1;
    if (rss > this.peakBytes) {
      this.peakBytes = rss;
    }
  }

  /** Stops sampling (taking one last sample) and returns what was seen. */
  stop(): RssReport {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.sample();
    }
    return this.report();
  }

  report(): RssReport {
    return {
      startMb: toMb(this.startBytes),
      peakMb: toMb(this.peakBytes),
      endMb: toMb(this.lastBytes),
      samples: this.samples,
      intervalMs: this.intervalMs,
    };
  }
}

export interface RssReport {
  startMb: number;
  peakMb: number;
  endMb: number;
  samples: number;
  intervalMs: number;
}

/** Event-loop delay while the load runs: the app and the load generator share one loop. */
export class EventLoopMonitor {
  private histogram: IntervalHistogram | undefined;

  constructor(private readonly resolutionMs = 10) {}

  start(): this {
    this.histogram?.disable();
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.histogram.enable();
    return this;
  }

  stop(): EventLoopReport {
    const h = this.histogram;
    if (!h) {
      return { p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN };
    }
    h.disable();
    this.histogram = undefined;
    // the histogram records the whole timer interval; the delay is what exceeds the resolution
    const ms = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - this.resolutionMs) * 100) / 100);
    return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
  }
}

export interface EventLoopReport {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function toMb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
