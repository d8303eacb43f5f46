import { EntityManager, EntityMetadata } from 'typeorm';
import { returnedRows } from '../common/database/query-result';
import { insertOutboxMessagesFrom, OUTBOX_INSERT_COLUMNS } from '../outbox/outbox.service';
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
  /** the column's SQL type (the element type of a grouped statement's array) */
  sqlType: string;
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
      sqlType: metadata.connection.driver.normalizeType(found),
    };
    columns.set(property, column);
  }
  return column;
}

function storedValue(column: WritableColumn, value: unknown): unknown {
  const stored: unknown = column.to ? column.to(value) : value;
  // the driver would send a JS array as a PostgreSQL array literal: jsonb gets JSON text
  return column.jsonb && stored !== null ? JSON.stringify(stored) : stored;
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
    params.push(storedValue(column, value));
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

/** A row's changes, applied only if the row is still the version (`xmin`) the caller read. */
export interface VersionedChange {
  id: string;
  version: string;
  /** the same properties in every write of one statement (undefined = unchanged) */
  changes: Readonly<Record<string, unknown>>;
}

/** One attempt and its subscription, and the outbox message written with them (its `columnValues`), if any. */
export interface PairWrite {
  attempt: VersionedChange;
  subscription: VersionedChange;
  message?: readonly unknown[];
}

/** `changes` as columns of a grouped statement: one typed array parameter per property, `"column" = i.<alias>`. */
function groupedColumns(
  metadata: EntityMetadata,
  rows: readonly Readonly<Record<string, unknown>>[],
  alias: string,
  params: unknown[],
): { arrays: string[]; names: string[]; set: string } {
  const changed = (changes: Readonly<Record<string, unknown>>): string[] =>
    Object.keys(changes).filter((property) => changes[property] !== undefined);
  const properties = changed(rows[0] ?? {});
  if (rows.some((changes) => changed(changes).join() !== properties.join())) {
    throw new Error(`grouped ${metadata.tableName} write: every row must change the same properties`);
  }
  const arrays: string[] = [];
  const names: string[] = [];
  const assignments: string[] = [];
  properties.forEach((property, i) => {
    const column = writableColumn(metadata, property);
    params.push(rows.map((changes) => storedValue(column, changes[property])));
    arrays.push(`$${params.length}::${column.sqlType}[]`);
    names.push(`${alias}${i}`);
    assignments.push(`"${column.databaseName}" = i.${alias}${i}`);
  });
  if (metadata.updateDateColumn) {
    assignments.push(`"${metadata.updateDateColumn.databaseName}" = now()`);
  }
  return { arrays, names, set: assignments.join(', ') };
}

/**
 * Attempts and their subscriptions' changes (and an outbox message each, e.g. the Cleeng report), for several
 * charges in one statement and one transaction. Each pair is written only if both its rows are still the versions
 * (`xmin`) the caller read, all of the pair or nothing: any change since (a notification, a cancel, another
 * instance's lease) fails that pair's condition, and the others are written. Subscriptions are locked in id order,
 * each before its attempt (the order every writer keeps). Per write: whether it was written.
 */
export async function updateAttemptsAndSubscriptionsIfUnchanged(
  db: EntityManager,
  writes: readonly PairWrite[],
): Promise<boolean[]> {
  if (writes.length === 0) {
    return [];
  }
  const params: unknown[] = [
    writes.map((w) => w.attempt.id),
    writes.map((w) => w.attempt.version),
    writes.map((w) => w.subscription.id),
    writes.map((w) => w.subscription.version),
  ];
  const attempt = groupedColumns(
    db.connection.getMetadata(RebillAttemptEntity),
    writes.map((w) => w.attempt.changes),
    'a',
    params,
  );
  const subscription = groupedColumns(
    db.connection.getMetadata(ConnectorSubscriptionEntity),
    writes.map((w) => w.subscription.changes),
    's',
    params,
  );
  const messageArrays = OUTBOX_INSERT_COLUMNS.map(([, type], column) => {
    params.push(writes.map((w) => w.message?.[column] ?? null));
    return `$${params.length}::${type}[]`;
  });
  const rows = returnedRows<{ id: string }>(
    await db.query(
      `WITH input AS (
         SELECT * FROM unnest($1::uuid[], $2::xid[], $3::uuid[], $4::xid[], ${[
           ...attempt.arrays,
           ...subscription.arrays,
           ...messageArrays,
         ].join(', ')})
           AS i(attempt_id, attempt_version, subscription_id, subscription_version, ${[
             ...attempt.names,
             ...subscription.names,
             ...OUTBOX_INSERT_COLUMNS.map(([name]) => `m_${name}`),
           ].join(', ')})),
       locked AS (
         SELECT s.id FROM connector_subscriptions s
           JOIN input i ON s.id = i.subscription_id AND s.xmin = i.subscription_version
          ORDER BY s.id FOR UPDATE OF s),
       attempt AS (
         UPDATE rebill_attempts a SET ${attempt.set}
           FROM input i JOIN locked l ON l.id = i.subscription_id
          WHERE a.id = i.attempt_id AND a.subscription_id = i.subscription_id AND a.xmin = i.attempt_version
          RETURNING a.subscription_id),
       changed AS (
         UPDATE connector_subscriptions s SET ${subscription.set}
           FROM input i JOIN attempt t ON t.subscription_id = i.subscription_id
          WHERE s.id = i.subscription_id RETURNING s.id),
       report AS (${insertOutboxMessagesFrom('input i JOIN changed c ON c.id = i.subscription_id', 'i.m_')})
       SELECT id FROM changed`,
      params,
    ),
  );
  const written = new Set(rows.map((r) => r.id));
  return writes.map((w) => written.has(w.subscription.id));
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
