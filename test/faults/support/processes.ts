import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxEnv } from '../../../sandbox/sandbox-settings';

/**
 * The processes of the crash-point suite: the built app (`dist/src/main.js`, SANDBOX=false) and the
 * standalone emulators (`dist/sandbox/standalone.js`), each a child process, so the app can be SIGKILLed
 * while the emulators keep counting. `npm run test:faults` builds both first.
 */
const ROOT = join(__dirname, '..', '..', '..');
export const LOG_DIR = mkdtempSync(join(tmpdir(), 'connector-faults-'));

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => ok(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`process exited before ${url} answered (see ${LOG_DIR})`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} not ready within ${timeoutMs} ms (see ${LOG_DIR})`);
    }
    await sleep(150);
  }
}

class NodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly log: WriteStream;

  constructor(
    private readonly script: string,
    private readonly env: Record<string, string>,
    private readonly readyUrl: string,
    logName: string,
  ) {
    this.log = createWriteStream(join(LOG_DIR, logName), { flags: 'a' });
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running) {
      throw new Error(`${this.script} is not running`);
    }
    return pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [join(ROOT, this.script)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.exited = new Promise((ok) => child.once('exit', () => ok()));
    this.child = child;
    this.log.write(`\n==== start pid ${child.pid ?? '?'} at ${new Date().toISOString()}\n`);
    await waitHttp(this.readyUrl, 60_000, child);
  }

  /** Resolves once the process is gone (killed by an emulator, by the test, or on its own). */
  async waitForExit(timeoutMs = 20_000): Promise<void> {
    await Promise.race([
      this.exited,
      sleep(timeoutMs).then(() => {
        throw new Error(
          `${this.script} still running after ${timeoutMs} ms: the crash point was not reached`,
        );
      }),
    ]);
  }

  async kill(): Promise<void> {
    if (this.running) {
      this.child?.kill('SIGKILL');
    }
    await this.exited;
  }

  /** Kills the process and closes its log (the end of the run). */
  async stop(): Promise<void> {
    await this.kill();
    await new Promise<void>((ok) => this.log.end(ok));
  }
}

export class SandboxProcess extends NodeProcess {
  readonly url: string;

  constructor(port: number, appUrl: string) {
    super(
      'dist/sandbox/standalone.js',
      {
        SANDBOX_PORT: String(port),
        SANDBOX_APP_URL: appUrl,
        // like the vendors, webhooks sent while the app is dead are redelivered after its restart (Adyen retries
        // for days: 2 min, 5 min, 10 min, ...; scaled down like the app's intervals)
        SANDBOX_WEBHOOK_RETRY_DELAYS_MS: '200,1000,3000,5000,10000,10000,10000',
      },
      `http://127.0.0.1:${port}/sandbox/faults`,
      'sandbox.log',
    );
    this.url = `http://127.0.0.1:${port}`;
  }
}

export class AppProcess extends NodeProcess {
  readonly url: string;

  constructor(port: number, sandboxUrl: string, databaseUrl: string) {
    const publicUrl = `http://127.0.0.1:${port}`;
    super(
      'dist/src/main.js',
      {
        ...sandboxEnv({ publicUrl: sandboxUrl, dataDir: LOG_DIR }),
        NODE_ENV: 'test',
        SANDBOX: 'false',
        PORT: String(port),
        PUBLIC_URL: publicUrl,
        DATABASE_URL: databaseUrl,
        DATA_DIR: LOG_DIR,
        ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn',
        // short timeouts, polls and backoff: recovery within seconds, not minutes
        GATEWAY_TIMEOUT_MS: '3000',
        CLEENG_TIMEOUT_MS: '3000',
        OUTBOX_POLL_INTERVAL_MS: '200',
        OUTBOX_BACKOFF_BASE_MS: '200',
        OUTBOX_BACKOFF_MAX_MS: '1000',
        INBOX_POLL_INTERVAL_MS: '200',
        INBOX_BACKOFF_BASE_MS: '200',
        INBOX_BACKOFF_MAX_MS: '1000',
        RECONCILE_INTERVAL_MS: '1000',
        RECONCILE_UNKNOWN_AFTER_MS: '2000',
        RECONCILE_CANCEL_AFTER_MS: '20000',
        REBILL_CRON: 'off',
        REBILL_LEASE: '5s',
        REBILL_RETRY_GRACE: '5s',
        RATE_LIMIT_PER_MINUTE: '100000',
        TOKENISE_RATE_LIMIT_PER_HOUR: '100000',
      },
      `${publicUrl}/health/ready`,
      'app.log',
    );
    this.url = publicUrl;
  }
}
