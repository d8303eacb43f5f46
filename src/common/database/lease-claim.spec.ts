import { inlineParameters, leaseClaimStatement } from './lease-claim';

describe('lease claim statement', () => {
  it('writes dates, integers and UUIDs as literals in place of their placeholders', () => {
    const at = new Date('2026-12-03T10:00:00.000Z');
    expect(
      inlineParameters('a <= $1 AND b = $2 AND c = $3 AND d < $1', [
        at,
        42,
        '0b6c2c1e-9f5a-4c43-9d7e-3f2b1a0c9d8e',
      ]),
    ).toBe(
      "a <= '2026-12-03T10:00:00.000Z'::timestamptz AND b = 42 AND c = '0b6c2c1e-9f5a-4c43-9d7e-3f2b1a0c9d8e'" +
        " AND d < '2026-12-03T10:00:00.000Z'::timestamptz",
    );
  });

  it.each([["x'; DROP TABLE inbox_events; --"], [1.5], [null], [undefined], [{}]])(
    'refuses any other value (%p): nothing but its own dates, integers and ids goes into the text',
    (value) => {
      expect(() => inlineParameters('a = $1', [value])).toThrow(
        'parameter $1 is not a date, an integer or a UUID',
      );
    },
  );

  it('the lease values follow the candidate parameters', () => {
    const now = new Date('2026-12-03T10:00:00.000Z');
    const until = new Date('2026-12-03T10:01:00.000Z');
    const { sql, params } = leaseClaimStatement({
      table: 'inbox_events',
      where: 'candidate.next_attempt_at <= $1',
      params: [now],
      orderBy: 'candidate.next_attempt_at',
      limit: 16,
      lease: { locked_until: until },
      returning: 'id',
    });
    expect(params).toEqual([now, until]);
    expect(sql).toContain('SET locked_until = $2');
    expect(sql).toContain('WHERE id = ANY(ARRAY(');
    expect(sql).toContain('LIMIT 16');
  });
});
