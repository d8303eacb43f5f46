/** Plain-text tables for benchmark output: numbers right-aligned, text left-aligned, NaN shown as "-". */

export type Cell = string | number | boolean | null | undefined;

export interface TableOptions {
  title?: string;
  /** decimals for non-integer numbers (default 1) */
  digits?: number;
  /** per-column alignment; by default numeric columns go right, the rest left */
  align?: readonly ('left' | 'right')[];
  /**
   * the last column is only as wide as its cells up to this length; a longer one (a breakdown, a list) starts where
   * the column starts, so it does not push every short value to the far right
   */
  lastColumnMaxWidth?: number;
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

/** Renders rows under a header; each column is as wide as its widest cell (see `lastColumnMaxWidth`). */
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
  const last = headers.length - 1;
  const fits = (i: number, length: number): boolean =>
    i !== last || options.lastColumnMaxWidth === undefined || length <= options.lastColumnMaxWidth;
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...text.map((row) => (row[i] ?? '').length).filter((length) => fits(i, length))),
  );
  const line = (cells: readonly string[]): string =>
    cells
      // a cell wider than its column (lastColumnMaxWidth) is left as it is by either pad
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

/**
 * A two-column "metric / value" table. The value column is as wide as its short values (up to 24 characters), so one
 * long value does not push every number to the far right of the terminal.
 */
export function renderKeyValues(
  entries: readonly (readonly [string, Cell])[],
  options: TableOptions & { keyHeader?: string; valueHeader?: string } = {},
): string {
  const digits = options.digits ?? 1;
  return renderTable(
    [options.keyHeader ?? 'metric', options.valueHeader ?? 'value'],
    // values as text so a column mixing numbers and words still lines up
    entries.map(([k, v]) => [k, formatCell(v, digits)]),
    { lastColumnMaxWidth: 24, ...options, align: options.align ?? ['left', 'right'] },
  );
}
