import { useHealth } from '../../api/queries';
import { HealthBadge } from '../../components/badges';
import { Card } from '../../components/card';
import { ErrorNotice } from '../../components/error-notice';

const MODE_WORDS = { redis_streams: 'Redis Streams (redis_streams)', db_polling: 'database polling (db_polling)' } as const;

/** `/healthz`: status, the scheduler's mode, the store and Redis, and why it is degraded. */
export function HealthPanel() {
  const health = useHealth();
  const h = health.data;
  return (
    <Card title="Health" actions={h && <HealthBadge status={h.status} />}>
      {health.isError && <ErrorNotice error={health.error} what="health" />}
      {h && (
        <>
          <dl className="facts">
            <dt>Mode</dt>
            <dd>{MODE_WORDS[h.mode]}</dd>
            <dt>Store</dt>
            <dd>
              {h.store.driver} {h.store.ok ? 'answers' : 'is down'}
            </dd>
            <dt>Redis</dt>
            <dd>{!h.redis.configured ? 'not configured' : h.redis.ok ? 'answers' : 'is down'}</dd>
          </dl>
          {h.reasons.length > 0 && (
            <ul className="reasons" aria-label="Why it is degraded">
              {h.reasons.map((reason) => (
                <li key={reason}>{reason}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </Card>
  );
}
