import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { RunningApp, StartOptions, startApp } from '../../src/bootstrap';

export const API_KEY = 'sandbox-key';

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

export interface TestApp extends RunningApp {
  http: ReturnType<typeof request>;
}

/**
 * The real app on a real port (the sandbox emulators call back into it), on the test database.
 * Short timeouts and backoff keep fault tests quick; override anything through `env`.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<TestApp> {
  const port = await freePort();
  const running = await startApp(
    {
      NODE_ENV: 'test',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: process.env.DATABASE_URL,
      // the run's embedded PGlite needs a single connection (see src/bootstrap.ts)
      // and no statement names: every app of a test file would share them in PGlite's one session
      ...(process.env.E2E_DATABASE === 'embedded'
        ? { DATABASE_POOL_SIZE: '1', DATABASE_PREPARED_STATEMENTS: 'false' }
        : {}),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'connector-test-')),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      GATEWAY_TIMEOUT_MS: '1500',
      CLEENG_TIMEOUT_MS: '1500',
      OUTBOX_POLL_INTERVAL_MS: '200',
      OUTBOX_BACKOFF_BASE_MS: '200',
      OUTBOX_BACKOFF_MAX_MS: '1000',
      // at the 20/s default the 500-subscription rebilling tests would wait 25 s; under half the emulator's 150/s
      // (like Cleverbridge's), so two misaligned one-second windows never add up to more than it accepts
      GATEWAY_RATE_LIMITS: 'cleverbridge=70',
      ...env,
    },
    options,
  );
  return { ...running, http: request(running.url) };
}

/** Polls until `check` returns a truthy value or the deadline passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) {
        return value;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `condition not met within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A log destination for `startTestApp` that keeps every line the app writes (one entry per line). */
export function captureLogs(): { destination: Writable; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { destination, lines };
}
