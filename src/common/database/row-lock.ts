import { EntityManager, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * `SELECT * ... WHERE id = $1 FOR UPDATE`, mapped to the entity through its metadata (column names and
 * transformers). The rebilling hot path locks two rows per charge; this is one plain statement each instead of
 * the query builder's work.
 */
export async function lockById<T extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<T>,
  id: string,
): Promise<T | null> {
  const metadata = manager.connection.getMetadata(target);
  const rows: Record<string, unknown>[] = await manager.query(
    `SELECT * FROM ${metadata.tableName} WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const row = rows[0];
  return row ? rowToEntity<T>(metadata, row) : null;
}

/** A raw row (`SELECT *` / `RETURNING *`) as the entity: column names and transformers from its metadata. */
export function rowToEntity<T extends ObjectLiteral>(
  metadata: EntityMetadata,
  row: Record<string, unknown>,
): T {
  const entity = metadata.create() as T;
  for (const column of metadata.columns) {
    const raw = row[column.databaseName];
    const transformer = column.transformer;
    column.setEntityValue(entity, transformer && !Array.isArray(transformer) ? transformer.from(raw) : raw);
  }
  return entity;
}
