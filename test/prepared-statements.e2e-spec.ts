import { Client } from 'pg';
import { DataSource } from 'typeorm';
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
