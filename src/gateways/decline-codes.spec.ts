import { DECLINE_CODES, decline } from './decline-codes';

describe('decline codes', () => {
  it('classifies every code', () => {
    expect(Object.keys(DECLINE_CODES).sort()).toEqual(
      [
        'CCA_EXP',
        'FRA_REJ',
        'GW_ERROR',
        'GW_TIMEOUT',
        'PAY_CEX',
        'PAY_CLE',
        'PAY_DEC',
        'PAY_REJ',
        'PAY_SCO',
      ].sort(),
    );
    expect(decline('PAY_CEX').class).toBe('hard');
    expect(decline('FRA_REJ').class).toBe('hard');
    expect(decline('PAY_CLE').class).toBe('soft');
    expect(decline('PAY_DEC').class).toBe('soft');
    expect(decline('GW_TIMEOUT').class).toBe('technical');
  });

  it('keeps the raw gateway code and classifies it', () => {
    const d = decline('PAY_SCO', { code: '24', reason: 'CVC Declined' });
    expect(d).toMatchObject({ code: 'PAY_SCO', rawCode: '24', rawReason: 'CVC Declined' });
    expect(d.class).toBe('hard');
    expect(decline('GW_ERROR').class).toBe('technical');
  });
});
