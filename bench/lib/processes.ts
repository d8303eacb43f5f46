import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, WriteStream } from 'node:fs';
import { join } from 'node:path';
import { sandboxEnv } from '../../sandbox/sandbox-settings';
import { GATEWAY_IDS } from '../../src/gateways/gateway-ids';
import { freePort } from './env';
import { ProbeReply, ProbeRequest, ProbeSample } from './probe-protocol';

/**
 * The two processes a benchmark drives, both from the built artefacts: the standalone emulators
 * (`dist/sandbox/standalone.js`) and the app (`dist/src/main.js`, NODE_ENV=production, SANDBOX=false, every
 * vendor URL at the emulators), the app with the probe preloaded. Each has its own CPU and memory, so what the
 * probe reports is the app's alone. Their output goes to log files in `logDir`.
 */

/** USER_HZ: 100 on every Linux the bench runs on (getconf CLK_TCK) */
export const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) process `pid` used so far, or only its thread `tid`, from /proc (Linux); undefined when
 * unreadable.
 */
export function procCpuMs(pid: number, tid?: number): number | undefined {
  try {
    const stat = readFileSync(
      tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
      'utf8',
    );
    // fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitHttp(url: string, timeoutMs: number, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `process exited (${child.exitCode ?? child.signalCode}) before ${url} answered:\n${tail(log)}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} not ready within ${timeoutMs} ms:\n${tail(log)}`);
    }
    await sleep(150);
  }
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

class ChildNodeProcess {
  protected child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private logStream: WriteStream | undefined;
  readonly logFile: string;

  constructor(
    protected readonly root: string,
    private readonly script: string,
    private readonly nodeArgs: string[],
    readonly env: Record<string, string>,
    logDir: string,
    logName: string,
  ) {
    this.logFile = join(logDir, logName);
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) {
      throw new Error(`${this.script} is not running`);
    }
    return pid;
  }

  protected async spawn(readyUrl: string, ipc: boolean): Promise<void> {
    const script = join(this.root, this.script);
    if (!existsSync(script)) {
      throw new Error(`${script} is missing: build first (npm run build:dev)`);
    }
    this.logStream = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [...this.nodeArgs, script], {
      cwd: this.root,
      env: { PATH: process.env.PATH ?? '', ...this.env },
      stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.logStream, { end: false });
    child.stderr?.pipe(this.logStream, { end: false });
    this.exited = new Promise((ok) => child.once('exit', () => ok()));
    this.child = child;
    await waitHttp(readyUrl, 90_000, child, this.logFile);
  }

  /** CPU time (user + system) the process used so far, from /proc (Linux); undefined elsewhere. */
  cpuMsFromProc(): number | undefined {
    return procCpuMs(this.pid);
  }

  /** SIGTERM (the app shuts down cleanly and writes its CPU profile), SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise<void>((ok) => (this.logStream ? this.logStream.end(ok) : ok()));
  }
}

export class SandboxProcess extends ChildNodeProcess {
  constructor(
    root: string,
    readonly port: number,
    appUrl: string,
    logDir: string,
  ) {
    super(
      root,
      'dist/sandbox/standalone.js',
      [],
      {
        SANDBOX_PORT: String(port),
        SANDBOX_APP_URL: appUrl,
        // like the vendors, keep redelivering a webhook the busy app did not take (the emulators' own schedule
        // gives up after seconds, and a lost notification would stall the drain the bench waits for)
        SANDBOX_WEBHOOK_RETRY_DELAYS_MS: '200,1000,3000,5000,10000,10000,20000,30000,60000',
        // as if volumes had been agreed with Cleverbridge (its documented 150 requests/s per IP otherwise): the
        // ceiling under test is the app's own GATEWAY_RATE_LIMITS, which the rebilling scenario raises
        SANDBOX_CLEVERBRIDGE_REQUESTS_PER_SECOND: '100000',
      },
      logDir,
      'sandbox.log',
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(): Promise<void> {
    return this.spawn(`${this.url}/sandbox/faults`, false);
  }
}

export interface AppProcessOptions {
  root: string;
  port: number;
  sandboxUrl: string;
  databaseUrl: string;
  dataDir: string;
  logDir: string;
  encryptionKey: string;
  /** scenario and --app-env overrides, applied last */
  extraEnv: Record<string, string>;
  /** write a .cpuprofile here on exit */
  cpuProfileDir?: string;
  /** name JavaScript frames for `perf` (`--perf-basic-prof`: /tmp/perf-<pid>.map) */
  perfMap?: boolean;
}

/**
 * The `NODE_OPTIONS` the production image sets (`ENV NODE_OPTIONS=…` in the Dockerfile, e.g. its heap budget), so
 * the app runs here as it runs there; undefined when the Dockerfile sets none.
 */
export function imageNodeOptions(dockerfile: string): string | undefined {
  const match = /^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S+))\s*$/m.exec(dockerfile);
  return match ? (match[1] ?? match[2]) : undefined;
}

/**
 * The calls-per-second ceiling (GATEWAY_RATE_LIMITS) the bench gives every gateway unless a scenario sets one: the
 * app's conservative defaults are what an operator starts from, not what its throughput is, and Adyen's 200/s (two
 * calls a purchase) capped the purchase scenario at 100 purchases/s whatever the app's CPU.
 */
export const BENCH_GATEWAY_CALLS_PER_SECOND = 100_000;

/** GATEWAY_RATE_LIMITS for every gateway of this build: the bench's ceiling, or a scenario's own for some. */
export function benchGatewayRateLimits(ceilings: Readonly<Record<string, number>> = {}): string {
  return GATEWAY_IDS.map((id) => `${id}=${ceilings[id] ?? BENCH_GATEWAY_CALLS_PER_SECOND}`).join(',');
}

/**
 * The environment the app gets: production mode and the production image's NODE_OPTIONS, the emulators' URLs and
 * secrets, the bench's database.
 */
export function appEnvironment(
  options: Omit<AppProcessOptions, 'logDir' | 'cpuProfileDir' | 'perfMap'>,
): Record<string, string> {
  const dockerfile = join(options.root, 'Dockerfile');
  const nodeOptions = existsSync(dockerfile) ? imageNodeOptions(readFileSync(dockerfile, 'utf8')) : undefined;
  return {
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    ...sandboxEnv({ publicUrl: options.sandboxUrl, dataDir: options.dataDir }),
    NODE_ENV: 'production',
    SANDBOX: 'false',
    LOG_LEVEL: 'info',
    PORT: String(options.port),
    PUBLIC_URL: `http://127.0.0.1:${options.port}`,
    DATABASE_URL: options.databaseUrl,
    DATA_DIR: options.dataDir,
    ENCRYPTION_KEY: options.encryptionKey,
    // the benchmark measures throughput, not the per-caller limits nor the per-gateway ceilings
    RATE_LIMIT_PER_MINUTE: '100000000',
    TOKENISE_RATE_LIMIT_PER_HOUR: '100000000',
    GATEWAY_RATE_LIMITS: benchGatewayRateLimits(),
    ...options.extraEnv,
  };
}

export class AppProcess extends ChildNodeProcess {
  private nextProbe = 1;
  private readonly waiting = new Map<number, (reply: ProbeReply) => void>();
  readonly port: number;

  constructor(options: AppProcessOptions) {
    const probe = join(options.root, 'dist', 'bench', 'lib', 'app-probe.js');
    super(
      options.root,
      'dist/src/main.js',
      [
        '--require',
        probe,
        ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
        ...(options.perfMap ? ['--perf-basic-prof'] : []),
      ],
      appEnvironment(options),
      options.logDir,
      'app.log',
    );
    this.port = options.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await this.spawn(`${this.url}/health/ready`, true);
    this.child?.on('message', (message: unknown) => {
      const reply = message as ProbeReply;
      if (reply && reply.type === 'probe-reply') {
        this.waiting.get(reply.id)?.(reply);
        this.waiting.delete(reply.id);
      }
    });
  }

  /** The app's query count, CPU time and memory now (through the probe). */
  probe(): Promise<ProbeSample> {
    return this.ask({ type: 'probe' });
  }

  /** Starts the V8 CPU profiler in the app (the measured phase only). */
  profileStart(): Promise<ProbeSample> {
    return this.ask({ type: 'profile-start' });
  }

  /** Starts recording the app's own view of the requests it answers (ServerLatency). */
  latencyStart(): Promise<ProbeSample> {
    return this.ask({ type: 'latency-start' });
  }

  /** Stops that recording; the reply carries `serverLatency`. */
  latencyStop(): Promise<ProbeSample> {
    return this.ask({ type: 'latency-stop' });
  }

  /** Stops it and has the app write the .cpuprofile to `file`. */
  profileStop(file: string): Promise<ProbeSample> {
    return this.ask({ type: 'profile-stop', file }, 60_000);
  }

  private async ask(request: Omit<ProbeRequest, 'id'>, timeoutMs = 10_000): Promise<ProbeSample> {
    const child = this.child;
    if (!child?.connected) {
      throw new Error('the app process has no probe channel (not running?)');
    }
    const id = this.nextProbe;
    this.nextProbe += 1;
    const reply = await new Promise<ProbeReply>((ok, fail) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        fail(new Error(`the app probe did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        ok(r);
      });
      child.send({ ...request, id });
    });
    if (reply.error) {
      throw new Error(`app probe: ${reply.error}`);
    }
    return { ...reply, at: performance.now() };
  }

  /** Resident set size of the app process from /proc (Linux), in bytes; undefined elsewhere. */
  rssFromProc(field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return match?.[1] ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Samples the app's RSS from /proc every `intervalMs` (the bench's own memory is not counted). */
export class AppRssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peak = 0;

  constructor(
    private readonly app: AppProcess,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  private sample(): void {
    const rss = this.app.rssFromProc();
    if (rss !== undefined && rss > this.peak) {
      this.peak = rss;
    }
  }

  /** Peak MB seen while sampling. */
  stop(): number {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    this.sample();
    return Math.round(this.peak / 1024 / 102.4) / 10;
  }
}

export async function startProcesses(
  options: Omit<AppProcessOptions, 'port' | 'sandboxUrl'>,
): Promise<{ app: AppProcess; sandbox: SandboxProcess }> {
  const appPort = await freePort();
  const sandboxPort = await freePort();
  const sandbox = new SandboxProcess(
    options.root,
    sandboxPort,
    `http://127.0.0.1:${appPort}`,
    options.logDir,
  );
  await sandbox.start();
  const app = new AppProcess({ ...options, port: appPort, sandboxUrl: sandbox.url });
  try {
    await app.start();
  } catch (err) {
    await app.stop(5_000);
    await sandbox.stop(5_000);
    throw err;
  }
  return { app, sandbox };
}
