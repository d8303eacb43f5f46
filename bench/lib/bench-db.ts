import { Pool } from 'pg';
import { checkpoint } from './db-limit';

/** The bench's own connections to the benchmark database (seeding, checks, polling): never the app's pool. */
export class BenchDb {
  private readonly pool: Pool;

  constructor(url: string, max = 4) {
    this.pool = new Pool({ connectionString: url, max });
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const result = await this.pool.query(sql, params);
    return result.rows as T[];
  }

  /** Rows affected. */
  async execute(sql: string, params: unknown[] = []): Promise<number> {
    const result = await this.pool.query(sql, params);
    return result.rowCount ?? 0;
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const rows = await this.query<{ n: string | number }>(sql, params);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * A CHECKPOINT before a measured phase, so it does not pay for flushing what came before it (the db-limit step's
   * pgbench load, the seeding, a previous phase) and every phase starts from the same state.
   */
  checkpoint(): Promise<void> {
    return checkpoint(this.pool);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
