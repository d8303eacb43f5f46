/** Anything that runs SQL: a DataSource or an EntityManager. */
export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * TypeORM's postgres `query()` returns `[rows, rowCount]` for UPDATE/DELETE and plain rows otherwise;
 * this gives the rows either way.
 */
export function returnedRows<T>(result: unknown): T[] {
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return (Array.isArray(result) ? result : []) as T[];
}

/**
 * The rows of a grouped lookup (`unnest(…) WITH ORDINALITY`, the ordinal returned as `lookup`), one per lookup in
 * order: null where a lookup found nothing.
 */
export function rowsByLookup<Row extends { lookup: number }>(
  rows: readonly Row[],
  lookups: number,
): (Row | null)[] {
  const found: (Row | null)[] = Array.from({ length: lookups }, () => null);
  for (const row of rows) {
    found[row.lookup - 1] = row;
  }
  return found;
}
