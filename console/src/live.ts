/**
 * What the live pages share: a `since` fixed when the page opens (a little before, so no move falls
 * between a page's query and its subscription), and a reload on each live message, at most one per
 * interval so a burst (a replay, a settings change) costs one query.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

/** An ISO-8601 time this long before the page opened; the same on every render. */
export function useSinceOpened(beforeMs: number): string {
  const [since] = useState(() => new Date(Date.now() - beforeMs).toISOString());
  return since;
}

/** Calls `reload` after each new value of `message` (null or undefined: none yet), at most once per interval. */
export function useReloadOn(message: unknown, reload: () => void, intervalMs = 500): void {
  const latest = useRef(reload);
  useEffect(() => {
    latest.current = reload;
  });
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  const reloadSoon = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, intervalMs);
  }, [intervalMs]);
  useEffect(() => {
    if (message !== null && message !== undefined) reloadSoon();
  }, [message, reloadSoon]);
}
