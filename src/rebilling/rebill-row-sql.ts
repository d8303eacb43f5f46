import { EntityManager, EntityMetadata } from 'typeorm';
import { returnedRows } from '../common/database/query-result';
import { rowToEntity } from '../common/database/row-lock';
import { ConnectorSubscriptionEntity } from '../subscriptions/subscription.entity';
import { RebillAttemptEntity } from './rebill-attempt.entity';

/**
 * Plain SQL for the rebilling hot path (one charge = one claim share, one lock, one write): the ORM's query
 * builder and entity hydration cost more CPU per charge than the statements themselves. Column names and
 * value conversions still come from the entities' metadata, so the entities stay the one description.
 */

/** The column a claim or an insert returns the row's version (`xmin`) in. */
export const ROW_VERSION = 'row_version';

interface WritableColumn {
  databaseName: string;
  to: ((value: unknown) => unknown) | undefined;
  jsonb: boolean;
}

const writableColumns = new WeakMap<EntityMetadata, Map<string, WritableColumn>>();

/** How a property is written: its column, transformer and whether it is jsonb (cached per entity and property). */
function writableColumn(metadata: EntityMetadata, property: string): WritableColumn {
  let columns = writableColumns.get(metadata);
  if (columns === undefined) {
    columns = new Map();
    writableColumns.set(metadata, columns);
  }
  let column = columns.get(property);
  if (column === undefined) {
    const found = metadata.findColumnWithPropertyName(property);
    if (!found) {
      throw new Error(`${metadata.tableName} has no column for property ${property}`);
    }
    const transformer =
      found.transformer && !Array.isArray(found.transformer) ? found.transformer : undefined;
    column = {
      databaseName: found.databaseName,
      to: transformer ? (value: unknown): unknown => transformer.to(value) : undefined,
      jsonb: found.type === 'jsonb',
    };
    columns.set(property, column);
  }
  return column;
}

/** `"column" = $n, ...` for the changed properties (undefined = unchanged), plus `updated_at = now()`. */
export function setClause(
  metadata: EntityMetadata,
  changes: Readonly<Record<string, unknown>>,
  params: unknown[],
): string {
  const assignments: string[] = [];
  for (const [property, value] of Object.entries(changes)) {
    if (value === undefined) {
      continue;
    }
    const column = writableColumn(metadata, property);
    const stored: unknown = column.to ? column.to(value) : value;
    // the driver would send a JS array as a PostgreSQL array literal: jsonb gets JSON text
    params.push(column.jsonb && stored !== null ? JSON.stringify(stored) : stored);
    assignments.push(`"${column.databaseName}" = $${params.length}`);
  }
  if (metadata.updateDateColumn) {
    assignments.push(`"${metadata.updateDateColumn.databaseName}" = now()`);
  }
  return assignments.join(', ');
}

/**
 * The attempt's and the subscription's changes in one statement (a data-modifying CTE): both rows are locked
 * by the caller's transaction, so this is the same write as two UPDATEs, in one round trip.
 */
export async function updateAttemptAndSubscription(
  manager: EntityManager,
  attempt: { id: string; changes: Readonly<Record<string, unknown>> },
  subscription: { id: string; changes: Readonly<Record<string, unknown>> },
): Promise<void> {
  const params: unknown[] = [attempt.id, subscription.id];
  const attemptSet = setClause(manager.connection.getMetadata(RebillAttemptEntity), attempt.changes, params);
  const subscriptionSet = setClause(
    manager.connection.getMetadata(ConnectorSubscriptionEntity),
    subscription.changes,
    params,
  );
  await manager.query(
    `WITH attempt AS (UPDATE rebill_attempts SET ${attemptSet} WHERE id = $1)
     UPDATE connector_subscriptions SET ${subscriptionSet} WHERE id = $2`,
    params,
  );
}

/**
 * The attempt's and the subscription's changes (and an outbox message, e.g. the Cleeng report) in one statement
 * and one transaction, applied only if both rows are still the versions (`xmin`) the caller read: any change since
 * (a notification, a cancel, another instance's lease) fails the condition, and nothing is written. The
 * subscription's row is locked before the attempt's, the order every writer keeps. True when written.
 */
export async function updateAttemptAndSubscriptionIfUnchanged(
  db: EntityManager,
  attempt: { id: string; version: string; changes: Readonly<Record<string, unknown>> },
  subscription: { id: string; version: string; changes: Readonly<Record<string, unknown>> },
  message?: (firstParam: number, from: string) => { sql: string; params: unknown[] },
): Promise<boolean> {
  const params: unknown[] = [attempt.id, subscription.id, attempt.version, subscription.version];
  const attemptSet = setClause(db.connection.getMetadata(RebillAttemptEntity), attempt.changes, params);
  const subscriptionSet = setClause(
    db.connection.getMetadata(ConnectorSubscriptionEntity),
    subscription.changes,
    params,
  );
  const insert = message?.(params.length + 1, 'changed');
  const rows = returnedRows(
    await db.query(
      `WITH locked AS (
         SELECT id FROM connector_subscriptions WHERE id = $2 AND xmin = $4::xid FOR UPDATE),
       attempt AS (
         UPDATE rebill_attempts SET ${attemptSet} FROM locked
          WHERE rebill_attempts.id = $1 AND rebill_attempts.subscription_id = locked.id
            AND rebill_attempts.xmin = $3::xid
          RETURNING rebill_attempts.id),
       changed AS (
         UPDATE connector_subscriptions SET ${subscriptionSet} FROM attempt
          WHERE connector_subscriptions.id = $2 RETURNING connector_subscriptions.id)
       ${insert ? `, report AS (${insert.sql})` : ''}
       SELECT id FROM changed`,
      insert ? [...params, ...insert.params] : params,
    ),
  );
  return rows.length > 0;
}

const selectLists = new WeakMap<EntityMetadata, string>();

/** `alias."column" AS "alias.column", ...` for every column of the entity (cached per entity). */
function selectList(metadata: EntityMetadata, alias: string): string {
  let list = selectLists.get(metadata);
  if (list === undefined) {
    list = metadata.columns
      .map((c) => `${alias}."${c.databaseName}" AS "${alias}.${c.databaseName}"`)
      .join(', ');
    selectLists.set(metadata, list);
  }
  return list;
}

function unprefixed(row: Record<string, unknown>, alias: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const prefix = `${alias}.`;
  for (const [key, value] of Object.entries(row)) {
    if (key.startsWith(prefix)) {
      out[key.slice(prefix.length)] = value;
    }
  }
  return out;
}

/**
 * The subscription and its attempt, fresh and locked for this transaction, in one statement. `FOR UPDATE OF s, a`
 * locks the subscription's row before the attempt's (the row marks are taken in that order), the order every
 * writer of these two tables keeps. Null when either row is gone.
 */
export async function lockSubscriptionAndAttempt(
  manager: EntityManager,
  subscriptionId: string,
  attemptId: string,
): Promise<{ sub: ConnectorSubscriptionEntity; attempt: RebillAttemptEntity } | null> {
  const subMetadata = manager.connection.getMetadata(ConnectorSubscriptionEntity);
  const attemptMetadata = manager.connection.getMetadata(RebillAttemptEntity);
  const rows: Record<string, unknown>[] = await manager.query(
    `SELECT ${selectList(subMetadata, 's')}, ${selectList(attemptMetadata, 'a')}
       FROM connector_subscriptions s, rebill_attempts a
      WHERE s.id = $1 AND a.id = $2 AND a.subscription_id = s.id
      FOR UPDATE OF s, a`,
    [subscriptionId, attemptId],
  );
  const row = rows[0];
  if (!row) {
    return null;
  }
  return {
    sub: rowToEntity<ConnectorSubscriptionEntity>(subMetadata, unprefixed(row, 's')),
    attempt: rowToEntity<RebillAttemptEntity>(attemptMetadata, unprefixed(row, 'a')),
  };
}
