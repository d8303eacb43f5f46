/**
 * The I/O floor's subject process (bench/lib/io-floor.ts): the three kinds of I/O a purchase is made of, with no
 * framework around them — a bare `node:http` server answering JSON, undici `request` on a keep-alive pool, a
 * prepared single-row `INSERT … RETURNING *` through pg's pool — so the bench can read what each costs a process
 * on this machine from its CPU time. The same packages as the app, none of the app's code.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Pool } from 'pg';
import { Agent, request } from 'undici';
import type { FloorReply, FloorRequest } from './io-floor-protocol';
import { runPool } from './pool';

const agent = new Agent({ connections: 128 });

/** `count` calls of `task`, `concurrency` at a time; the number that failed. */
async function repeat(count: number, concurrency: number, task: () => Promise<void>): Promise<number> {
  return (await runPool({ total: count, concurrency, task })).failures;
}

async function outgoing(url: string, count: number, concurrency: number): Promise<number> {
  return repeat(count, concurrency, async () => {
    const res = await request(url, {
      dispatcher: agent,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ amount: { value: 999, currency: 'USD' }, reference: randomUUID() }),
      signal: AbortSignal.timeout(10_000),
    });
    JSON.parse(await res.body.text());
    if (res.statusCode !== 200) {
      throw new Error(`status ${res.statusCode}`);
    }
  });
}

/** One pool for every round (the warm-up round opens its connections): connecting is not a statement's cost. */
let database: { pool: Pool; table: string } | undefined;

async function openDatabase(
  databaseUrl: string,
  concurrency: number,
): Promise<{ pool: Pool; table: string }> {
  const pool = new Pool({ connectionString: databaseUrl, max: Math.min(concurrency, 20) });
  const table = `bench_io_floor_${process.pid}`;
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${table} (id uuid PRIMARY KEY, status text NOT NULL, amount integer NOT NULL,
       updated_at timestamptz NOT NULL)`,
  );
  return { pool, table };
}

async function statements(databaseUrl: string, count: number, concurrency: number): Promise<number> {
  database ??= await openDatabase(databaseUrl, concurrency);
  const { pool, table } = database;
  return repeat(count, concurrency, async () => {
    await pool.query({
      name: 'io-floor-insert',
      text: `INSERT INTO ${table} VALUES ($1, $2, $3, now()) RETURNING *`,
      values: [randomUUID(), 'pending', 999],
    });
  });
}

function reply(message: FloorReply): void {
  process.send?.(message);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { amount?: unknown };
    const answer = JSON.stringify({ id: randomUUID(), status: 'captured', amount: body.amount });
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(answer),
    });
    res.end(answer);
  });
});

process.on('message', (message: FloorRequest) => {
  const done = (failed: number): void => {
    const cpu = process.cpuUsage();
    reply({ type: 'done', id: message.id, failed, cpuUs: cpu.user + cpu.system });
  };
  const fail = (err: unknown): void => reply({ type: 'error', id: message.id, error: String(err) });
  switch (message.type) {
    case 'cpu':
      done(0);
      return;
    case 'outgoing':
      outgoing(message.url, message.count, message.concurrency).then(done, fail);
      return;
    case 'statements':
      statements(message.databaseUrl, message.count, message.concurrency).then(done, fail);
      return;
  }
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  reply({ type: 'ready', id: 0, port: typeof address === 'object' && address ? address.port : 0 });
});
// the bench's end is ours: drop the scratch table, then nothing here may outlive it
process.on('disconnect', () => {
  const open = database;
  void (
    open
      ? open.pool.query(`DROP TABLE IF EXISTS ${open.table}`).then(() => open.pool.end())
      : Promise.resolve()
  )
    .catch(() => undefined)
    .finally(() => process.exit(0));
});
