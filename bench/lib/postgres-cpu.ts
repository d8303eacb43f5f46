import type { BenchDb } from './bench-db';
import { procCpuMs } from './processes';

/** CPU time so far of each PostgreSQL server process (backends and background writers), by pid. */
export type PostgresCpu = ReadonlyMap<number, number>;

/**
 * What the server's processes have used, when PostgreSQL runs on this machine (its pids readable in /proc);
 * undefined otherwise. pg_stat_activity lists every backend and background process of the server.
 */
export async function postgresCpu(db: BenchDb): Promise<PostgresCpu | undefined> {
  const rows = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity');
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = procCpuMs(pid);
    if (ms !== undefined) {
      cpu.set(pid, ms);
    }
  }
  return cpu.size > 0 ? cpu : undefined;
}

/**
 * CPU the server used between two readings: each process's growth, a process started meanwhile counted from 0
 * (a connection opened during the phase), one that ended meanwhile not at all (lost: read it as a lower bound).
 */
export function postgresCpuDelta(
  before: PostgresCpu | undefined,
  after: PostgresCpu | undefined,
): number | undefined {
  if (!before || !after) {
    return undefined;
  }
  let ms = 0;
  for (const [pid, now] of after) {
    ms += Math.max(0, now - (before.get(pid) ?? 0));
  }
  return ms;
}
