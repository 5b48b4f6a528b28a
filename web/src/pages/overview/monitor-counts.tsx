import { Link } from 'wouter';
import { useStats } from '../../api/queries';
import { ErrorNotice } from '../../components/error-notice';
import { formatCount } from '../../lib/format';

/** Monitors up, down and paused, and all tasks; each links to the task list filtered that way. */
export function MonitorCounts() {
  const stats = useStats();
  if (stats.isError) return <ErrorNotice error={stats.error} what="the totals" />;
  const t = stats.data?.totals;
  const tiles = [
    { label: 'Up', value: t?.up, tone: 'good', href: '/tasks?up=true' },
    { label: 'Down', value: t?.down, tone: (t?.down ?? 0) > 0 ? 'bad' : 'neutral', href: '/tasks?up=false' },
    { label: 'Paused', value: t?.paused, tone: 'warn', href: '/tasks?status=paused' },
    { label: 'Tasks', value: t?.created, tone: 'neutral', href: '/tasks' },
    { label: 'Running now', value: t?.running, tone: 'info', href: '/tasks?status=running' },
  ];
  return (
    <ul className="tiles" aria-label="Monitors">
      {tiles.map((tile) => (
        <li key={tile.label}>
          <Link href={tile.href} className={`tile ${tile.tone}`}>
            <span className="tile-value">{formatCount(tile.value)}</span>
            <span className="tile-label">{tile.label}</span>
          </Link>
        </li>
      ))}
    </ul>
  );
}
