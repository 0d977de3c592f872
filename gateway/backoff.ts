import { sleep } from './time';

/**
 * Exponential back-off: each delay twice the one before, from `first` up to `max`, until `reset`.
 * The one way every retry loop in the gateway waits.
 */
export class Backoff {
  private current = 0;

  constructor(private readonly first: number, private readonly max: number) {}

  /** The next delay (the first one after a reset is `first`). */
  next(): number {
    this.current = Math.min(Math.max(2 * this.current, this.first), this.max);
    return this.current;
  }

  reset(): void {
    this.current = 0;
  }

  /** Waits the next delay, or less if `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void> {
    return sleep(this.next(), signal);
  }
}
