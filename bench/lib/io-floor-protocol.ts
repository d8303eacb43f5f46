/** Messages between the bench and the I/O floor's subject process (IPC). */
export type FloorRequest =
  | { type: 'cpu'; id: number }
  | { type: 'outgoing'; id: number; url: string; count: number; concurrency: number }
  | { type: 'statements'; id: number; databaseUrl: string; count: number; concurrency: number };

export type FloorReply =
  | { type: 'ready'; id: 0; port: number }
  /** the subject's CPU time (user + system) when it answered */
  | { type: 'done'; id: number; failed: number; cpuUs: number }
  | { type: 'error'; id: number; error: string };
