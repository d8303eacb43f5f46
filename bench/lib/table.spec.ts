import { formatCell, renderKeyValues, renderTable } from './table';

describe('renderTable', () => {
  it('pads columns, right-aligns numbers and shows NaN as "-"', () => {
    const text = renderTable(
      ['step', 'count', 'p50'],
      [
        ['order', 300, 12.34],
        ['payment', 7, Number.NaN],
      ],
    );
    expect(text.split('\n')).toEqual([
      'step     count   p50',
      '-------  -----  ----',
      'order      300  12.3',
      'payment      7     -',
    ]);
  });

  it('prints a title and a metric/value table with right-aligned values', () => {
    const text = renderKeyValues(
      [
        ['errors', 0],
        ['all captured', true],
      ],
      { title: 'summary' },
    );
    expect(text.split('\n')).toEqual([
      'summary',
      'metric        value',
      '------------  -----',
      'errors            0',
      'all captured    yes',
    ]);
  });

  it('keeps the value column as wide as its short values: a long value starts where the column starts', () => {
    const breakdown = '9.3 = app 4.5 + PostgreSQL 2.7 + emulators 1.5';
    const text = renderKeyValues([
      ['throughput', 185.25],
      ['machine CPU', breakdown],
      ['errors', 0],
    ]);
    expect(text.split('\n')).toEqual([
      'metric       value',
      '-----------  -----',
      'throughput   185.3',
      `machine CPU  ${breakdown}`,
      'errors           0',
    ]);
  });

  it('formats cells', () => {
    expect(formatCell(undefined)).toBe('-');
    expect(formatCell(null)).toBe('-');
    expect(formatCell(false)).toBe('no');
    expect(formatCell(2)).toBe('2');
    expect(formatCell(2.345, 2)).toBe('2.35');
    expect(formatCell(Number.POSITIVE_INFINITY)).toBe('-');
  });
});
