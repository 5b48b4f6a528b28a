import type { Run } from '../../api/client';
import { Card } from '../../components/card';
import { LiveTime } from '../../components/live-time';

interface NewItemsOutput {
  new_items?: { count?: number; first?: unknown[] };
}

/** The new items the recent runs found (feeds, listings), newest first. */
export function NewItems({ runs }: { runs: readonly Run[] }) {
  const found = runs.flatMap((run) => {
    const items = (run.output as NewItemsOutput | null)?.new_items;
    return items !== undefined && (items.count ?? 0) > 0 ? [{ run, count: items.count ?? 0, first: items.first ?? [] }] : [];
  });
  return (
    <Card title="New items found">
      {found.length === 0 ? (
        <p className="muted">None in the runs shown. A check finds new items when its payload names an array of items.</p>
      ) : (
        <ul className="plain-list">
          {found.map(({ run, count, first }) => (
            <li key={run.id}>
              <strong>{count}</strong> new in run #{run.id}, <LiveTime iso={run.started_at} />
              <ul className="items">
                {first.map((item, i) => (
                  <li key={i} className="mono small">
                    {describeItem(item)}
                  </li>
                ))}
                {count > first.length && <li className="muted small">and {count - first.length} more</li>}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function describeItem(item: unknown): string {
  if (item !== null && typeof item === 'object') {
    const o = item as Record<string, unknown>;
    const title = o.title ?? o.name ?? o.id;
    if (typeof title === 'string' || typeof title === 'number') return String(title);
  }
  const text = JSON.stringify(item);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
