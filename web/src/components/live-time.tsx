import { useEffect, useState } from 'react';
import { formatDateTime, formatRelative } from '../lib/format';

/** The current time, updated every `intervalMs`, so that "3 s ago" keeps counting between fetches. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** A time shown relative to now ("in 5 s", "2 min ago"), with the absolute time on hover and for screen readers. */
export function LiveTime({ iso }: { iso: string | null | undefined }) {
  const now = useNow();
  if (iso === null || iso === undefined) return <span>—</span>;
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {formatRelative(iso, now)}
    </time>
  );
}
