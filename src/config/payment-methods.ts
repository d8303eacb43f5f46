/**
 * The gateway CLEENG_PAYMENT_METHODS maps a Cleeng paymentMethodId to, if any. Ids compare as numbers: a webhook
 * may carry one as a number or as a numeric string.
 */
export function gatewayOfPaymentMethod(
  paymentMethods: ReadonlyMap<string, number>,
  paymentMethodId: unknown,
): string | undefined {
  if (typeof paymentMethodId !== 'number' && typeof paymentMethodId !== 'string') {
    return undefined;
  }
  const id = Number(paymentMethodId);
  for (const [gateway, mapped] of paymentMethods) {
    if (mapped === id) {
      return gateway;
    }
  }
  return undefined;
}
