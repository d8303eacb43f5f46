import { InvalidDurationError, parseDuration, parseDurationList } from './durations';

describe('durations', () => {
  it('reads units', () => {
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration(' 1d ')).toBe(86_400_000);
    expect(parseDuration('1w')).toBe(604_800_000);
  });

  it.each(['', 'h', '1.5h', '-1d', '1y', '1 d'])('refuses %j', (text) => {
    expect(() => parseDuration(text, 'X')).toThrow(InvalidDurationError);
  });

  it('reads a growing dunning schedule', () => {
    expect(parseDurationList('1d,3d,7d')).toEqual([86_400_000, 3 * 86_400_000, 7 * 86_400_000]);
    expect(parseDurationList('12h, 2d')).toEqual([43_200_000, 172_800_000]);
    expect(parseDurationList('none')).toEqual([]);
    expect(parseDurationList('')).toEqual([]);
  });

  it('refuses a schedule that does not grow or has a zero offset', () => {
    expect(() => parseDurationList('3d,1d')).toThrow('must grow');
    expect(() => parseDurationList('1d,1d')).toThrow('must grow');
    expect(() => parseDurationList('0,1d')).toThrow('greater than zero');
  });
});
