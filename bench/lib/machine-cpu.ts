import { readFileSync } from 'node:fs';
import { CLOCK_TICKS_PER_SECOND } from './processes';

const TICK_MS = 1000 / CLOCK_TICKS_PER_SECOND;

/** The whole machine's CPU time so far, every core summed (/proc/stat's first line), in ms. */
export interface MachineCpu {
  /** user, nice, system, irq and softirq: work done by any process or the kernel on this machine */
  busyMs: number;
  idleMs: number;
  /** taken by the hypervisor for other guests: neither this machine's work nor free for it */
  stealMs: number;
  cores: number;
}

/**
 * `cpu  user nice system idle iowait irq softirq steal guest guest_nice` → busy / idle / steal (guest time is
 * already inside user). Undefined when the line is not there (not Linux).
 */
export function parseProcStat(text: string): MachineCpu | undefined {
  const fields = /^cpu\s+(.+)$/m
    .exec(text)?.[1]
    ?.trim()
    .split(/\s+/)
    .map((n) => Number(n) * TICK_MS);
  if (!fields || fields.length < 8 || fields.slice(0, 8).some((n) => !Number.isFinite(n))) {
    return undefined;
  }
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return {
    busyMs: user + nice + system + irq + softirq,
    idleMs: idle + iowait,
    stealMs: steal,
    cores: text.match(/^cpu\d+\s/gm)?.length ?? 1,
  };
}

export function machineCpu(): MachineCpu | undefined {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

export function machineCpuDelta(
  before: MachineCpu | undefined,
  after: MachineCpu | undefined,
): MachineCpu | undefined {
  if (!before || !after) {
    return undefined;
  }
  return {
    busyMs: after.busyMs - before.busyMs,
    idleMs: after.idleMs - before.idleMs,
    stealMs: after.stealMs - before.stealMs,
    cores: after.cores,
  };
}

/**
 * The rate the machine's cores could sustain if all of them did this work at the CPU it cost per operation here
 * (every process: the app, PostgreSQL, the emulators, the bench's load, anything else on a shared host). A
 * throughput target above it cannot be met on this machine at today's CPU per operation, whatever the app's
 * concurrency; steal is left out, as it is neither work nor free.
 */
export function machineCeilingPerSecond(machine: MachineCpu, operations: number): number | undefined {
  if (operations <= 0 || machine.busyMs <= 0) {
    return undefined;
  }
  return (machine.cores * 1000 * operations) / machine.busyMs;
}
