import { useState } from 'react';
import type { Run } from '../../api/client';
import { RunStatusBadge } from '../../components/badges';
import { Card } from '../../components/card';
import { ErrorNotice } from '../../components/error-notice';
import { LiveTime } from '../../components/live-time';
import { formatDuration } from '../../lib/format';

/** Rows shown at first, and added by each "Older runs". */
const ROWS_STEP = 15;

interface RunHistoryProps {
  runs: readonly Run[];
  loading: boolean;
  error: unknown;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore(): void;
}

/** Every attempt, newest first: status, source, attempt, times, duration, and its error or output. */
export function RunHistory({ runs, loading, error, hasMore, loadingMore, onLoadMore }: RunHistoryProps) {
  const [shown, setShown] = useState(ROWS_STEP);
  const visible = runs.slice(0, shown);
  return (
    <Card title="Run history">
      {error !== null && error !== undefined && <ErrorNotice error={error} what="the run history" />}
      <div className="table-wrap">
        <table className="table" aria-busy={loading}>
          <caption className="sr-only">Runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Status</th>
              <th scope="col">Result</th>
              <th scope="col">Started</th>
              <th scope="col" className="num">Duration</th>
              <th scope="col" className="col-optional">Source</th>
              <th scope="col" className="col-optional">Attempt</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((run) => (
              <tr key={run.id}>
                <th scope="row">#{run.id}</th>
                <td>
                  <RunStatusBadge status={run.status} />
                </td>
                <td>{resultOf(run)}</td>
                <td>
                  <LiveTime iso={run.started_at} />
                </td>
                <td className="num">{run.status === 'running' ? '…' : formatDuration(run.duration_ms)}</td>
                <td className="col-optional">{run.source}</td>
                <td className="col-optional">{run.attempt}</td>
                <td className="details-cell">
                  {run.error !== null && <span className="error-text">{run.error}</span>}
                  {run.output !== null && run.output !== undefined && (
                    <details>
                      <summary>output</summary>
                      <pre className="mono code">{JSON.stringify(run.output, null, 2)}</pre>
                    </details>
                  )}
                </td>
              </tr>
            ))}
            {!loading && runs.length === 0 && (
              <tr>
                <td colSpan={8} className="empty">
                  No run yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {(runs.length > shown || hasMore) && (
        <button
          type="button"
          disabled={loadingMore}
          onClick={() => {
            setShown((n) => n + ROWS_STEP);
            if (runs.length <= shown + ROWS_STEP && hasMore) onLoadMore();
          }}
        >
          {loadingMore ? 'Loading…' : 'Older runs'}
        </button>
      )}
    </Card>
  );
}

/** A check's verdict in a few words: `up 200`, `down: status 503`. */
function resultOf(run: Run): string {
  const output = run.output as { up?: unknown; status_code?: unknown; reason?: unknown } | null;
  if (output === null || typeof output !== 'object' || typeof output.up !== 'boolean') return run.status === 'running' ? 'running' : '—';
  const code = typeof output.status_code === 'number' ? ` ${output.status_code}` : '';
  if (output.up) return `up${code}`;
  return `down${typeof output.reason === 'string' ? `: ${output.reason}` : code}`;
}
