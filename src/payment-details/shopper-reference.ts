/** Our stable id for a customer at a gateway (Adyen shopperReference): 3+ characters, no personal data. */
export function shopperReference(customerId: string): string {
  return `cleeng-customer-${customerId}`;
}
