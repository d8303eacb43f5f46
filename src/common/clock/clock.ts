/** Injectable time source so schedules, backoff and the sandbox test clock agree on "now". */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** Sandbox test clock only: moves "now" forward for every consumer of the clock. */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
