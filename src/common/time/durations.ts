/** `30s`, `15m`, `2h`, `1d`, `1w` (or plain milliseconds) for REBILL_* and DUNNING_SCHEDULE settings. */
const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export class InvalidDurationError extends Error {}

export function parseDuration(text: string, name = 'duration'): number {
  const match = /^(\d{1,9})(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!match?.[1]) {
    throw new InvalidDurationError(`${name}: "${text}" is not a duration like 30s, 15m, 2h, 1d or 1w`);
  }
  return Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1);
}

/**
 * `1d,3d,7d` -> [1 d, 3 d, 7 d] in ms. Offsets of the dunning retries from the first failed try of a
 * period, so they must grow strictly; an empty list means "no retry: cancel after the first soft decline".
 */
export function parseDurationList(text: string, name = 'durations'): number[] {
  if (text.trim() === '' || text.trim().toLowerCase() === 'none') {
    return [];
  }
  const list = text.split(',').map((part) => parseDuration(part, name));
  list.forEach((ms, i) => {
    if (ms <= 0) {
      throw new InvalidDurationError(`${name}: offsets must be greater than zero`);
    }
    const previous = list[i - 1];
    if (previous !== undefined && ms <= previous) {
      throw new InvalidDurationError(`${name}: offsets must grow (each is counted from the first failure)`);
    }
  });
  return list;
}
