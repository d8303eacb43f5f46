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

  describe('per partition', () => {
    const claim = (limits: ReadonlyMap<string, number>, limit = 4) =>
      leaseClaimStatement({
        table: 'inbox_events',
        where: 'candidate.next_attempt_at <= $1',
        params: [new Date('2026-12-03T10:00:00.000Z')],
        orderBy: 'candidate.next_attempt_at',
        limit,
        partition: { column: 'lane', scope: `candidate.status = 'pending'`, limits },
        lease: { lease_token: '0b6c2c1e-9f5a-4c43-9d7e-3f2b1a0c9d8e' },
        returning: 'id',
      }).sql;

    it('takes each value up to its own limit, and other values up to the claim limit', () => {
      const sql = claim(new Map([['adyen', 3]]));
      expect(sql).toContain(`(convert_from('\\x616479656e'::bytea, 'UTF8'), 3)`);
      expect(sql).toContain('candidate.lane = p.value');
      expect(sql).toContain(
        'LIMIT COALESCE((SELECT l.n FROM partition_limits l WHERE l.value = p.value), 4)',
      );
    });

    it('writes values as hex, so a quote in one cannot end its literal', () => {
      const sql = claim(new Map([["x'); DROP TABLE inbox_events; --", 1]]));
      expect(sql).not.toContain('DROP TABLE');
      expect(sql).toContain(
        `convert_from('\\x${Buffer.from("x'); DROP TABLE inbox_events; --").toString('hex')}'`,
      );
    });

    it('allows a limit of 0 (nothing from that value) and refuses negative or fractional limits', () => {
      expect(claim(new Map([['adyen', 0]]), 0)).toContain('LIMIT COALESCE(');
      expect(() => claim(new Map([['adyen', -1]]))).toThrow('limit -1 is not a non-negative integer');
      expect(() => claim(new Map(), 1.5)).toThrow('limit 1.5 is not a non-negative integer');
    });
  });
});
