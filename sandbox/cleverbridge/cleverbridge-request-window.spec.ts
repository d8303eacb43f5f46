import { RequestWindow } from './cleverbridge-sandbox.controller';

describe('Cleverbridge emulator rate limit window', () => {
  it('admits the limit per wall-clock second and refuses the rest until the next second', () => {
    const window = new RequestWindow(3);
    const base = 1_700_000_000_000;
    expect([0, 10, 20, 30, 999].map((ms) => window.admit(base + ms))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(window.admit(base + 1_000)).toBe(true);
    expect(window.admit(base + 1_500)).toBe(true);
    expect(window.admit(base + 1_600)).toBe(true);
    expect(window.admit(base + 1_700)).toBe(false);
  });
});
