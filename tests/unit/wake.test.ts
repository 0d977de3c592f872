import { ChangeWaker } from '../../gateway/flow/wake';

/** Cycle start times (fake ms) of a waker whose cycles take `cycleMs` and report `heldBack()` rows left. */
function harness(cycleMs: number, heldBack: () => number = () => 0) {
  const starts: number[] = [];
  const abort = new AbortController();
  const waker = new ChangeWaker(300, async () => {
    starts.push(Date.now());
    if (cycleMs) await new Promise((r) => setTimeout(r, cycleMs));
    return heldBack();
  }, abort.signal, (err) => {
    throw err;
  });
  return { starts, waker, abort };
}

describe('change wake-ups', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('takes a notification once its rows are past the settle time, and only once', async () => {
    const { starts, waker } = harness(50);
    waker.notify();
    waker.notify();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(starts).toEqual([300]);
  });

  it('keeps cycling under a steady stream of notifications instead of putting it off', async () => {
    const { starts, waker, abort } = harness(50);
    const stream = setInterval(() => waker.notify(), 1);
    await jest.advanceTimersByTimeAsync(2_000);
    clearInterval(stream);
    abort.abort();
    // one cycle every 50 ms of work + 100 ms: a notification never waits much more than the settle time
    expect(starts.length).toBeGreaterThanOrEqual(12);
    expect(starts[0]).toBe(301);
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeLessThanOrEqual(150);
  });

  it('looks again, backing off, at rows an open transaction holds back, and stops once they are taken', async () => {
    let held = 4;
    const { starts, waker } = harness(0, () => (held > 0 ? held-- : 0));
    waker.notify();
    await jest.advanceTimersByTimeAsync(60_000);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]);
    expect(gaps).toEqual([100, 200, 400, 800]);
  });
});
