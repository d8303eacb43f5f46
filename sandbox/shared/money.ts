/**
 * The sandbox's own money value object (integer minor units + ISO 4217 currency). A copy on purpose:
 * emulators import no production code, so a bug in the connector's Money cannot hide itself here.
 */
import { currencyExponent, isCurrencyCode } from './currencies';

export class InvalidMoneyError extends Error {}

/** Integer minor units with their ISO 4217 currency. Never a float. */
export class Money {
  private constructor(
    readonly minor: number,
    readonly currency: string,
  ) {}

  static of(minor: number, currency: string): Money {
    if (!Number.isSafeInteger(minor) || minor < 0) {
      throw new InvalidMoneyError(`amount must be a non-negative integer of minor units, got ${minor}`);
    }
    if (!isCurrencyCode(currency)) {
      throw new InvalidMoneyError(`currency must be an ISO 4217 code, got "${currency}"`);
    }
    return new Money(minor, currency);
  }

  static zero(currency: string): Money {
    return Money.of(0, currency);
  }

  /**
   * Converts a decimal amount in major units (Cleeng's `totalPrice: 9.99` or "9.99") into minor units
   * by string arithmetic, so 0.1 + 0.2 style float drift can never change what is charged.
   * More fraction digits than the currency has are rejected unless they are zeros.
   */
  static fromMajor(amount: number | string, currency: string): Money {
    const exponent = currencyExponent(currency);
    const text = typeof amount === 'number' ? numberToPlainString(amount) : amount.trim();
    const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
    if (!match) {
      throw new InvalidMoneyError(`"${text}" is not a non-negative decimal amount`);
    }
    const whole = match[1] ?? '0';
    const fraction = (match[2] ?? '').replace(/0+$/, '');
    if (fraction.length > exponent) {
      throw new InvalidMoneyError(`"${text}" has more decimals than ${currency} allows (${exponent})`);
    }
    const minor = Number(whole + fraction.padEnd(exponent, '0'));
    return Money.of(minor, currency);
  }

  /** Decimal major-unit string, e.g. 999 USD -> "9.99", 1000 JPY -> "1000". */
  toMajorString(): string {
    const exponent = currencyExponent(this.currency);
    if (exponent === 0) {
      return String(this.minor);
    }
    const digits = String(this.minor).padStart(exponent + 1, '0');
    return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  }

  /** Major units as a JSON number for APIs that want one (Cleeng); exact for any safe minor amount. */
  toMajorNumber(): number {
    return Number(this.toMajorString());
  }

  isZero(): boolean {
    return this.minor === 0;
  }

  equals(other: Money): boolean {
    return this.minor === other.minor && this.currency === other.currency;
  }

  add(other: Money): Money {
    this.assertSameCurrency(other);
    return Money.of(this.minor + other.minor, this.currency);
  }

  subtract(other: Money): Money {
    this.assertSameCurrency(other);
    return Money.of(this.minor - other.minor, this.currency);
  }

  greaterThan(other: Money): boolean {
    this.assertSameCurrency(other);
    return this.minor > other.minor;
  }

  toJSON(): { value: number; currency: string } {
    return { value: this.minor, currency: this.currency };
  }

  private assertSameCurrency(other: Money): void {
    if (other.currency !== this.currency) {
      throw new InvalidMoneyError(`currency mismatch: ${this.currency} vs ${other.currency}`);
    }
  }
}

function numberToPlainString(value: number): string {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidMoneyError(`${value} is not a non-negative finite amount`);
  }
  const text = String(value);
  if (/e/i.test(text)) {
    // 1e-7 style: only possible for sub-minor amounts or absurdly large ones; both are invalid money.
    throw new InvalidMoneyError(`${value} cannot be represented exactly as a decimal amount`);
  }
  return text;
}
