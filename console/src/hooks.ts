import { useCallback, useEffect, useState } from 'preact/hooks';

/** Loads once (and again on `reload`, or when `deps` change): the value, the error, and whether it is loading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { value: T | null; error: string | null; loading: boolean; reload: () => void } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then((v) => live && (setValue(v), setError(null)), (err: Error) => live && setError(err.message)).finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return { value, error, loading, reload: useCallback(() => setRound((r) => r + 1), []) };
}

/** Calls `fn` every `ms` while the page is shown. */
export function useEvery(ms: number, fn: () => void): void {
  useEffect(() => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  }, [ms]);
}
