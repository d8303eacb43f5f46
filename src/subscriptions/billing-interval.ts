/**
 * ISO 8601 durations as billing intervals (`P1M`, `P1Y`, `P7D`, `P2W`, `P1M15D`). Date components only:
 * a connector-managed rebill is a daily-or-slower business event, and a time part would make "one period"
 * depend on the server's notion of a day.
 *
 * Arithmetic is in UTC, years and months first, then weeks and days (ISO 8601 / Temporal order). A month
 * step that lands past the end of the target month is clamped to its last day. Period n is always computed
 * from the anchor (`anchor + n × interval`), never by adding to the previous period, so a subscription that
 * starts on Jan 31 bills Feb 28 (29), Mar 31, Apr 30, ... instead of drifting to the 28th for ever.
 */
export interface BillingInterval {
  /** the canonical text, e.g. `P1M` */
  text: string;
  years: number;
  months: number;
  weeks: number;
  days: number;
}

export class InvalidIntervalError extends Error {}

const PATTERN = /^P(?:(\d{1,3})Y)?(?:(\d{1,3})M)?(?:(\d{1,3})W)?(?:(\d{1,4})D)?$/;
const DAY_MS = 86_400_000;
/** Ten years: anything longer is a typo, not a subscription. */
const MAX_DAYS = 3_660;

export function parseInterval(text: string): BillingInterval {
  if (typeof text !== 'string') {
    throw new InvalidIntervalError('interval must be an ISO 8601 duration string such as P1M');
  }
  if (/T/.test(text)) {
    throw new InvalidIntervalError(
      `interval "${text}" has a time part; use date components only (Y, M, W, D), e.g. P1M, P1Y, P7D`,
    );
  }
  const match = PATTERN.exec(text);
  if (!match || text === 'P') {
    throw new InvalidIntervalError(
      `interval "${text}" is not an ISO 8601 duration with date components (e.g. P1M, P1Y, P7D, P2W)`,
    );
  }
  const [years, months, weeks, days] = [match[1], match[2], match[3], match[4]].map((v) =>
    Number(v ?? 0),
  ) as [number, number, number, number];
  const approxDays = years * 366 + months * 31 + weeks * 7 + days;
  if (approxDays === 0) {
    throw new InvalidIntervalError(`interval "${text}" is empty; it must be at least one day`);
  }
  if (approxDays > MAX_DAYS) {
    throw new InvalidIntervalError(`interval "${text}" is longer than ten years`);
  }
  return { text, years, months, weeks, days };
}

/** `anchor + times × interval` (times ≥ 0), clamping month ends; keeps the anchor's UTC time of day. */
export function addInterval(anchor: Date, interval: BillingInterval, times = 1): Date {
  if (!Number.isSafeInteger(times) || times < 0) {
    throw new RangeError(`times must be a non-negative integer, got ${times}`);
  }
  let result = new Date(anchor.getTime());
  const totalMonths = (interval.years * 12 + interval.months) * times;
  if (totalMonths > 0) {
    const monthIndex = anchor.getUTCMonth() + totalMonths;
    const year = anchor.getUTCFullYear() + Math.floor(monthIndex / 12);
    const month = monthIndex % 12;
    const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    result = new Date(
      Date.UTC(
        year,
        month,
        Math.min(anchor.getUTCDate(), lastDay),
        anchor.getUTCHours(),
        anchor.getUTCMinutes(),
        anchor.getUTCSeconds(),
        anchor.getUTCMilliseconds(),
      ),
    );
  }
  const totalDays = (interval.weeks * 7 + interval.days) * times;
  return totalDays > 0 ? new Date(result.getTime() + totalDays * DAY_MS) : result;
}

/** Start of period `index` (0 = the anchor). */
export function periodStart(anchor: Date, interval: BillingInterval, index: number): Date {
  return addInterval(anchor, interval, index);
}
