import {
  CLAIM_PLANNER_SETTINGS,
  claimQuery,
  claimStatementName,
  inlineParameters,
  leaseClaimStatement,
} from './lease-claim';

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

  it('writes arrays of integers and of text (as hex), and an empty one as the parameter type takes it', () => {
    expect(inlineParameters('$1::integer[] $2::text[] $3::text[]', [[3, 0], ['adyen', "x'y"], []])).toBe(
      `ARRAY[3, 0]::integer[] ARRAY[convert_from('\\x616479656e'::bytea, 'UTF8'), ` +
        `convert_from('\\x782779'::bytea, 'UTF8')]::text[] '{}'::text[]`,
    );
  });

  it.each([["x'; DROP TABLE inbox_events; --"], [1.5], [null], [undefined], [{}], [[1, 'a']], [[1.5]]])(
    'refuses any other value (%p): nothing but its own dates, integers and ids goes into the text',
    (value) => {
      expect(() => inlineParameters('a = $1', [value])).toThrow(
        'parameter $1 is not a date, an integer, a UUID or an array of integers or of text',
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
    expect(params).toEqual([now, until, 16]);
    expect(sql).toContain('SET locked_until = $2');
    expect(sql).toContain('WHERE id = ANY(ARRAY(');
    expect(sql).toContain('LIMIT $3');
  });

  describe('as one simple query', () => {
    const outboxClaimAt = (now: string, until: string, limit: number) =>
      leaseClaimStatement({
        table: 'outbox_messages',
        where: 'candidate.next_attempt_at <= $1',
        params: [new Date(now)],
        orderBy: 'candidate.id',
        limit,
        lease: { locked_until: new Date(until) },
        returning: 'id',
      });
    const statement = outboxClaimAt('2026-12-03T10:00:00.000Z', '2026-12-03T10:01:00.000Z', 20);
    const literals = "'2026-12-03T10:00:00.000Z'::timestamptz, '2026-12-03T10:01:00.000Z'::timestamptz, 20";

    it('inline: the planner settings, then the claim with its values in place', () => {
      const text = claimQuery(statement);
      expect(text.split(';\n').slice(0, -1)).toEqual([...CLAIM_PLANNER_SETTINGS]);
      expect(text).toContain("next_attempt_at <= '2026-12-03T10:00:00.000Z'::timestamptz");
      expect(text).not.toContain('EXECUTE');
    });

    it('prepared: PREPARE once, then the settings and EXECUTE with the values as literals', () => {
      const name = claimStatementName(statement.sql);
      const first = claimQuery(statement, { name, prepare: true }).split(';\n');
      expect(first[0]).toBe(`PREPARE ${name} AS ${statement.sql}`);
      expect(first.slice(1)).toEqual([...CLAIM_PLANNER_SETTINGS, `EXECUTE ${name}(${literals})`]);
      expect(claimQuery(statement, { name, prepare: false }).split(';\n')).toEqual([
        ...CLAIM_PLANNER_SETTINGS,
        `EXECUTE ${name}(${literals})`,
      ]);
    });

    it('names a claim by its text, which its values do not change', () => {
      const later = outboxClaimAt('2026-12-04T00:00:00.000Z', '2026-12-04T00:01:00.000Z', 5);
      expect(later.sql).toBe(statement.sql);
      expect(claimStatementName(later.sql)).toBe(claimStatementName(statement.sql));
      expect(claimStatementName(statement.sql)).toMatch(/^claim_[0-9a-f]{24}$/);
      expect(claimStatementName(`${statement.sql} `)).not.toBe(claimStatementName(statement.sql));
    });
  });

  describe('per partition', () => {
    const claim = (limits: ReadonlyMap<string, number>, limit = 4) => {
      const { sql, params } = leaseClaimStatement({
        table: 'inbox_events',
        where: 'candidate.next_attempt_at <= $1',
        params: [new Date('2026-12-03T10:00:00.000Z')],
        orderBy: 'candidate.next_attempt_at',
        limit,
        partition: { column: 'lane', scope: `candidate.status = 'pending'`, limits },
        lease: { lease_token: '0b6c2c1e-9f5a-4c43-9d7e-3f2b1a0c9d8e' },
        returning: 'id',
      });
      return inlineParameters(sql, params);
    };

    it('takes each value up to its own limit, and other values up to the claim limit', () => {
      const sql = claim(new Map([['adyen', 3]]));
      expect(sql).toContain(
        `unnest(ARRAY[convert_from('\\x616479656e'::bytea, 'UTF8')]::text[],\n           ARRAY[3]::integer[])`,
      );
      expect(sql).toContain('candidate.lane = p.value');
      expect(sql).toContain(
        'LIMIT COALESCE((SELECT l.n FROM partition_limits l WHERE l.value = p.value), 4)',
      );
    });

    it('finds the values present by a loose scan only when values outside the limits may be claimed', () => {
      expect(claim(new Map([['adyen', 3]]), 4)).toContain('min(candidate.lane)');
      const known = claim(new Map([['adyen', 3]]), 0);
      expect(known).not.toContain('min(candidate.lane)');
      expect(known).toContain('partitions(value) AS (SELECT l.value FROM partition_limits l WHERE l.n > 0)');
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
