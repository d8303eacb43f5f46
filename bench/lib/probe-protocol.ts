/** Messages between the bench and the probe in the app process (IPC). */
export interface ProbeRequest {
  /** probe: counters now; profile-start/-stop: CPU profile of a phase (then the counters) */
  type: 'probe' | 'profile-start' | 'profile-stop';
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
