import { Client } from 'pg';

/** Distinct statement texts given a name in this process; later ones run unnamed, as every statement did before. */
export const MAX_NAMED_STATEMENTS = 1_000;

/**
 * The pg client the pool creates when prepared statements are on (DATABASE_PREPARED_STATEMENTS): every statement
 * with parameters runs as a named prepared statement, parsed once per connection. Unnamed, PostgreSQL parses,
 * analyses and plans the same text on every execution; named, it binds and runs, and after five runs may keep a
 * generic plan (its standard rule). A 20,000-charge rebilling pass measured a quarter less PostgreSQL CPU per
 * charge (docs/performance-history.md, fifth pass). Texts are named in the order first seen (`s1`, `s2`, …), so a name
 * never stands for two texts, and capped, so SQL built with a varying shape cannot grow the server's statements
 * per session without bound. Statements without parameters (BEGIN, COMMIT) keep the simple protocol.
 */
export class PreparingClient extends Client {}

const names = new Map<string, string>();
const plannedEveryRun = new Set<string>();

/**
 * Marks a statement to run unnamed, so PostgreSQL plans it on every run with its values and the table as it is now.
 * For a join to a table that grows by a set of keys (`FROM unnest($1::uuid[]) … WHERE t.id = u.id`): a generic plan
 * made while the table was small or never analyzed is a hash join over a sequential scan, kept for the connection's
 * life while the table grows; the inbox's outcome write read the whole inbox on every batch
 * (docs/performance-history.md, seventeenth pass). A statement that reaches one row by key (`WHERE id = $1`) plans
 * an index scan at any size and stays named.
 */
export function plannedOnEveryRun(text: string): string {
  plannedEveryRun.add(text);
  return text;
}

function nameOf(text: string): string | undefined {
  if (plannedEveryRun.has(text)) {
    return undefined;
  }
  let name = names.get(text);
  if (name === undefined && names.size < MAX_NAMED_STATEMENTS) {
    name = `s${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

// pg's query() has many overloads; the one rewritten here is (text, values[, callback]), the form TypeORM uses
function namedQuery(this: Client, config: unknown, values?: unknown, callback?: unknown): unknown {
  // looked up on every call, so whatever wraps pg's own query() (the bench's and the tests' statement counters)
  // still sees each statement
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with this client as `this`
  const call = Client.prototype.query as (this: Client, ...args: unknown[]) => unknown;
  if (typeof config === 'string' && Array.isArray(values) && values.length > 0) {
    const name = nameOf(config);
    if (name !== undefined) {
      return call.call(this, { name, text: config, values }, callback);
    }
  }
  return call.call(this, config, values, callback);
}

PreparingClient.prototype.query = namedQuery as typeof Client.prototype.query;
