import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { MoneyDto, PositiveMoneyDto } from './money.dto';

function problems(cls: typeof MoneyDto | typeof PositiveMoneyDto, value: unknown): string[] {
  return validateSync(plainToInstance(cls, { value, currency: 'USD' })).map((e) => e.property);
}

describe('money DTOs', () => {
  it.each([1.5, 0, -1, 2 ** 53, 1e300, '100'])('PositiveMoneyDto refuses %p', (value) => {
    expect(problems(PositiveMoneyDto, value)).toEqual(['value']);
  });

  it('PositiveMoneyDto accepts a safe positive integer; MoneyDto also zero', () => {
    expect(problems(PositiveMoneyDto, Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(problems(MoneyDto, 0)).toEqual([]);
    expect(problems(MoneyDto, 2 ** 53)).toEqual(['value']);
  });
});
