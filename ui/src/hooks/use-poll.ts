import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ApiError, toApiError } from '../lib/errors.ts';

export interface PollState<T> {
  data: T | undefined;
  /** the last failure; cleared by the next success (the last good data stays shown) */
  error: ApiError | undefined;
  /** when data last arrived (ms since epoch) */
  updatedAt: number | undefined;
  /** fetch now (after an action), without waiting for the next tick */
  refresh: () => void;
}

/**
 * Runs `load` at once and then every `intervalMs`, one request at a time. A
 * tick that finds a request in flight is skipped; a `refresh()` that does is
 * queued, so what an action changed is always fetched after the action. The
 * signal passed to `load` aborts on unmount. Pass a stable `load` (useCallback).
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number): PollState<T> {
  const [state, setState] = useState<Omit<PollState<T>, 'refresh'>>({ data: undefined, error: undefined, updatedAt: undefined });
  const inFlight = useRef(false);
  const queued = useRef(false);
  const controller = useRef<AbortController | null>(null);
  const runRef = useRef<(queueIfBusy: boolean) => void>(() => undefined);

  // the latest `load` is captured after each render, never during it
  useLayoutEffect(() => {
    runRef.current = (queueIfBusy: boolean) => {
      if (inFlight.current) {
        if (queueIfBusy) queued.current = true;
        return;
      }
      inFlight.current = true;
      const ac = new AbortController();
      controller.current = ac;
      load(ac.signal)
        .then((data) => {
          if (!ac.signal.aborted) setState({ data, error: undefined, updatedAt: Date.now() });
        })
        .catch((err: unknown) => {
          const error = toApiError(err);
          if (!ac.signal.aborted && error.code !== 'ABORTED') setState((prev) => ({ ...prev, error }));
        })
        .finally(() => {
          if (ac.signal.aborted) return;
          inFlight.current = false;
          if (queued.current) {
            queued.current = false;
            runRef.current(false);
          }
        });
    };
  });

  useEffect(() => {
    runRef.current(false);
    const timer = setInterval(() => runRef.current(false), intervalMs);
    return () => {
      clearInterval(timer);
      controller.current?.abort();
      inFlight.current = false;
      queued.current = false;
    };
  }, [load, intervalMs]);

  const refresh = useCallback(() => runRef.current(true), []);
  return { ...state, refresh };
}
