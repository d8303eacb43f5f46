/** Runs after the clock jumped forward (a test clock); resolves when the listener's work is done. */
export type ClockAdvanceListener = (now: Date) => Promise<void>;

/**
 * Injectable time source so schedules, backoff and any test clock agree on "now". A clock that can jump
 * (the sandbox's, provided through `AppModule.forRoot(config, {clock})`) implements `onAdvance`, so
 * schedulers also act on the new time without waiting for their next tick.
 */
export abstract class Clock {
  abstract now(): Date;

  /** Registers a listener for time jumps; returns the unsubscribe function. Absent on a real clock. */
  onAdvance?(listener: ClockAdvanceListener, name: string): () => void;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}
