import { ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite behind pglite-socket in a child process and returns a postgres:// URL for the
 * ordinary `pg` driver. `dataDir` undefined keeps the database in memory (tests).
 * Limits (see docs/embedded-database.md): one shared session, so SKIP LOCKED and advisory locks
 * do not exclude anything; single instance and development only.
 */
export async function startEmbeddedPostgres(dataDir: string | undefined): Promise<EmbeddedPostgres> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (dataDir) {
    const dir = resolve(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    env.PGLITE_DATA_DIR = dir;
  } else {
    delete env.PGLITE_DATA_DIR;
  }
  const child: ChildProcess = fork(join(__dirname, 'pglite-child.mjs'), [], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  const url = await new Promise<string>((ok, fail) => {
    const onExit = (code: number | null): void =>
      fail(new Error(`embedded PostgreSQL exited during start (code ${code})`));
    child.once('exit', onExit);
    child.once('error', fail);
    child.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'ready') {
        child.off('exit', onExit);
        ok(String((m as { url: unknown }).url));
      }
    });
  });
  // Do not keep the parent alive just for the child.
  child.unref();
  child.channel?.unref();
  return {
    url,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || !child.connected) {
          done();
          return;
        }
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          done();
        }, 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          done();
        });
        child.send({ type: 'stop' });
      }),
  };
}
