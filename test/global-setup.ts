import { startEmbeddedPostgres } from '../src/database/embedded-postgres';

/**
 * With DATABASE_URL set (CI's second pass), tests use that PostgreSQL. Without it, one embedded
 * PGlite serves the whole run, in memory, like a fresh machine.
 */
export default async function globalSetup(): Promise<void> {
  process.env.NODE_ENV = 'test';
  if (process.env.DATABASE_URL) {
    console.log(`\ne2e: using PostgreSQL at ${redact(process.env.DATABASE_URL)}`);
    process.env.E2E_DATABASE = 'postgres';
    return;
  }
  const embedded = await startEmbeddedPostgres(undefined);
  (globalThis as { __EMBEDDED_PG__?: { stop(): Promise<void> } }).__EMBEDDED_PG__ = embedded;
  process.env.DATABASE_URL = embedded.url;
  process.env.E2E_DATABASE = 'embedded';
  console.log('\ne2e: DATABASE_URL not set, using embedded PostgreSQL (PGlite)');
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}
