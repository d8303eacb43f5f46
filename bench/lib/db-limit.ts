import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Pool, PoolClient } from 'pg';
import { ensureDatabase } from './database';

/**
 * What PostgreSQL on this machine does in the same run, so each target prints its own ratio (issue 11):
 * (a) single-row INSERTs shaped like inbox_events, one per statement, autocommit, N clients; (b) a TPC-B-like
 * rate: pgbench's builtin tpcb-like on a scratch database `<bench db>_pgbench` (scale 10). Both through pgbench
 * when it is on PATH, else through the pg driver.
 */

const run = promisify(execFile);

export interface DbLimit {
  insertsPerSecond: number;
  insertClients: number;
  insertMethod: 'pgbench' | 'pg driver';
  insertSeconds: number;
  tpcbPerSecond: number;
  tpcbClients: number;
  tpcbSeconds: number;
  tpcbMethod: 'pgbench' | 'pg driver';
  scale: number;
}

/** `tps = 1712.3 (without initial connection time)` (PostgreSQL 14+) or `(excluding connections establishing)`. */
export function parsePgbenchTps(output: string): number | undefined {
  const lines = [...output.matchAll(/^tps = ([\d.]+) \(([^)]*)\)/gm)];
  const preferred =
    lines.find((m) => /without initial connection|excluding connections/.test(m[2] ?? '')) ?? lines[0];
  const value = preferred ? Number(preferred[1]) : Number.NaN;
  return Number.isFinite(value) ? value : undefined;
}

const INSERT_TABLE = 'bench_insert_limit';

/** The inbox_events-shaped table the inserts go to: uuid key, natural-key unique index, jsonb payload, lane due index. */
async function createInsertTable(url: string): Promise<void> {
  const admin = new Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP TABLE IF EXISTS ${INSERT_TABLE}`);
    await admin.query(`
      CREATE TABLE ${INSERT_TABLE} (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source text NOT NULL,
        lane text NOT NULL DEFAULT '',
        event_key text NOT NULL,
        event_type text NOT NULL,
        payload jsonb NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        last_error text,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        UNIQUE (source, event_key))`);
    await admin.query(
      `CREATE INDEX ${INSERT_TABLE}_due ON ${INSERT_TABLE} (lane, next_attempt_at) WHERE status = 'pending'`,
    );
    await checkpoint(admin);
  } finally {
    await admin.end();
  }
}

/**
 * Flushes what earlier runs left dirty, so the measurement does not share the disk with their checkpoint (runs
 * right after a scenario measured up to 40 % fewer inserts). Needs superuser or pg_checkpoint: skipped without.
 * Also run before each scenario's measured phase (BenchDb.checkpoint).
 */
export async function checkpoint(client: Pick<Client, 'query'>): Promise<void> {
  try {
    await client.query('CHECKPOINT');
  } catch {
    // not permitted: measure as is
  }
}

const INSERT_PAYLOAD = JSON.stringify({
  broadcasterId: 900000001,
  topic: 'subscriptionReadyForPaymentCapture',
  data: {
    subscriptionId: '123456789',
    paymentMethodId: 101,
    customerId: 700000001,
    offerId: 'S100000001_US',
  },
});

/**
 * Single-row inserts per second, one per statement, autocommit. Through pgbench when it is installed (a client in
 * C: what PostgreSQL reaches, not what a Node client on the same two cores can send; the pg driver measured about
 * 40 % less here), else through the pg driver.
 */
async function insertRate(
  url: string,
  clients: number,
  seconds: number,
  method: 'pgbench' | 'pg driver',
): Promise<{ perSecond: number }> {
  await createInsertTable(url);
  try {
    if (method === 'pgbench') {
      return { perSecond: await pgbenchInserts(url, clients, seconds) };
    }
    const pool = new Pool({ connectionString: url, max: clients });
    try {
      return await closedLoop(pool, clients, seconds, async (client) => {
        await client.query(
          `INSERT INTO ${INSERT_TABLE} (source, event_key, event_type, payload) VALUES ($1, $2, $3, $4)`,
          ['cleeng', randomUUID(), 'subscriptionReadyForPaymentCapture', INSERT_PAYLOAD],
        );
      });
    } finally {
      await pool.end();
    }
  } finally {
    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP TABLE IF EXISTS ${INSERT_TABLE}`).finally(() => admin.end());
  }
}

/**
 * A timed pgbench load: `clients` connections on two threads for `seconds`, no vacuum first, statements prepared as
 * the app sends them (the database's best, not its simple-protocol rate).
 */
function loadArgs(clients: number, seconds: number): string[] {
  return ['-c', String(clients), '-j', '2', '-T', String(seconds), '-n', '-M', 'prepared'];
}

/** The same insert as a pgbench script, as a prepared statement (as the app's driver sends it since the fifth pass). */
async function pgbenchInserts(url: string, clients: number, seconds: number): Promise<number> {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const { args, env } = pgbenchArgs(parsed);
  const dir = await mkdtemp(join(tmpdir(), 'bench-inserts-'));
  const script = join(dir, 'insert.sql');
  try {
    await writeFile(
      script,
      `INSERT INTO ${INSERT_TABLE} (source, event_key, event_type, payload) ` +
        `VALUES ('cleeng', gen_random_uuid()::text, 'subscriptionReadyForPaymentCapture', '${INSERT_PAYLOAD}');\n`,
    );
    const out = await run('pgbench', [...args, ...loadArgs(clients, seconds), '-f', script, database], {
      env,
      timeout: (seconds + 120) * 1000,
    });
    const tps = parsePgbenchTps(`${out.stdout}\n${out.stderr}`);
    if (tps === undefined) {
      throw new Error(`could not read tps from pgbench:\n${out.stdout}`);
    }
    return tps;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `clients` connections each run `step` back to back until `seconds` pass: completed steps per second. */
async function closedLoop(
  pool: Pool,
  clients: number,
  seconds: number,
  step: (client: PoolClient) => Promise<void>,
): Promise<{ perSecond: number; done: number }> {
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = await pool.connect();
      try {
        while (performance.now() < deadline) {
          await step(client);
          done += 1;
        }
      } finally {
        client.release();
      }
    }),
  );
  return { perSecond: (done * 1000) / (performance.now() - started), done };
}

function pgbenchArgs(url: URL): { args: string[]; env: NodeJS.ProcessEnv } {
  const args = ['-h', url.hostname || '127.0.0.1', '-p', url.port || '5432'];
  if (url.username) {
    args.push('-U', decodeURIComponent(url.username));
  }
  const env = { ...process.env, ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}) };
  return { args, env };
}

async function hasPgbench(): Promise<boolean> {
  try {
    await run('pgbench', ['--version'], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

async function scaleOf(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const exists = await client.query<{ t: string | null }>(
      `SELECT to_regclass('pgbench_branches')::text AS t`,
    );
    if (!exists.rows[0]?.t) {
      return 0;
    }
    const r = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pgbench_branches');
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

async function pgbenchTps(
  url: string,
  clients: number,
  seconds: number,
  scale: number,
  log: (m: string) => void,
): Promise<number> {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const { args, env } = pgbenchArgs(parsed);
  if ((await scaleOf(url)) !== scale) {
    log(`db-limit: pgbench -i -s ${scale} on ${database}`);
    await run('pgbench', [...args, '-i', '-q', '-s', String(scale), database], { env, timeout: 600_000 });
  }
  const out = await run('pgbench', [...args, ...loadArgs(clients, seconds), '-b', 'tpcb-like', database], {
    env,
    timeout: (seconds + 120) * 1000,
  });
  const tps = parsePgbenchTps(`${out.stdout}\n${out.stderr}`);
  if (tps === undefined) {
    throw new Error(`could not read tps from pgbench:\n${out.stdout}`);
  }
  return tps;
}

/** pgbench's tpcb-like transaction through the pg driver (when pgbench is not installed). */
async function driverTps(url: string, clients: number, seconds: number, scale: number): Promise<number> {
  const pool = new Pool({ connectionString: url, max: clients });
  try {
    if ((await scaleOf(url)) !== scale) {
      await pool.query(
        `DROP TABLE IF EXISTS pgbench_history, pgbench_tellers, pgbench_accounts, pgbench_branches`,
      );
      await pool.query(`CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))`);
      await pool.query(
        `CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))`,
      );
      await pool.query(
        `CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))`,
      );
      await pool.query(
        `CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))`,
      );
      await pool.query(`INSERT INTO pgbench_branches SELECT i, 0, '' FROM generate_series(1, $1::int) i`, [
        scale,
      ]);
      await pool.query(
        `INSERT INTO pgbench_tellers SELECT i, (i - 1) / 10 + 1, 0, '' FROM generate_series(1, $1::int) i`,
        [scale * 10],
      );
      await pool.query(
        `INSERT INTO pgbench_accounts SELECT i, (i - 1) / 100000 + 1, 0, '' FROM generate_series(1, $1::int) i`,
        [scale * 100_000],
      );
      await pool.query('VACUUM ANALYZE');
    }
    const random = (n: number): number => 1 + Math.floor(Math.random() * n);
    const { perSecond } = await closedLoop(pool, clients, seconds, async (client) => {
      const aid = random(scale * 100_000);
      const tid = random(scale * 10);
      const bid = random(scale);
      const delta = random(10_001) - 5_001;
      await client.query('BEGIN');
      await client.query('UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2', [delta, aid]);
      await client.query('SELECT abalance FROM pgbench_accounts WHERE aid = $1', [aid]);
      await client.query('UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2', [delta, tid]);
      await client.query('UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2', [delta, bid]);
      await client.query(
        'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)',
        [tid, bid, aid, delta],
      );
      await client.query('COMMIT');
    });
    return perSecond;
  } finally {
    await pool.end();
  }
}

export interface DbLimitOptions {
  /** the bench database (the insert table goes there); pgbench uses `<name>_pgbench` beside it */
  databaseUrl: string;
  clients: number;
  insertSeconds: number;
  tpcbSeconds: number;
  scale: number;
  log: (message: string) => void;
}

export function pgbenchDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  url.pathname = `/${encodeURIComponent(`${name}_pgbench`)}`;
  return url.toString();
}

export async function measureDbLimit(options: DbLimitOptions): Promise<DbLimit> {
  const { databaseUrl, clients, insertSeconds, tpcbSeconds, scale, log } = options;
  const method = (await hasPgbench()) ? 'pgbench' : 'pg driver';
  log(`db-limit: single-row inserts through ${method}, ${clients} clients, ${insertSeconds} s`);
  const inserts = await insertRate(databaseUrl, clients, insertSeconds, method);
  log(`db-limit: ${inserts.perSecond.toFixed(0)} inserts/s`);
  const scratch = pgbenchDatabaseUrl(databaseUrl);
  await ensureDatabase(scratch);
  log(`db-limit: TPC-B-like through ${method}, ${clients} clients, ${tpcbSeconds} s, scale ${scale}`);
  const admin = new Client({ connectionString: scratch });
  await admin.connect();
  await checkpoint(admin).finally(() => admin.end());
  const tps =
    method === 'pgbench'
      ? await pgbenchTps(scratch, clients, tpcbSeconds, scale, log)
      : await driverTps(scratch, clients, tpcbSeconds, scale);
  log(`db-limit: ${tps.toFixed(0)} TPC-B-like tx/s`);
  return {
    insertsPerSecond: Math.round(inserts.perSecond),
    insertClients: clients,
    insertMethod: method,
    insertSeconds,
    tpcbPerSecond: Math.round(tps),
    tpcbClients: clients,
    tpcbSeconds,
    tpcbMethod: method,
    scale,
  };
}
