/**
 * On-CPU profile of the app with Linux `perf` (`--perf`): what the V8 profile (`--cpu-prof`) cannot tell, because V8
 * samples by wall clock and charges the time a thread waits for a core to the frame that waited (39 % of a purchase
 * profile's samples on a 2-core host). `perf record -g` samples only time on a CPU; the app runs with
 * `--perf-basic-prof` so its JavaScript frames have names. Each main-thread sample is charged to its innermost frame
 * that belongs to a package or to the app, so a socket write is charged to whoever wrote
 * (performance-history.md, eleventh pass).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { nodeModulesPackage } from './cpu-profile';

export interface PerfShare {
  owner: string;
  samples: number;
  share: number;
}

export interface PerfSummary {
  /** samples of the app's main thread */
  mainSamples: number;
  /** samples of its other threads (V8's GC and JIT helpers, libuv's pool), as a share of the process's */
  helperShare: number;
  owners: PerfShare[];
}

/** Why `perf` cannot be used here, or undefined when it can. */
export function perfUnavailable(): string | undefined {
  const probe = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return 'perf is not installed (Debian: apt-get install linux-perf)';
  }
  return undefined;
}

/** `perf record` on one process until `stop()`; the samples go to `file`. */
export function recordPerf(pid: number, file: string): { stop(): Promise<void> } {
  const child: ChildProcess = spawn('perf', ['record', '-F', '997', '-g', '-p', String(pid), '-o', file], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
    },
  };
}

/** `perf script` of a recording, read as it is printed (a long phase prints hundreds of MB), summarised. */
export async function summarisePerfRecording(file: string, mainTid: number, top = 15): Promise<PerfSummary> {
  const child = spawn('perf', ['script', '-i', file], { stdio: ['ignore', 'pipe', 'ignore'] });
  const tally = new PerfTally(mainTid);
  let rest = '';
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout as AsyncIterable<string>) {
    const blocks = (rest + chunk).split(/\n\s*\n/);
    rest = blocks.pop() ?? '';
    blocks.forEach((block) => tally.add(block));
  }
  tally.add(rest);
  return tally.summary(top);
}

/** The owner of one frame: a package, the app's module folder, or undefined for Node, V8, libc and the kernel. */
export function frameOwner(frame: string): string | undefined {
  const pkg = nodeModulesPackage(frame);
  if (pkg !== undefined) {
    return pkg;
  }
  const app = /\/dist\/src\/([^/]+)\//.exec(frame);
  if (app) {
    return `app: ${app[1]}`;
  }
  return /\/dist\/bench\//.test(frame) ? 'bench probe' : undefined;
}

const RUNTIME = 'Node runtime, V8 and the kernel (no package frame)';

/** Main-thread samples by owner, one `perf script` block (a sample: header, then frames innermost first) at a time. */
export class PerfTally {
  private readonly counts = new Map<string, number>();
  private mainSamples = 0;
  private helperSamples = 0;

  constructor(private readonly mainTid: number) {}

  add(block: string): void {
    const lines = block.split('\n').filter((line) => line.trim() !== '');
    const header = lines[0];
    if (!header || lines.length < 2) {
      return;
    }
    // "node  6458   793.683718:    1003009 cpu-clock:ppp:" (comm, tid or pid/tid, time, period, event)
    const ids = /^\s*\S+\s+(\d+)(?:\/(\d+))?\s/.exec(header);
    if (Number(ids?.[2] ?? ids?.[1]) !== this.mainTid) {
      this.helperSamples += 1;
      return;
    }
    this.mainSamples += 1;
    let owner = RUNTIME;
    for (const frame of lines.slice(1)) {
      const found = frameOwner(frame);
      if (found) {
        owner = found;
        break;
      }
    }
    this.counts.set(owner, (this.counts.get(owner) ?? 0) + 1);
  }

  summary(top = 15): PerfSummary {
    const main = this.mainSamples;
    const owners = [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([owner, samples]) => ({ owner, samples, share: main > 0 ? samples / main : 0 }));
    const all = main + this.helperSamples;
    return { mainSamples: main, helperShare: all > 0 ? this.helperSamples / all : 0, owners };
  }
}

/** Shares of the main thread (tid = pid) by owner, from `perf script` text. */
export function analysePerfScript(script: string, mainTid: number, top = 15): PerfSummary {
  const tally = new PerfTally(mainTid);
  script.split(/\n\s*\n/).forEach((block) => tally.add(block));
  return tally.summary(top);
}
