import { useEffect, useState } from 'react';

/** A countdown started at some moment: `id` tells one countdown from the next. */
export interface CountdownStart {
  id: number;
  seconds: number;
}

/**
 * useCountdown returns the whole seconds left of `start`, one less every
 * second, and 0 once it has run out or when there is none.
 */
export function useCountdown(start: CountdownStart | null): number {
  const [elapsed, setElapsed] = useState<{ id: number; n: number }>({ id: -1, n: 0 });
  useEffect(() => {
    if (start === null) return;
    let n = 0;
    const timer = window.setInterval(() => {
      n++;
      setElapsed({ id: start.id, n });
      if (n >= start.seconds) window.clearInterval(timer);
    }, 1000);
    return () => window.clearInterval(timer);
  }, [start]);
  if (start === null) return 0;
  return Math.max(0, start.seconds - (elapsed.id === start.id ? elapsed.n : 0));
}
