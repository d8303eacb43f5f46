import { Money } from '../shared/money';
import { parseProcessCart } from './cleverbridge-sandbox.parse';

describe('parseProcessCart', () => {
  it('accepts PascalCase element names, integer enums and a single extraParameter object', () => {
    const result = parseProcessCart({
      ProcessCartRequest: {
        Cart: {
          Items: [{ ProductId: 203060, Quantity: 2, DynamicPrice: { Amount: '19.90', CurrencyId: 'EUR' } }],
          LogonPurchaseId: 166412284,
        },
        DefaultCountryId: 'de',
        DefaultLanguageId: 'DE',
        ExtraParameters: { ExtraParameter: { Key: 'x-customerid', Value: '51254' } },
        ExtraParameterMode: 2,
        ProcessCartMode: 1,
        FraudProtectionMode: 0,
      },
    });
    expect(result).toEqual({
      ok: true,
      cart: {
        customer: { kind: 'logonPurchaseId', value: '166412284' },
        items: [
          { productId: '203060', quantity: 2, dynamicPrice: Money.of(1990, 'EUR'), extraParameters: {} },
        ],
        extraParameters: { 'x-customerid': '51254' },
        extraParameterMode: 'SubscriptionOnly',
        processCartMode: 'NonInteractive',
        defaultCountryId: 'DE',
        defaultLanguageId: 'de',
      },
    });
  });

  it('accepts mode names in any spelling and defaults to Interactive / Default', () => {
    const cart = { items: [{ productId: '1', quantity: 1 }], customerReferenceId: 'c' };
    const modes = ['non-interactive', 'NonInteractive', 'interactive', '1'].map((processCartMode) => {
      const r = parseProcessCart({ processCartRequest: { cart, processCartMode } });
      return r.ok ? r.cart.processCartMode : r.message;
    });
    expect(modes).toEqual(['NonInteractive', 'NonInteractive', 'Interactive', 'NonInteractive']);
    const defaults = parseProcessCart({ processCartRequest: { cart } });
    expect(defaults).toMatchObject({
      ok: true,
      cart: { processCartMode: 'Interactive', extraParameterMode: 'Default' },
    });
  });

  it.each([
    ['no envelope', { cart: {} }, 'INVALID_ELEMENT', 'unknown element body.cart'],
    [
      'unknown element',
      {
        processCartRequest: {
          cart: { items: [{ productId: '1', quantity: 1, price: 1 }], customerReferenceId: 'c' },
        },
      },
      'INVALID_ELEMENT',
      'unknown element processCartRequest.cart.items[0].price',
    ],
    [
      'no items',
      { processCartRequest: { cart: { items: [], customerReferenceId: 'c' } } },
      'INVALID_ELEMENT',
      'processCartRequest.cart.items must list at least one item',
    ],
    [
      'no customer',
      { processCartRequest: { cart: { items: [{ productId: '1' }] } } },
      'CUSTOMER_IDENTIFIER',
      'exactly one customer identifier is required: cart.logonPurchaseId, cart.customerReferenceId or subscription.subscriptionId',
    ],
    [
      'two customers',
      {
        processCartRequest: {
          cart: { items: [{ productId: '1' }], customerReferenceId: 'c' },
          subscription: { subscriptionId: 'S1' },
        },
      },
      'CUSTOMER_IDENTIFIER',
      'exactly one customer identifier is required: cart.logonPurchaseId, cart.customerReferenceId or subscription.subscriptionId',
    ],
    [
      'a rebill without the default language id',
      {
        processCartRequest: {
          cart: { items: [{ productId: '1', quantity: 1 }] },
          subscription: { subscriptionId: 'S1' },
        },
      },
      'INVALID_ELEMENT',
      'processCartRequest.defaultLanguageId is required when rebilling a subscription',
    ],
    [
      'bad x-parameter',
      {
        processCartRequest: {
          cart: { items: [{ productId: '1' }], customerReferenceId: 'c' },
          extraParameters: { extraParameter: [{ key: 'customerid', value: '1' }] },
        },
      },
      'INVALID_X_PARAMETER',
      'x-parameter key "customerid" must begin with "x-"',
    ],
    [
      'bad quantity',
      {
        processCartRequest: { cart: { items: [{ productId: '1', quantity: 0 }], customerReferenceId: 'c' } },
      },
      'INVALID_ELEMENT',
      'processCartRequest.cart.items[0].quantity must be a positive integer',
    ],
    [
      'bad price',
      {
        processCartRequest: {
          cart: {
            items: [{ productId: '1', dynamicPrice: { amount: 1.234, currencyId: 'USD' } }],
            customerReferenceId: 'c',
          },
        },
      },
      'INVALID_PRICE',
      'processCartRequest.cart.items[0].dynamicPrice: "1.234" has more decimals than USD allows (2)',
    ],
    [
      'bad mode',
      {
        processCartRequest: {
          cart: { items: [{ productId: '1' }], customerReferenceId: 'c' },
          processCartMode: 'sometimes',
        },
      },
      'INVALID_ELEMENT',
      'processCartRequest.processCartMode must be one of Interactive (0), NonInteractive (1)',
    ],
  ])('refuses %s', (_case, body, code, message) => {
    expect(parseProcessCart(body)).toEqual({ ok: false, code, message });
  });
});
