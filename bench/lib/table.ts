/** Plain-text tables for benchmark output: numbers right-aligned, text left-aligned, NaN shown as "-". */

export type Cell = string | number | boolean | null | undefined;

export interface TableOptions {
  title?: string;
  /** decimals for non-integer numbers (default 1) */
  digits?: number;
  /** per-column alignment; by default numeric columns go right, the rest left */
  align?: readonly ('left' | 'right')[];
}

export function formatCell(value: Cell, digits = 1): string {
  if (value === null || value === undefined) {
    return '-';
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return '-';
    }
    return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  }
  if (typeof value === 'boolean') {
    return value ? 'yes' : 'no';
  }
  return value;
}

/** Renders rows under a header; each column is as wide as its widest cell. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  options: TableOptions = {},
): string {
  const digits = options.digits ?? 1;
  const text = rows.map((row) => headers.map((_, i) => formatCell(row[i], digits)));
  // a column is numeric (right-aligned) when every non-empty cell in it is a number
  const right = headers.map((_, i) => {
    const forced = options.align?.[i];
    if (forced) {
      return forced === 'right';
    }
    return rows.every((row) => {
      const v = row[i];
      return v === null || v === undefined || typeof v === 'number';
    });
  });
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  if (options.title) {
    out.push(options.title);
  }
  out.push(line(headers));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of text) {
    out.push(line(row));
  }
  return out.join('\n');
}

/** Values up to this long line up on the right; a longer one (a breakdown, a list) starts where the column starts. */
const ALIGNED_VALUE_MAX = 24;

/**
 * A two-column "metric / value" table. The value column is as wide as its short values, so one long value does
 * not push every number to the far right of the terminal.
 */
export function renderKeyValues(
  entries: readonly (readonly [string, Cell])[],
  options: TableOptions & { keyHeader?: string; valueHeader?: string } = {},
): string {
  const digits = options.digits ?? 1;
  const keyHeader = options.keyHeader ?? 'metric';
  const valueHeader = options.valueHeader ?? 'value';
  const rows = entries.map(([key, value]) => [key, formatCell(value, digits)] as const);
  const keyWidth = Math.max(keyHeader.length, ...rows.map(([key]) => key.length));
  const valueWidth = Math.max(
    valueHeader.length,
    ...rows.map(([, value]) => value.length).filter((length) => length <= ALIGNED_VALUE_MAX),
  );
  const right = (options.align?.[1] ?? 'right') === 'right';
  const line = (key: string, value: string): string =>
    `${key.padEnd(keyWidth)}  ${right && value.length <= valueWidth ? value.padStart(valueWidth) : value}`.trimEnd();
  const out: string[] = [];
  if (options.title) {
    out.push(options.title);
  }
  out.push(line(keyHeader, valueHeader));
  out.push(`${'-'.repeat(keyWidth)}  ${'-'.repeat(valueWidth)}`);
  for (const [key, value] of rows) {
    out.push(line(key, value));
  }
  return out.join('\n');
}
