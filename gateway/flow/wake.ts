import { Backoff } from '../backoff';

/** Cycles while notified rows are still above the horizon: often enough for a second of latency. */
const POLL_MS = 100;
/** The longest a woken flow waits before looking again at rows an open transaction holds back. */
const MAX_BACKOFF_MS = 5_000;

/**
 * Turns a notifying source's commit notifications into extraction cycles. A committed row becomes
 * readable once it is below the horizon, at most the engine's settle time after its commit: the
 * first notification is taken after that time, and while notifications keep coming or notified rows
 * are still held back, a cycle runs every 100 ms, so a steady stream of writes is never put off. Rows
 * held back by a long open transaction (no new notifications) are looked at again with back-off.
 * The flow's schedule stays the fallback for everything else (a lost notification, a reconnect).
 */
export class ChangeWaker {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** a notification came since the running (or last) cycle started */
  private notified = false;
  private readonly backoff = new Backoff(POLL_MS, MAX_BACKOFF_MS);

  /**
   * `take` runs a cycle and returns how many rows committed before it started it could not read yet.
   */
  constructor(
    private readonly settleMs: number,
    private readonly take: () => Promise<number>,
    private readonly signal: AbortSignal,
    private readonly onError: (err: unknown) => void,
  ) {}

  notify(): void {
    this.notified = true;
    if (!this.timer && !this.running) this.arm(this.settleMs);
  }

  private arm(delay: number): void {
    if (this.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, delay);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.running = true;
    this.notified = false;
    let heldBack = 0;
    try {
      heldBack = await this.take();
    } catch (err) {
      this.onError(err);
    } finally {
      this.running = false;
    }
    if (this.notified) {
      this.backoff.reset();
      this.arm(POLL_MS);
    } else if (heldBack > 0) {
      this.arm(this.backoff.next());
    } else {
      this.backoff.reset();
    }
  }
}
