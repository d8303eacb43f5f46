/**
 * Loaded into the APP process by the benchmark (`node --require dist/bench/lib/app-probe.js dist/src/main.js`):
 * counts every SQL statement the app sends through the pg driver (BEGIN/COMMIT included) and answers the
 * bench's `probe` messages over the IPC channel with that count, the process's CPU time and its memory.
 * It only counts and answers; it changes nothing the app does. No import of the app's code.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type { ProbeReply, ProbeRequest } from './probe-protocol';
import { latencyStart, latencyStop, timeServerRequests } from './server-latency';

let queries = 0;

function patchPg(): void {
  // the app's own pg (same node_modules): every pooled connection is a pg.Client
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as { Client: { prototype: { query: (...args: unknown[]) => unknown } } };
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function countedQuery(this: unknown, ...args: unknown[]): unknown {
    queries += 1;
    return original.apply(this, args);
  };
}

function snapshot(id: number): ProbeReply {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    type: 'probe-reply',
    id,
    queries,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rssBytes: memory.rss,
    heapUsed: memory.heapUsed,
  };
}

function isProbeRequest(message: unknown): message is ProbeRequest {
  const m = message as Partial<ProbeRequest> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    ['probe', 'profile-start', 'profile-stop', 'latency-start', 'latency-stop'].includes(m.type ?? '') &&
    typeof m.id === 'number'
  );
}

/**
 * CPU profile of the measured phase only (what `node --cpu-prof` records, without start-up and warm-up):
 * the V8 sampling profiler through the inspector, written as a .cpuprofile on `profile-stop`.
 */
let session: Session | undefined;

function post(method: string, params?: object): Promise<unknown> {
  return new Promise((ok, fail) => {
    session?.post(method, params ?? {}, (err: Error | null, result?: unknown) =>
      err ? fail(err) : ok(result),
    );
  });
}

async function profileStart(): Promise<void> {
  session ??= new Session();
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 1000 });
  await post('Profiler.start');
}

async function profileStop(file: string): Promise<void> {
  const result = (await post('Profiler.stop')) as { profile: unknown };
  writeFileSync(file, JSON.stringify(result.profile));
  await post('Profiler.disable');
  session?.disconnect();
}

async function handle(message: ProbeRequest): Promise<ProbeReply> {
  if (message.type === 'profile-start') {
    await profileStart();
  } else if (message.type === 'profile-stop') {
    await profileStop(message.file ?? 'app.cpuprofile');
  } else if (message.type === 'latency-start') {
    latencyStart();
  } else if (message.type === 'latency-stop') {
    const serverLatency = latencyStop();
    return { ...snapshot(message.id), ...(serverLatency ? { serverLatency } : {}) };
  }
  return snapshot(message.id);
}

if (typeof process.send === 'function') {
  patchPg();
  timeServerRequests();
  process.on('message', (message: unknown) => {
    if (isProbeRequest(message)) {
      handle(message).then(
        (reply) => process.send?.(reply),
        (err: unknown) => process.send?.({ ...snapshot(message.id), error: String(err) }),
      );
    }
  });
  // the IPC channel must not keep a stopping app alive
  process.channel?.unref();
}
