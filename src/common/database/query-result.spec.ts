import { rowsByLookup } from './query-result';

describe('rowsByLookup', () => {
  it('places each row at its lookup and leaves null where a lookup found nothing', () => {
    const rows = [
      { lookup: 3, id: 'c' },
      { lookup: 1, id: 'a' },
    ];
    expect(rowsByLookup(rows, 4)).toEqual([{ lookup: 1, id: 'a' }, null, { lookup: 3, id: 'c' }, null]);
  });
});
