/** Messages between the bench and the probe in the app process (IPC). */
export interface ProbeRequest {
  /**
   * probe: counters now; profile-start/-stop: CPU profile of a phase (then the counters); latency-start/-stop: the
   * app's own view of a phase's requests (then the counters, with `serverLatency` on the stop)
   */
  type: 'probe' | 'profile-start' | 'profile-stop' | 'latency-start' | 'latency-stop';
  id: number;
  /** profile-stop: where to write the .cpuprofile */
  file?: string;
}

export interface ProbeReply {
  type: 'probe-reply';
  id: number;
  /** SQL statements sent through pg.Client#query since the app started */
  queries: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  rssBytes: number;
  heapUsed: number;
  /** set when a profile-start/-stop failed */
  error?: string;
  /** latency-stop: what the app saw between latency-start and latency-stop */
  serverLatency?: ServerLatency;
}

/**
 * A phase as the app saw it: each HTTP request from the server's `request` event (headers parsed) to its answer
 * handed to the socket (`finish`), the event loop's delay and the collector's pauses. What a client measures beyond
 * this was spent outside the request's handling: waiting to be read, or in the client itself.
 */
export interface ServerLatency {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  gcPauses: number;
  gcPauseTotalMs: number;
  gcPauseMaxMs: number;
}

/** What the app did between two probes. */
export interface ProbeDelta {
  queries: number;
  cpuMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  wallMs: number;
  rssEndMb: number;
}

export interface ProbeSample extends ProbeReply {
  at: number;
}

export function probeDelta(before: ProbeSample, after: ProbeSample): ProbeDelta {
  const user = (after.cpuUserUs - before.cpuUserUs) / 1000;
  const system = (after.cpuSystemUs - before.cpuSystemUs) / 1000;
  return {
    queries: after.queries - before.queries,
    cpuMs: user + system,
    cpuUserMs: user,
    cpuSystemMs: system,
    wallMs: after.at - before.at,
    rssEndMb: Math.round(after.rssBytes / 1024 / 102.4) / 10,
  };
}
