/** The time as the bookkeeping tables store it: ISO 8601, UTC. */
export const now = (): string => new Date().toISOString();

/** Waits `ms`, or less if `signal` aborts meanwhile (it then resolves: the caller checks the signal). */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
