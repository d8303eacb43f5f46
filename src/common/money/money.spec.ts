import { Money, InvalidMoneyError } from './money';

describe('Money', () => {
  it('converts Cleeng decimal major units without float drift', () => {
    expect(Money.fromMajor(9.99, 'USD').minor).toBe(999);
    // a drifted float is refused rather than silently rounded into a different charge
    expect(() => Money.fromMajor(0.1 + 0.2, 'USD')).toThrow(InvalidMoneyError);
    expect(Money.fromMajor(1.005, 'KWD').minor).toBe(1005);
    expect(Money.fromMajor(19.9, 'EUR').minor).toBe(1990);
    expect(Money.fromMajor('4.35', 'USD').minor).toBe(435); // 4.35 * 100 === 434.99999999999994
    expect(Money.fromMajor(1000, 'JPY').minor).toBe(1000);
    expect(Money.fromMajor(0, 'USD').isZero()).toBe(true);
  });

  it('rejects amounts more precise than the currency allows', () => {
    expect(() => Money.fromMajor(9.999, 'USD')).toThrow(InvalidMoneyError);
    expect(() => Money.fromMajor(10.5, 'JPY')).toThrow(InvalidMoneyError);
    expect(Money.fromMajor('10.50', 'EUR').minor).toBe(1050);
    expect(Money.fromMajor('1000.000', 'JPY').minor).toBe(1000);
  });

  it('rejects negatives, NaN, exponents and non-ISO currencies', () => {
    expect(() => Money.fromMajor(-1, 'USD')).toThrow(InvalidMoneyError);
    expect(() => Money.fromMajor(Number.NaN, 'USD')).toThrow(InvalidMoneyError);
    expect(() => Money.fromMajor(1e-7, 'USD')).toThrow(InvalidMoneyError);
    expect(() => Money.of(1.5, 'USD')).toThrow(InvalidMoneyError);
    expect(() => Money.of(100, 'usd')).toThrow(InvalidMoneyError);
  });

  it('formats back to major units per exponent', () => {
    expect(Money.of(999, 'USD').toMajorString()).toBe('9.99');
    expect(Money.of(5, 'USD').toMajorString()).toBe('0.05');
    expect(Money.of(1234, 'KWD').toMajorString()).toBe('1.234');
    expect(Money.of(1234, 'JPY').toMajorString()).toBe('1234');
    expect(Money.of(435, 'USD').toMajorNumber()).toBe(4.35);
  });

  it('refuses arithmetic across currencies', () => {
    expect(() => Money.of(1, 'USD').add(Money.of(1, 'EUR'))).toThrow(InvalidMoneyError);
    expect(Money.of(500, 'USD').subtract(Money.of(200, 'USD')).minor).toBe(300);
    expect(() => Money.of(100, 'USD').subtract(Money.of(200, 'USD'))).toThrow(InvalidMoneyError);
  });
});
