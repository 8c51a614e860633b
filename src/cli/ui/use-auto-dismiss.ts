import { useEffect } from 'react';

/**
 * Calls `dismiss` `afterMs` after `token` became non-null (a notice that goes away by
 * itself); a new token starts the time again.
 */
export function useAutoDismiss(token: unknown, afterMs: number, dismiss: () => void): void {
  useEffect(() => {
    if (token === null || token === undefined || token === false) return;
    const timer = setTimeout(dismiss, afterMs);
    return () => clearTimeout(timer);
  }, [token, afterMs, dismiss]);
}
