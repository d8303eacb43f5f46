import type { KeyObject } from 'node:crypto';
import { jsonNestingDepth, MAX_JSON_DEPTH } from '../../common/http/json-depth';
import { WebhookMalformedError, WebhookUnauthenticatedError } from '../../inbox/webhook.errors';
import type { GatewayEvent, WebhookHeaders } from '../gateway.provider';
import { mapSgDecline } from './smart-glocal.errors';
import { cardOf, currentPayment, fromAmountDetails, toAction } from './smart-glocal.mapper';
import { SIGNATURE_HEADER, verifyBody } from './smart-glocal.signature';
import type { SgAcquiringPayment, SgSession, SgWebhook } from './smart-glocal.types';

const REFUND_SUCCEEDED = new Set(['accepted', 'succeeded']);
const REFUND_FAILED = new Set(['failed', 'rejected', 'declined']);

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Verifies `X-PARTNER-SIGN` over the raw body with Smart Glocal's public key before anything is read (401
 * otherwise), then turns `{type, session}` into normalised events keyed so that Smart Glocal's resends (it
 * retries for 30 minutes) deduplicate in the inbox. Unknown fields are ignored; unknown types are `ignored`.
 */
export function parseSmartGlocalWebhook(
  headers: WebhookHeaders,
  rawBody: Buffer,
  publicKey: KeyObject,
): GatewayEvent[] {
  const signature = headerValue(headers, SIGNATURE_HEADER);
  if (!signature || !verifyBody(rawBody, signature, publicKey)) {
    throw new WebhookUnauthenticatedError('X-PARTNER-SIGN missing or invalid');
  }
  if (jsonNestingDepth(rawBody) > MAX_JSON_DEPTH) {
    throw new WebhookMalformedError(`body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new WebhookMalformedError('body is not JSON');
  }
  if (!isWebhook(body)) {
    throw new WebhookMalformedError('body must be {type: string, session: {id: string, ...}}');
  }
  return eventsOf(body);
}

function isWebhook(body: unknown): body is SgWebhook {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return false;
  }
  const { type, session } = body as { type?: unknown; session?: unknown };
  if (typeof type !== 'string' || typeof session !== 'object' || session === null) {
    return false;
  }
  const { id, acquiring_payments: payments } = session as { id?: unknown; acquiring_payments?: unknown };
  return (
    typeof id === 'string' &&
    id !== '' &&
    (payments === undefined ||
      (Array.isArray(payments) &&
        payments.every(
          (p) =>
            typeof p === 'object' &&
            p !== null &&
            typeof (p as { id?: unknown }).id === 'string' &&
            typeof (p as { status?: unknown }).status === 'string',
        )))
  );
}

/** Our ids echoed through the session's metadata. */
function ours(session: SgSession): Pick<GatewayEvent, 'reference' | 'attemptKey' | 'subscriptionReference'> {
  const meta = typeof session.metadata === 'object' && session.metadata !== null ? session.metadata : {};
  const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const reference = s(meta.connector_reference);
  const attemptKey = s(meta.connector_attempt);
  const subscriptionReference = s(meta.connector_subscription);
  return {
    ...(reference ? { reference } : {}),
    ...(attemptKey ? { attemptKey } : {}),
    ...(subscriptionReference ? { subscriptionReference } : {}),
  };
}

function eventsOf(webhook: SgWebhook): GatewayEvent[] {
  const session = webhook.session;
  const payment = currentPayment(session);
  const amount = fromAmountDetails(payment?.amount_details);
  const key = `${session.id}:${payment?.id ?? '-'}:${webhook.type}`;
  const common = {
    rawType: webhook.type,
    externalPaymentId: session.id,
    ...ours(session),
    ...(amount ? { amount } : {}),
  };
  switch (webhook.type) {
    case 'ready_to_confirm':
      return [{ ...common, eventKey: key, type: 'payment.confirmation_requested' }];
    case 'action_required': {
      const action = toAction(payment?.customer_interaction?.redirect);
      return [
        action
          ? { ...common, eventKey: key, type: 'payment.action_required', action }
          : { ...common, eventKey: key, type: 'ignored' },
      ];
    }
    case 'payment_finished':
      return [finished(common, key, payment)];
    case 'payment_refunded':
      return refunded(common, session, payment);
    default:
      return [{ ...common, eventKey: key, type: 'ignored' }];
  }
}

function finished(
  common: Omit<GatewayEvent, 'eventKey' | 'type'>,
  key: string,
  payment: SgAcquiringPayment | undefined,
): GatewayEvent {
  const card = cardOf(payment);
  if (payment?.status === 'succeeded') {
    const token =
      payment.recurrent?.is_active !== false && typeof payment.recurrent?.token === 'string'
        ? payment.recurrent.token
        : undefined;
    return {
      ...common,
      eventKey: `${key}:succeeded`,
      type: 'payment.paid',
      ...(token ? { token } : {}),
      ...(card ? { card } : {}),
    };
  }
  if (payment?.status === 'failed') {
    const decline = mapSgDecline(payment.error);
    return {
      ...common,
      eventKey: `${key}:failed`,
      type: 'payment.refused',
      decline,
      reason: decline.rawReason ?? decline.reason,
    };
  }
  return { ...common, eventKey: `${key}:${payment?.status ?? 'none'}`, type: 'ignored' };
}

/** One event per refund that reached an end (a session may list several refunds, partial ones included). */
function refunded(
  common: Omit<GatewayEvent, 'eventKey' | 'type'>,
  session: SgSession,
  payment: SgAcquiringPayment | undefined,
): GatewayEvent[] {
  const paid = payment?.amount_details?.amount;
  const events: GatewayEvent[] = [];
  for (const refund of payment?.refunds ?? []) {
    const succeeded = REFUND_SUCCEEDED.has(refund.status);
    if (!succeeded && !REFUND_FAILED.has(refund.status)) {
      continue; // still in progress: a later webhook ends it
    }
    const amount = fromAmountDetails(refund.amount_details);
    const ourRefund = refund.metadata?.connector_refund;
    events.push({
      ...common,
      eventKey: `${refund.id}:${refund.status}`,
      type: succeeded ? 'refund.succeeded' : 'refund.failed',
      // the refund's id is our reference; the payment's id is its paymentReference
      reference: typeof ourRefund === 'string' && ourRefund !== '' ? ourRefund : undefined,
      ...(common.reference ? { paymentReference: common.reference } : {}),
      externalModificationId: refund.id,
      ...(amount ? { amount, partial: paid !== undefined && amount.value < paid } : {}),
      ...(succeeded ? {} : { reason: `refund ${refund.status}` }),
    });
  }
  if (events.length === 0) {
    events.push({
      ...common,
      eventKey: `${session.id}:${payment?.id ?? '-'}:payment_refunded:open`,
      type: 'ignored',
    });
  }
  return events;
}
