import { Money } from '../shared/money';

export type BillingPeriodUnit = 'day' | 'week' | 'month' | 'year';

export interface BillingPeriod {
  unit: BillingPeriodUnit;
  amount: number;
}

export interface SandboxOffer {
  /** Cleeng's offer id format: `S` + 9 digits + `_` + country. */
  id: string;
  title: string;
  /** Gross price in major units, as a publisher types it in the Cleeng dashboard. */
  price: string;
  currency: string;
  period: BillingPeriod;
  /** The first order of a customer who never subscribed to this offer costs 0 for this many days. */
  freeTrialDays?: number;
}

/** The seeded catalogue: one offer per pricing case the connector must handle. */
export const SANDBOX_OFFERS: readonly SandboxOffer[] = [
  {
    id: 'S100000001_US',
    title: 'Monthly',
    price: '9.99',
    currency: 'USD',
    period: { unit: 'month', amount: 1 },
  },
  {
    id: 'S100000002_US',
    title: 'Monthly with 7-day free trial',
    price: '9.99',
    currency: 'USD',
    period: { unit: 'month', amount: 1 },
    freeTrialDays: 7,
  },
  {
    id: 'S100000003_JP',
    title: 'Monthly (JPY, no minor unit)',
    price: '1000',
    currency: 'JPY',
    period: { unit: 'month', amount: 1 },
  },
  {
    id: 'S100000004_KW',
    title: 'Monthly (KWD, three decimals)',
    price: '4.125',
    currency: 'KWD',
    period: { unit: 'month', amount: 1 },
  },
  {
    id: 'S100000005_EU',
    title: 'Monthly (EUR)',
    price: '19.90',
    currency: 'EUR',
    period: { unit: 'month', amount: 1 },
  },
  {
    id: 'S100000006_US',
    title: 'Annual',
    price: '99.99',
    currency: 'USD',
    period: { unit: 'year', amount: 1 },
  },
  {
    id: 'S100000007_US',
    title: 'Weekly',
    price: '2.99',
    currency: 'USD',
    period: { unit: 'week', amount: 1 },
  },
];

export interface SandboxCoupon {
  code: string;
  percentOff: number;
}

export const SANDBOX_COUPONS: readonly SandboxCoupon[] = [
  { code: 'FREE100', percentOff: 100 },
  { code: 'HALF', percentOff: 50 },
];

export function findOffer(offerId: string): SandboxOffer | undefined {
  return SANDBOX_OFFERS.find((offer) => offer.id === offerId);
}

export function findCoupon(code: string): SandboxCoupon | undefined {
  return SANDBOX_COUPONS.find((coupon) => coupon.code === code);
}

export function offerPrice(offer: SandboxOffer): Money {
  return Money.fromMajor(offer.price, offer.currency);
}

/** The price after `percentOff`, rounded half up in minor units (integer arithmetic only). */
export function applyPercentOff(price: Money, percentOff: number): Money {
  const scaled = price.minor * (100 - percentOff);
  const whole = Math.floor(scaled / 100);
  const remainder = scaled % 100;
  return Money.of(remainder >= 50 ? whole + 1 : whole, price.currency);
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function addDays(from: Date, days: number): Date {
  return new Date(from.getTime() + days * DAY_MS);
}

/** Calendar arithmetic in UTC; a month from Jan 31 is the last day of February, as billing systems do. */
export function addPeriod(from: Date, period: BillingPeriod): Date {
  switch (period.unit) {
    case 'day':
      return addDays(from, period.amount);
    case 'week':
      return addDays(from, 7 * period.amount);
    case 'month':
      return addMonthsClamped(from, period.amount);
    case 'year':
      return addMonthsClamped(from, 12 * period.amount);
  }
}

function addMonthsClamped(from: Date, months: number): Date {
  const result = new Date(from.getTime());
  const dayOfMonth = result.getUTCDate();
  result.setUTCDate(1);
  result.setUTCMonth(result.getUTCMonth() + months);
  const lastDayOfTargetMonth = new Date(
    Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0),
  ).getUTCDate();
  result.setUTCDate(Math.min(dayOfMonth, lastDayOfTargetMonth));
  return result;
}
