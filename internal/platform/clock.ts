/** The source of "now". Injected everywhere time matters so that tests can control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to, for tests that drive services through `runOnce()`. */
export class ManualClock implements Clock {
  constructor(private current: number = Date.UTC(2030, 0, 1)) {}

  now(): number {
    return this.current;
  }

  /** Moves time forward (or back, with a negative step). */
  advance(ms: number): void {
    this.current += ms;
  }

  set(ms: number): void {
    this.current = ms;
  }
}
