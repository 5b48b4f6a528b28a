import { type RawBuilder, sql } from 'kysely';

/**
 * `CASE <column> WHEN <id> THEN <value> … [ELSE <otherwise>] END`: one value per row in a statement that writes
 * many rows (batched starts and outcomes).
 */
export function caseById<V>(column: string, arms: readonly (readonly [number, V])[], otherwise?: RawBuilder<unknown>): RawBuilder<V> {
  const whens = sql.join(
    arms.map(([id, value]) => sql`WHEN ${id} THEN ${value}`),
    sql` `,
  );
  return otherwise === undefined
    ? sql<V>`CASE ${sql.ref(column)} ${whens} END`
    : sql<V>`CASE ${sql.ref(column)} ${whens} ELSE ${otherwise} END`;
}
