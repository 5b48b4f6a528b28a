import type { Queue } from '../../api/client';
import { Card } from '../../components/card';
import { formatCount, formatDuration } from '../../lib/format';

type Stream = NonNullable<Queue['streams']>[number];

/** One row per priority stream, with its consumers and how long each has been idle. */
export function StreamTable({ streams, totals }: { streams: readonly Stream[]; totals: Queue['totals'] }) {
  return (
    <Card title="Streams">
      <div className="table-wrap">
        <table className="table">
          <caption className="sr-only">Streams by priority</caption>
          <thead>
            <tr>
              <th scope="col">Stream</th>
              <th scope="col" className="num">Length</th>
              <th scope="col" className="num">Pending</th>
              <th scope="col" className="num">Lag</th>
              <th scope="col" className="num">Oldest pending</th>
              <th scope="col">Consumers (pending, idle)</th>
            </tr>
          </thead>
          <tbody>
            {streams.map((s) => (
              <tr key={s.stream}>
                <th scope="row">
                  <span className="mono">{s.stream}</span> <span className="muted small">priority {s.priority}</span>
                </th>
                <td className="num">{formatCount(s.length)}</td>
                <td className="num">{formatCount(s.pending)}</td>
                <td className="num">{formatCount(s.lag)}</td>
                <td className="num">{formatDuration(s.oldest_pending_age_ms)}</td>
                <td>
                  {s.consumers.length === 0 ? (
                    <span className="muted">none</span>
                  ) : (
                    <ul className="plain-list small">
                      {s.consumers.map((c) => (
                        <li key={c.name}>
                          <span className="mono">{c.name}</span>: {formatCount(c.pending)} pending, idle {formatDuration(c.idle_ms)}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
          {totals !== undefined && (
            <tfoot>
              <tr>
                <th scope="row">All streams</th>
                <td className="num">{formatCount(totals.length)}</td>
                <td className="num">{formatCount(totals.pending)}</td>
                <td className="num">{formatCount(totals.lag)}</td>
                <td className="num">{formatDuration(totals.oldest_pending_age_ms)}</td>
                <td />
              </tr>
            </tfoot>
          )}
        </table>
      </div>
    </Card>
  );
}
