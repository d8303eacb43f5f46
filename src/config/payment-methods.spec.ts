import { gatewayOfPaymentMethod } from './payment-methods';

describe('gatewayOfPaymentMethod', () => {
  const methods = new Map([
    ['adyen', 101],
    ['cleverbridge', 102],
  ]);

  it('finds the gateway of a mapped id, sent as a number or a numeric string', () => {
    expect(gatewayOfPaymentMethod(methods, 101)).toBe('adyen');
    expect(gatewayOfPaymentMethod(methods, '102')).toBe('cleverbridge');
  });

  it('has none for an id of another connector, or for anything that is not an id', () => {
    expect(gatewayOfPaymentMethod(methods, 999)).toBeUndefined();
    expect(gatewayOfPaymentMethod(methods, undefined)).toBeUndefined();
    expect(gatewayOfPaymentMethod(methods, null)).toBeUndefined();
    expect(gatewayOfPaymentMethod(methods, { id: 101 })).toBeUndefined();
  });
});
