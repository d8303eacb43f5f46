import { GroupCommit, itemByItem } from './group-commit';
import { rowsByLookup } from './query-result';

describe('itemByItem', () => {
  it('runs the callers of one turn as one flat list and answers each caller its own items, in order', async () => {
    const statements: number[][] = [];
    const commit = new GroupCommit<number, string>(
      itemByItem((items) => {
        statements.push([...items]);
        return Promise.resolve(items.map((n) => `#${n}`));
      }),
      { maxItems: 100, maxInFlight: 1 },
    );
    const answers = await Promise.all([commit.submit([1, 2]), commit.submit([3]), commit.submit([4, 5, 6])]);
    expect(statements).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(answers).toEqual([['#1', '#2'], ['#3'], ['#4', '#5', '#6']]);
  });
});

describe('rowsByLookup', () => {
  it('places each row at its lookup and leaves null where a lookup found nothing', () => {
    const rows = [
      { lookup: 3, id: 'c' },
      { lookup: 1, id: 'a' },
    ];
    expect(rowsByLookup(rows, 4)).toEqual([{ lookup: 1, id: 'a' }, null, { lookup: 3, id: 'c' }, null]);
  });
});
