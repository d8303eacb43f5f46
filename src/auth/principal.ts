/** Who is calling: a server with an API key, a customer with a JWT, or an operator. */
export type Principal =
  { kind: 'api'; keyId: string } | { kind: 'customer'; customerId: string } | { kind: 'operator' };

export function principalScope(p: Principal): string {
  switch (p.kind) {
    case 'api':
      return `api:${p.keyId}`;
    case 'customer':
      return `customer:${p.customerId}`;
    case 'operator':
      return 'operator';
  }
}

/** The customer a principal is restricted to, or undefined when it may act for any customer. */
export function restrictedCustomer(p: Principal): string | undefined {
  return p.kind === 'customer' ? p.customerId : undefined;
}

/**
 * A client's Idempotency-Key as one caller's key: two API keys (or a customer and an API key)
 * reusing "1" must never see each other's refunds or orders.
 */
export function callerScopedKey(p: Principal, idempotencyKey: string): string {
  return `${principalScope(p)}:${idempotencyKey}`;
}
