import { Client, escapeIdentifier } from 'pg';

/** PostgreSQL is not reachable or refused us: the benchmark cannot run (exit non-zero, say why). */
export class DatabaseUnavailable extends Error {}

export interface DatabaseInfo {
  /** the URL with any password masked */
  url: string;
  database: string;
  created: boolean;
  reset: boolean;
  serverVersion: string;
}

export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) {
      u.password = '***';
    }
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

/**
 * Makes sure the benchmark database exists on the real PostgreSQL: connects to the server's
 * `postgres` database, creates the target if missing (or drops and recreates it with `reset`).
 * The app's migrations then build the schema at startup.
 */
export async function ensureDatabase(url: string, options: { reset?: boolean } = {}): Promise<DatabaseInfo> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUnavailable(`not a valid PostgreSQL URL: ${maskUrl(url)}`);
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new DatabaseUnavailable(`not a postgres:// URL: ${maskUrl(url)}`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) {
    throw new DatabaseUnavailable(`the URL names no database: ${maskUrl(url)}`);
  }
  const admin = new URL(parsed.toString());
  admin.pathname = '/postgres';

  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new DatabaseUnavailable(
      `cannot connect to PostgreSQL at ${maskUrl(admin.toString())}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  try {
    const version = await client.query<{ server_version: string }>('SHOW server_version');
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    let created = false;
    if (options.reset && exists.rowCount) {
      await client.query(`DROP DATABASE ${escapeIdentifier(database)} WITH (FORCE)`);
    }
    if (options.reset || !exists.rowCount) {
      await client.query(`CREATE DATABASE ${escapeIdentifier(database)}`);
      created = true;
    }
    return {
      url: maskUrl(url),
      database,
      created,
      reset: options.reset === true,
      serverVersion: version.rows[0]?.server_version ?? 'unknown',
    };
  } catch (err) {
    throw new DatabaseUnavailable(
      `cannot prepare database "${database}": ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
