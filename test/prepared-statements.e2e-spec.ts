import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  claimLeased,
  claimStatementName,
  LeaseClaim,
  leaseClaimStatement,
} from '../src/common/database/lease-claim';
import { MAX_NAMED_STATEMENTS, PreparingClient } from '../src/database/preparing-client';
import { startTestApp, TestApp } from './support/test-app';

/** The statements a connection holds prepared (its own session's only). */
async function prepared(client: Client): Promise<{ name: string; statement: string }[]> {
  return (await client.query('SELECT name, statement FROM pg_prepared_statements ORDER BY name')).rows as {
    name: string;
    statement: string;
  }[];
}

describe('prepared statements (DATABASE_PREPARED_STATEMENTS)', () => {
  const clients: Client[] = [];

  async function connect(): Promise<Client> {
    const client = new PreparingClient({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
  });

  it('a statement with parameters is prepared once per connection and answers right on every run', async () => {
    const a = await connect();
    const text = 'SELECT $1::int + 1 AS n, $2::text AS label';
    // past the fifth run PostgreSQL may switch to a generic plan: the answers must not change
    for (let i = 0; i < 8; i += 1) {
      expect((await a.query(text, [i, `run ${i}`])).rows).toEqual([{ n: i + 1, label: `run ${i}` }]);
    }
    await a.query('SELECT 1 AS plain'); // no parameters: the simple protocol, nothing prepared
    const held = await prepared(a);
    expect(held).toEqual([{ name: expect.stringMatching(/^s\d+$/) as string, statement: text }]);
    // a bad statement is an error, and the connection stays usable
    await expect(a.query('SELECT $1::int FROM no_such_table', [1])).rejects.toThrow(/no_such_table/);
    expect((await a.query(text, [41, 'again'])).rows).toEqual([{ n: 42, label: 'again' }]);
  });

  describe('in the app', () => {
    let app: TestApp;

    afterEach(async () => {
      await app?.close();
    });

    it('is on for PostgreSQL and off for the embedded database', async () => {
      app = await startTestApp();
      const runner = app.app.get(DataSource).createQueryRunner();
      try {
        await runner.query('SELECT $1::int AS n', [7]);
        const names = (await runner.query(
          `SELECT name FROM pg_prepared_statements WHERE statement = 'SELECT $1::int AS n'`,
        )) as { name: string }[];
        expect(names).toHaveLength(process.env.E2E_DATABASE === 'embedded' ? 0 : 1);
      } finally {
        await runner.release();
      }
    });
  });

  // PGlite serves every connection from one session: the app does not prepare there
  (process.env.E2E_DATABASE === 'embedded' ? describe.skip : describe)('lease claims', () => {
    const table = `claim_prepared_${randomUUID().replaceAll('-', '')}`;
    const sources: DataSource[] = [];

    /** A pool of one connection, as the app's pool makes them, so every call below uses that connection. */
    async function oneConnection(): Promise<DataSource> {
      const db = new DataSource({
        type: 'postgres',
        url: process.env.DATABASE_URL,
        extra: { max: 1, Client: PreparingClient },
      });
      sources.push(await db.initialize());
      return db;
    }

    const claim = (): LeaseClaim => {
      const now = new Date();
      return {
        table,
        where: 'candidate.due <= $1 AND (candidate.locked_until IS NULL OR candidate.locked_until < $1)',
        params: [now],
        orderBy: 'candidate.due',
        limit: 2,
        lease: { locked_until: new Date(now.getTime() + 60_000) },
        returning: 'id',
      };
    };
    const name = claimStatementName(leaseClaimStatement(claim()).sql);
    const held = async (db: DataSource): Promise<string[]> =>
      (await db.query<{ name: string }[]>('SELECT name FROM pg_prepared_statements')).map((r) => r.name);

    afterAll(async () => {
      await sources[0]?.query(`DROP TABLE IF EXISTS ${table}`);
      await Promise.all(sources.splice(0).map((db) => db.destroy()));
    });

    it('are prepared once per connection, and a statement the connection lost or already had is mended', async () => {
      const db = await oneConnection();
      await db.query(`CREATE TABLE ${table} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        due timestamptz NOT NULL, locked_until timestamptz)`);
      await db.query(
        `INSERT INTO ${table} (due) SELECT now() - g * interval '1 minute' FROM generate_series(1, 7) g`,
      );

      expect(await claimLeased(db, claim())).toHaveLength(2);
      expect(await held(db)).toContain(name);
      expect(await claimLeased(db, claim())).toHaveLength(2); // EXECUTE only: PREPARE again would be 42P05

      // lost (DEALLOCATE, a pooler's reset): EXECUTE fails with 26000 before the claim runs, then PREPARE again
      await db.query(`DEALLOCATE ${name}`);
      expect(await claimLeased(db, claim())).toHaveLength(2);
      expect(await held(db)).toContain(name);

      // already there but not remembered (prepared by a query that failed later): PREPARE fails with 42P05
      const other = await oneConnection();
      await other.query(`PREPARE ${name} AS ${leaseClaimStatement(claim()).sql}`);
      expect(await claimLeased(other, claim())).toHaveLength(1);
      // seven rows, each leased once
      const leased = await db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM ${table} WHERE locked_until IS NOT NULL`,
      );
      expect(leased).toEqual([{ n: 7 }]);
    });
  });

  // last: the names are process-wide, and this fills them
  it('stops naming after MAX_NAMED_STATEMENTS distinct texts (later ones run unnamed)', async () => {
    const a = await connect();
    for (let i = 0; i < MAX_NAMED_STATEMENTS + 5; i += 1) {
      expect((await a.query(`SELECT $1::int + ${i} AS n`, [1])).rows).toEqual([{ n: i + 1 }]);
    }
    const held = await prepared(a);
    expect(held.length).toBeLessThanOrEqual(MAX_NAMED_STATEMENTS);
    expect(held.map((s) => s.statement)).not.toContain(`SELECT $1::int + ${MAX_NAMED_STATEMENTS + 4} AS n`);
  });
});
