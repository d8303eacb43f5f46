import { GroupCommit, itemByItem } from './group-commit';

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
