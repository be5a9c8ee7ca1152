/** A callback that runs at most once per interval: calls made meanwhile run once, at its end. */
import { useCallback, useEffect, useRef } from 'react';

export function useThrottled(run: () => void, intervalMs: number): () => void {
  const latest = useRef(run);
  useEffect(() => {
    latest.current = run;
  });
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  return useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, intervalMs);
  }, [intervalMs]);
}
