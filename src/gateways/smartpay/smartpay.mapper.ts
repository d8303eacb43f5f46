import { Money } from '../../common/money/money';
import { WebhookMalformedError } from '../../inbox/webhook.errors';
import { Decline, decline, DeclineCode } from '../decline-codes';
import {
  GatewayEvent,
  GatewaySubscriptionStatus,
  PaymentMethodData,
  PaymentResult,
  WebhookHeaders,
} from '../gateway.provider';
import { verifyWebhookBasicAuth } from '../webhook-basic-auth';
import { GatewayRequestRejectedError, GatewayUnavailableError } from '../gateway.errors';
import {
  SmartPayAddress,
  SmartPayBillingUnit,
  SmartPayConsumer,
  SmartPayErrorBody,
  SmartPayNotification,
  SmartPayPlanRequest,
  SmartPayTransaction,
} from './smartpay.types';

const GATEWAY = 'smartpay';

/**
 * SmartPay transaction result codes -> normalised declines. The vendor's catalogue was not found
 * (external-apis.md §5); these are the codes the sandbox uses, anything else is PAY_DEC with the raw code kept.
 */
const RESULT_CODES: Record<string, DeclineCode> = {
  insufficient_funds: 'PAY_CLE',
  limit_exceeded: 'PAY_CLE',
  card_expired: 'PAY_CEX',
  do_not_honor: 'PAY_DEC',
  declined: 'PAY_DEC',
  card_blocked: 'PAY_REJ',
  invalid_cvc: 'PAY_SCO',
  fraud_suspected: 'FRA_REJ',
  acquirer_error: 'GW_ERROR',
  issuer_unavailable: 'GW_ERROR',
};

export function declineFor(resultCode: string | undefined, resultMessage?: string): Decline {
  const code = (resultCode && RESULT_CODES[resultCode]) || 'PAY_DEC';
  return decline(code, {
    ...(resultCode ? { code: resultCode } : {}),
    ...(resultMessage ? { reason: resultMessage } : {}),
  });
}

/** ISO 8601 period (P1M, P3M, P1Y, P1W, P30D) -> SmartPay billing occurrence and unit. */
export function billingOf(
  period: string,
): { billingOccurrence: number; billingUnit: SmartPayBillingUnit } | undefined {
  const match = /^P(\d{1,3})([DWMY])$/.exec(period);
  if (!match?.[1] || !match[2]) {
    return undefined;
  }
  const n = Number(match[1]);
  if (n < 1) {
    return undefined;
  }
  switch (match[2]) {
    case 'D':
      return { billingOccurrence: n, billingUnit: 'day' };
    case 'W':
      return { billingOccurrence: n * 7, billingUnit: 'day' };
    case 'M':
      return { billingOccurrence: n, billingUnit: 'month' };
    default:
      return { billingOccurrence: n, billingUnit: 'year' };
  }
}

/** What the front-end sends as `paymentMethod` for SmartPay: no card, only who pays and the offer's period. */
export interface SmartPayCheckout {
  billingPeriod: string;
  billingAddress: SmartPayAddress;
  consumer: SmartPayConsumer;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.trim() !== '' && value.length <= max ? value : undefined;
}

/** The payment method's fields, or a refusal naming the field (nothing is sent to SmartPay then). */
export function parseCheckout(method: PaymentMethodData, country: string | undefined): SmartPayCheckout {
  const fail = (field: string, message: string): never => {
    throw new GatewayRequestRejectedError(GATEWAY, `paymentMethod.${field} ${message}`, 400, 'VALIDATION');
  };
  const period = typeof method.billingPeriod === 'string' ? method.billingPeriod : 'P1M';
  if (!billingOf(period)) {
    fail('billingPeriod', 'must be an ISO 8601 period like P1M, P3M, P1Y, P1W or P30D');
  }
  const address = method.billingAddress;
  if (!isRecord(address)) {
    return fail('billingAddress', 'is required (addressLine1, city, postCode, countryCode)');
  }
  const addressLine1 =
    str(address.addressLine1, 60) ?? fail('billingAddress.addressLine1', 'is required (max 60)');
  const city = str(address.city, 50) ?? fail('billingAddress.city', 'is required (max 50)');
  const postCode = str(address.postCode, 10) ?? fail('billingAddress.postCode', 'is required (max 10)');
  const countryCode =
    str(address.countryCode, 3) ?? country ?? fail('billingAddress.countryCode', 'is required');
  if (!/^[A-Z]{2,3}$/.test(countryCode)) {
    fail('billingAddress.countryCode', 'must be ISO 3166 alpha-2 or alpha-3');
  }
  const state = str(address.state, 50);
  if ((countryCode === 'US' || countryCode === 'CA') && !state) {
    fail('billingAddress.state', 'is required for US and CA');
  }
  const consumerIn = isRecord(method.consumer) ? method.consumer : {};
  const consumer: SmartPayConsumer = {
    ...(str(consumerIn.firstName, 100) ? { firstName: str(consumerIn.firstName, 100) } : {}),
    ...(str(consumerIn.lastName, 100) ? { lastName: str(consumerIn.lastName, 100) } : {}),
    ...(str(consumerIn.email, 255) ? { email: str(consumerIn.email, 255) } : {}),
  };
  return {
    billingPeriod: period,
    billingAddress: {
      addressLine1,
      ...(str(address.addressLine2, 60) ? { addressLine2: str(address.addressLine2, 60) } : {}),
      ...(str(address.number, 10) ? { number: str(address.number, 10) } : {}),
      city,
      postCode,
      countryCode,
      ...(state ? { state } : {}),
    },
    consumer,
  };
}

/** The plan a Cleeng offer at this price and period maps to; `merchantMetadata` is the key an existing one is found by. */
export function planFor(offerId: string, amount: Money, period: string): SmartPayPlanRequest {
  const billing = billingOf(period);
  if (!billing) {
    throw new GatewayRequestRejectedError(GATEWAY, `unsupported billing period ${period}`, 400, 'VALIDATION');
  }
  return {
    name: `Cleeng offer ${offerId}`.slice(0, 255),
    description: `${offerId} ${amount.toMajorString()} ${amount.currency} every ${period}`.slice(0, 255),
    recurrentAmount: amount.toMajorNumber(),
    currencyIsoCode: amount.currency,
    ...billing,
    billingCycles: -1,
    prepaid: true,
    merchantMetadata: planKey(offerId, amount, period),
  };
}

export function planKey(offerId: string, amount: Money, period: string): string {
  return `cleeng-offer:${offerId}:${amount.minor}:${amount.currency}:${period}`.slice(0, 255);
}

/** A PS transaction's answer. */
export function fromTransaction(tx: SmartPayTransaction): PaymentResult {
  switch (tx.status) {
    case 'succeeded':
      return { status: 'captured', externalPaymentId: tx.id };
    case 'pending':
      return { status: 'pending', externalPaymentId: tx.id };
    default:
      return {
        status: 'rejected',
        externalPaymentId: tx.id,
        decline: declineFor(tx.resultCode, tx.resultMessage),
      };
  }
}

export function errorForStatus(httpStatus: number, body: unknown, path: string): Error {
  const res = (isRecord(body) ? body : {}) as SmartPayErrorBody;
  const code = res.code ?? res.error;
  const detail = res.message ?? (typeof body === 'string' ? body.slice(0, 200) : '');
  const message = `SmartPay ${path} answered ${httpStatus}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`;
  if (httpStatus >= 500 || httpStatus === 429 || httpStatus === 408) {
    return new GatewayUnavailableError(GATEWAY, message, false, httpStatus);
  }
  return new GatewayRequestRejectedError(GATEWAY, message, httpStatus, code);
}

/** Smartpay notifications are authenticated with HTTP Basic (never reads the body). */
export function verifyBasicAuth(
  headers: WebhookHeaders,
  expected: { username: string; password: string },
): void {
  verifyWebhookBasicAuth(headers, expected, 'smartpay notification');
}

const SUBSCRIPTION_STATUSES: Record<string, GatewaySubscriptionStatus> = {
  pending: 'pending',
  created: 'pending',
  active: 'active',
  paused: 'paused',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  deleted: 'cancelled',
  expired: 'ended',
  completed: 'ended',
};

/**
 * One Subscription Module notification -> events:
 * - `billing.updated` with a final transaction status: a subscription's cycle -> `billing.succeeded|failed`
 *   (externalPaymentId = transaction id); a payment serie's transaction -> `payment.paid|refused` keyed by our
 *   `partnerReference` (connector-managed rebills)
 * - `status.updated` -> `subscription.updated`; `deleted` -> `subscription.updated` cancelled
 * - everything else (created, updated, billing.scheduled, billing.expires, a pending cycle) -> `ignored`
 */
export function parseNotification(rawBody: Buffer): GatewayEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new WebhookMalformedError('smartpay notification: body is not JSON');
  }
  if (!isRecord(parsed)) {
    throw new WebhookMalformedError('smartpay notification: body must be an object');
  }
  const n = parsed as Partial<SmartPayNotification>;
  const id = str(n.id, 200);
  const eventType = str(n.eventType, 100);
  if (!id || !eventType) {
    throw new WebhookMalformedError('smartpay notification: id and eventType are required');
  }
  const data = isRecord(n.data) ? n.data : {};
  const objectId = str(n.objectId, 200);
  const base = {
    eventKey: id,
    rawType: eventType,
    ...(str(n.createdAt, 64) ? { occurredAt: str(n.createdAt, 64) } : {}),
  };
  const subscriptionId =
    str(data.subscriptionId, 200) ?? (objectId?.startsWith('subscription') ? objectId : undefined);
  if (eventType === 'billing.updated') {
    const status = str(data.status, 32);
    const transactionId = str(data.transactionId, 200);
    if ((status !== 'succeeded' && status !== 'failed') || !transactionId) {
      return [{ ...base, type: 'ignored' }];
    }
    const amount = amountOf(data.amount, data.currencyIsoCode);
    const resultCode = str(data.resultCode, 100);
    const resultMessage = str(data.resultMessage, 500);
    const failed = status === 'failed';
    const common = {
      ...base,
      externalPaymentId: transactionId,
      ...(amount ? { amount } : {}),
      ...(failed ? { decline: declineFor(resultCode, resultMessage) } : {}),
      ...(resultMessage ? { reason: resultMessage } : {}),
    };
    const partnerReference = str(data.partnerReference, 200);
    if (str(data.paymentSeriesId, 200) && partnerReference) {
      return [
        {
          ...common,
          type: failed ? 'payment.refused' : 'payment.paid',
          attemptKey: partnerReference,
          externalSubscriptionId: str(data.paymentSeriesId, 200),
        },
      ];
    }
    if (!subscriptionId) {
      throw new WebhookMalformedError('smartpay notification: billing.updated needs data.subscriptionId');
    }
    return [
      {
        ...common,
        type: failed ? 'billing.failed' : 'billing.succeeded',
        externalSubscriptionId: subscriptionId,
        ...(str(data.billingCycleId, 200) ? { billingCycleId: str(data.billingCycleId, 200) } : {}),
      },
    ];
  }
  if (eventType === 'status.updated' || eventType === 'deleted') {
    const raw = eventType === 'deleted' ? 'deleted' : str(data.status, 32);
    const status = raw ? SUBSCRIPTION_STATUSES[raw] : undefined;
    if (!subscriptionId || !status) {
      return [{ ...base, type: 'ignored' }];
    }
    return [
      {
        ...base,
        type: 'subscription.updated',
        externalSubscriptionId: subscriptionId,
        subscriptionStatus: status,
      },
    ];
  }
  return [{ ...base, type: 'ignored' }];
}

function amountOf(value: unknown, currency: unknown): { value: number; currency: string } | undefined {
  if ((typeof value !== 'number' && typeof value !== 'string') || typeof currency !== 'string') {
    return undefined;
  }
  try {
    const money = Money.fromMajor(value, currency);
    return { value: money.minor, currency: money.currency };
  } catch {
    throw new WebhookMalformedError(
      'smartpay notification: data.amount/currencyIsoCode are not a valid amount',
    );
  }
}
