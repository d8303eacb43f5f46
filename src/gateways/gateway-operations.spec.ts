import 'reflect-metadata';
import { GatewayOperationUnsupportedError } from './gateway.errors';
import { capabilityMismatches, isIdempotent, requireOperation } from './gateway-operations';
import { GatewayCapabilities, GatewayProvider, PaymentResult } from './gateway.provider';
import { GatewayRegistry, GatewayRegistryError } from './gateway.registry';

const NONE: GatewayCapabilities = {
  separateCapture: false,
  zeroAmountAuth: false,
  tokenisation: false,
  partialRefund: false,
  threeDSecure: false,
  connectorManagedRebill: false,
  refundsByCaptureId: false,
};

const paid = (): Promise<PaymentResult> => Promise.resolve({ status: 'captured' });

function fake(capabilities: Partial<GatewayCapabilities>, operations: Partial<GatewayProvider> = {}) {
  return { id: 'fake', capabilities: { ...NONE, ...capabilities }, ...operations };
}

const config = (ids: string[], rateLimited: string[] = [], slotted: string[] = []) => ({
  gatewayRateLimits: new Map(rateLimited.map((id) => [id, 10])),
  inbox: { gatewayConcurrencyByGateway: new Map(slotted.map((id) => [id, 4])) },
  cleeng: {
    apiUrl: '',
    publisherToken: '',
    webhookSecret: '',
    webhookSignatureHeader: '',
    timeoutMs: 1,
    paymentMethods: new Map(ids.map((id, i) => [id, 100 + i])),
  },
});

describe('capabilities against operations', () => {
  it('names the gateway and the capability it declares without the operation', () => {
    expect(capabilityMismatches(fake({ connectorManagedRebill: true }, { charge: paid }))).toEqual([
      'gateway fake declares capability connectorManagedRebill but does not implement rebill',
    ]);
    expect(capabilityMismatches(fake({ partialRefund: true }))).toEqual([
      'gateway fake declares capability partialRefund but does not implement refund',
    ]);
  });

  it('names an operation implemented without its capability', () => {
    expect(capabilityMismatches(fake({}, { rebill: paid }))).toEqual([
      'gateway fake implements rebill but declares no capability for it',
    ]);
  });

  it('an operation without an idempotency key needs lookupCall, and is not idempotent', () => {
    const unkeyed = fake({ connectorManagedRebill: true }, { rebill: paid, unkeyedOperations: ['rebill'] });
    expect(capabilityMismatches(unkeyed)).toEqual([
      'gateway fake has operations without an idempotency key but does not implement lookupCall',
    ]);
    const withLookup = {
      ...unkeyed,
      lookupCall: () => Promise.resolve({ kind: 'not_found' as const }),
    };
    expect(capabilityMismatches(withLookup)).toEqual([]);
    expect(isIdempotent(withLookup, 'rebill')).toBe(false);
    expect(isIdempotent(withLookup, 'charge')).toBe(true);
    expect(isIdempotent(fake({}), 'rebill')).toBe(true);
  });

  it('a consistent gateway has none', () => {
    expect(capabilityMismatches(fake({ connectorManagedRebill: true }, { rebill: paid }))).toEqual([]);
  });

  it('the registry refuses to boot with a mismatch, or a CLEENG_PAYMENT_METHODS id it lacks', () => {
    expect(() => new GatewayRegistry([fake({ connectorManagedRebill: true })], config([]))).toThrow(
      GatewayRegistryError,
    );
    expect(() => new GatewayRegistry([fake({ connectorManagedRebill: true })], config([]))).toThrow(
      'gateway fake declares capability connectorManagedRebill',
    );
    expect(() => new GatewayRegistry([fake({})], config(['fake', 'paypal']))).toThrow(
      'CLEENG_PAYMENT_METHODS: unknown gateway "paypal" (known: fake)',
    );
    expect(new GatewayRegistry([fake({})], config(['fake'])).enabled()).toEqual(['fake']);
  });

  it('the registry refuses a GATEWAY_RATE_LIMITS entry for a gateway it lacks', () => {
    expect(() => new GatewayRegistry([fake({})], config(['fake'], ['fake', 'paypal']))).toThrow(
      'GATEWAY_RATE_LIMITS: unknown gateway "paypal" (known: fake)',
    );
    expect(new GatewayRegistry([fake({})], config(['fake'], ['fake'])).enabled()).toEqual(['fake']);
  });

  it('the registry refuses an INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY entry for a gateway it lacks', () => {
    expect(() => new GatewayRegistry([fake({})], config(['fake'], [], ['fake', 'paypal']))).toThrow(
      'INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: unknown gateway "paypal" (known: fake)',
    );
    expect(new GatewayRegistry([fake({})], config(['fake'], [], ['fake'])).enabled()).toEqual(['fake']);
  });

  it('requireOperation binds what exists and refuses what does not', async () => {
    const gateway = fake({ connectorManagedRebill: true }, { rebill: paid });
    await expect(requireOperation(gateway, 'rebill')({} as never)).resolves.toEqual({ status: 'captured' });
    expect(() => requireOperation(gateway, 'refund')).toThrow(GatewayOperationUnsupportedError);
  });
});
