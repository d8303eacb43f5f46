import { GatewayOperationUnsupportedError } from './gateway.errors';
import { GatewayCapabilities, GatewayProvider, UnkeyedOperation } from './gateway.provider';

type OptionalOperation = Exclude<keyof GatewayProvider, 'id' | 'capabilities' | 'unkeyedOperations'>;
type Operations = Required<Pick<GatewayProvider, OptionalOperation>>;

/** The bound operation, or GatewayOperationUnsupportedError (422) when this gateway does not offer it. */
export function requireOperation<K extends OptionalOperation>(
  gateway: GatewayProvider,
  operation: K,
): Operations[K] {
  const method = gateway[operation] as unknown;
  if (typeof method !== 'function') {
    throw new GatewayOperationUnsupportedError(gateway.id, operation);
  }
  return (method as (...args: unknown[]) => unknown).bind(gateway) as Operations[K];
}

/** Whether the gateway deduplicates a repeated `operation` under the same idempotency key (callGateway's `idempotent`). */
export function isIdempotent(gateway: GatewayProvider, operation: UnkeyedOperation): boolean {
  return !(gateway.unkeyedOperations ?? []).includes(operation);
}

/** Which operations each capability needs; a capability without its operations is a lie the registry refuses. */
const NEEDS: Record<keyof GatewayCapabilities, OptionalOperation[]> = {
  separateCapture: ['authorise', 'capture', 'cancel'],
  zeroAmountAuth: ['tokenise'],
  tokenisation: ['tokenise'],
  partialRefund: ['refund'],
  threeDSecure: ['completeAction', 'returnDetails'],
  connectorManagedRebill: ['rebill'],
  refundsByCaptureId: ['refund'],
  gatewayManagedBilling: ['charge', 'completeAction', 'parseWebhook'],
};

/** Operations whose presence must be declared: implementing one without its capability is also refused. */
const DECLARED_BY: Partial<Record<OptionalOperation, (c: GatewayCapabilities) => boolean>> = {
  tokenise: (c) => c.zeroAmountAuth || c.tokenisation,
  completeAction: (c) => c.threeDSecure,
  rebill: (c) => c.connectorManagedRebill,
};

/** Every disagreement between a gateway's capabilities and its operations, naming both. */
export function capabilityMismatches(gateway: GatewayProvider): string[] {
  const problems: string[] = [];
  const implemented = (op: OptionalOperation): boolean => typeof gateway[op] === 'function';
  for (const [capability, operations] of Object.entries(NEEDS) as [
    keyof GatewayCapabilities,
    OptionalOperation[],
  ][]) {
    const missing = operations.filter((op) => !implemented(op));
    if (gateway.capabilities[capability] && missing.length > 0) {
      problems.push(
        `gateway ${gateway.id} declares capability ${capability} but does not implement ${missing.join(', ')}`,
      );
    }
  }
  for (const [operation, declared] of Object.entries(DECLARED_BY) as [
    OptionalOperation,
    (c: GatewayCapabilities) => boolean,
  ][]) {
    if (implemented(operation) && !declared(gateway.capabilities)) {
      problems.push(`gateway ${gateway.id} implements ${operation} but declares no capability for it`);
    }
  }
  if ((gateway.unkeyedOperations ?? []).length > 0 && !implemented('lookupCall')) {
    problems.push(
      `gateway ${gateway.id} has operations without an idempotency key but does not implement lookupCall`,
    );
  }
  return problems;
}
