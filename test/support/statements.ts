import { Client } from 'pg';
import type { SqlRunner } from '../../src/common/database/query-result';

/**
 * Counting the app's statements (issue 11's per-operation budgets): every statement the pg driver sends while a
 * recording is open (Client.query, BEGIN/COMMIT included), and a database of the test's own so rows other e2e files
 * left due are not claimed by this app's workers and counted with its own.
 */
export class StatementRecorder {
  private recording: string[] | undefined;
  private values: unknown[][] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, called with its client
  private readonly originalQuery = Client.prototype.query;

  install(): void {
    const original = this.originalQuery as (...a: unknown[]) => unknown;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the patched method needs both `this`es
    const recorder = this;
    Client.prototype.query = function query(this: Client, ...args: unknown[]) {
      const config = args[0] as string | { text?: string };
      if (recorder.recording) {
        recorder.recording.push(typeof config === 'string' ? config : (config.text ?? ''));
        const values = typeof config === 'string' ? args[1] : (config as { values?: unknown }).values;
        recorder.values.push(Array.isArray(values) ? values : []);
      }
      return original.apply(this, args);
    } as typeof Client.prototype.query;
  }

  uninstall(): void {
    Client.prototype.query = this.originalQuery;
  }

  start(): void {
    this.recording = [];
    this.values = [];
  }

  /** The values sent with the first statement recorded so far whose text matches (e.g. to EXPLAIN it as sent). */
  valuesOf(matches: (text: string) => boolean): unknown[] | undefined {
    const index = (this.recording ?? []).findIndex(matches);
    return index < 0 ? undefined : this.values[index];
  }

  /** What was sent since `start()`, so far (the recording goes on). */
  seen(): readonly string[] {
    return this.recording ?? [];
  }

  stop(): string[] {
    const seen = this.recording ?? [];
    this.recording = undefined;
    return seen;
  }
}

const HOUR = String(3_600_000);

/** App env with the pollers idle and the rebilling cron off: only the operation under count speaks to the database. */
export const QUIET_WORKERS = {
  OUTBOX_POLL_INTERVAL_MS: HOUR,
  INBOX_POLL_INTERVAL_MS: HOUR,
  RECONCILE_INTERVAL_MS: HOUR,
  REBILL_CRON: 'off',
};

/**
 * On PostgreSQL (CI's second pass) a database of the test's own, as env for startTestApp. On the embedded default
 * one PGlite serves the whole run with one database whatever the URL names, so rows other files left stay visible:
 * a test that counts what one inbox pass handled sets them aside first (`setAsideOtherInboxEvents`).
 */
export async function ownDatabase(
  prefix: string,
): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const sharedUrl = process.env.DATABASE_URL;
  if (!sharedUrl) {
    return { env: {}, drop: () => Promise.resolve() };
  }
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new Client({ connectionString: sharedUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(sharedUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * Moves every inbox event still pending a day ahead, so the next `/ops/inbox/process` handles only the events the
 * test is about to cause. Other e2e files can leave events pending in a shared database (one with no handler, one
 * whose handler keeps failing with backoff); a pass that came due for them counted them as retried.
 */
export async function setAsideOtherInboxEvents(db: SqlRunner): Promise<void> {
  await db.query(
    `UPDATE inbox_events SET next_attempt_at = now() + interval '1 day' WHERE status = 'pending'`,
  );
}
