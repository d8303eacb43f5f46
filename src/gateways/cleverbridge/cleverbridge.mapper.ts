import { createHash } from 'node:crypto';
import { FieldError } from '../../common/errors/domain-error';
import { InvalidMoneyError, Money } from '../../common/money/money';
import { decline, Decline, DeclineCode } from '../decline-codes';
import {
  GatewayOutcomeUnknownError,
  GatewayRequestRejectedError,
  GatewayUnavailableError,
} from '../gateway.errors';
import {
  CallLookupInput,
  CallLookupResult,
  CartCustomer,
  GatewayEvent,
  GatewayEventType,
  PaymentResult,
  ProcessCartInput,
  RebillInput,
  WebhookHeaders,
} from '../gateway.provider';
import { WebhookMalformedError } from '../../inbox/webhook.errors';
import { verifyWebhookBasicAuth } from '../webhook-basic-auth';
import { CleverbridgeValidationError } from './cleverbridge.errors';
import { jsonNestingDepth, MAX_JSON_DEPTH } from '../../common/http/json-depth';
import {
  CleverbridgeCart,
  CleverbridgeCartItem,
  CleverbridgeErrorResponse,
  CleverbridgeExtraParameters,
  CleverbridgeNotification,
  CleverbridgeNotificationType,
  CleverbridgePaymentError,
  CleverbridgeProcessCartMode,
  CleverbridgeProcessCartRequest,
  CleverbridgeProcessCartRequestBody,
  CleverbridgeProcessCartResponse,
  CleverbridgePurchaseListEntry,
  CLEVERBRIDGE_NOTIFICATION_TYPES,
} from './cleverbridge.types';

const GATEWAY = 'cleverbridge';
const PREFIX = 'cleverbridge notification: ';

/** The seed: "A session URL is only valid for 72 hours before it expires." */
export const CUSTOMER_ACTION_URL_TTL_MS = 72 * 60 * 60 * 1000;

/**
 * x-parameters the connector adds to every ProcessCart (they come back in every notification):
 * - `x-connector-attempt`: our attempt id (the call's idempotency key). Cleverbridge has no idempotency
 *   header, so this is our idempotency-out marker: a repeated attempt carries the same value, which the
 *   sandbox (and an operator looking at Cleverbridge's order list) uses to recognise the repeat.
 * - `x-connector-reference`: our payment id, to match notifications to the local payment.
 * - `x-connector-period`: rebills only, the period start (ISO date); with the subscription id this is the
 *   "Cleverbridge subscription id + period" key of DESIGN §5.
 * A caller-supplied value for one of these keys is replaced by ours.
 */
export const X_ATTEMPT = 'x-connector-attempt';
export const X_REFERENCE = 'x-connector-reference';
export const X_PERIOD = 'x-connector-period';
/**
 * Our connector-managed subscription id, supplied by the caller on the first purchase (checkout link or
 * `POST /v1/purchases`): Cleverbridge echoes it in the PaidOrderNotification, which then tells us the
 * Cleverbridge subscription id to rebill. Parsed into GatewayEvent.subscriptionReference.
 */
export const X_SUBSCRIPTION = 'x-connector-subscription';

/** x-parameters the connector sets itself on every cart; a caller may not supply them. */
export const RESERVED_X_PARAMETERS: readonly string[] = [X_ATTEMPT, X_REFERENCE, X_PERIOD];
const MAX_X_PARAMETERS = 50;

/** What a caller may send: Cleverbridge's x-parameter rules, none of the connector's keys, at most 50. */
export function callerExtraParameterProblems(value: unknown, field = 'extraParameters'): string[] {
  const problems = validateExtraParameters(value, field);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const reserved = Object.keys(value).filter((key) => RESERVED_X_PARAMETERS.includes(key));
    if (reserved.length > 0) {
      problems.push(
        `${field}: ${reserved.map((k) => JSON.stringify(k)).join(', ')} ${reserved.length > 1 ? 'are' : 'is'} set by the connector`,
      );
    }
    if (Object.keys(value).length > MAX_X_PARAMETERS) {
      problems.push(`${field}: at most ${MAX_X_PARAMETERS} x-parameters`);
    }
  }
  return problems;
}

const X_PARAMETER_KEY = /^x-[A-Za-z0-9_.-]+$/;
const MAX_X_PARAMETER_VALUE = 1000;

/**
 * Checks x-parameters: every key must begin with `x-` (seed: "It is important that all keys begin with x-")
 * and every value must be a string. Returns one message per problem, naming the bad keys, so the API
 * layer can answer `400` with the same wording. Empty when valid (or when there are none).
 */
export function validateExtraParameters(params: unknown, field = 'extraParameters'): string[] {
  if (params === undefined || params === null) {
    return [];
  }
  if (typeof params !== 'object' || Array.isArray(params)) {
    return [`${field} must be an object of "x-..." keys to string values`];
  }
  const messages: string[] = [];
  const entries = Object.entries(params as Record<string, unknown>);
  const badKeys = entries.map(([key]) => key).filter((key) => !X_PARAMETER_KEY.test(key));
  if (badKeys.length > 0) {
    messages.push(
      `${field}: keys must start with "x-" followed by letters, digits, "-", "_" or "." (bad: ${badKeys
        .map((k) => JSON.stringify(k))
        .join(', ')})`,
    );
  }
  const badValues = entries.filter(([, value]) => typeof value !== 'string').map(([key]) => key);
  if (badValues.length > 0) {
    messages.push(
      `${field}: values must be strings (bad: ${badValues.map((k) => JSON.stringify(k)).join(', ')})`,
    );
  }
  const tooLong = entries
    .filter(([, value]) => typeof value === 'string' && value.length > MAX_X_PARAMETER_VALUE)
    .map(([key]) => key);
  if (tooLong.length > 0) {
    messages.push(
      `${field}: values must be at most ${MAX_X_PARAMETER_VALUE} characters (bad: ${tooLong
        .map((k) => JSON.stringify(k))
        .join(', ')})`,
    );
  }
  return messages;
}

function customerFields(customer: CartCustomer): { field: string; value: unknown }[] {
  return Object.entries(customer).map(([field, value]) => ({ field: `customer.${field}`, value }));
}

/** Every problem with a cart, as field errors (empty when it can be sent). */
export function validateProcessCartInput(input: ProcessCartInput): FieldError[] {
  const errors: FieldError[] = [];
  const add = (field: string, ...messages: string[]): void => {
    if (messages.length > 0) {
      errors.push({ field, messages });
    }
  };
  const ids = customerFields(input.customer).filter(({ value }) => value !== undefined);
  if (ids.length !== 1) {
    add('customer', 'exactly one of logonPurchaseId, customerReferenceId, subscriptionId is required');
  }
  for (const { field, value } of ids) {
    if (typeof value !== 'string' || value.trim() === '') {
      add(field, 'must be a non-empty string');
    }
  }
  if (input.items.length === 0) {
    add('items', 'at least one item is required');
  }
  const currencies = new Set<string>();
  input.items.forEach((item, i) => {
    if (item.productId.trim() === '') {
      add(`items[${i}].productId`, 'must be a non-empty string');
    }
    if (!Number.isSafeInteger(item.quantity) || item.quantity < 1) {
      add(`items[${i}].quantity`, 'must be a positive integer');
    }
    if (item.dynamicPrice) {
      currencies.add(item.dynamicPrice.currency);
    }
    add(`items[${i}].extraParameters`, ...validateExtraParameters(item.extraParameters, 'extraParameters'));
  });
  if (currencies.size > 1) {
    add('items', `all dynamic prices must be in one currency (got ${[...currencies].join(', ')})`);
  }
  add('extraParameters', ...validateExtraParameters(input.extraParameters, 'extraParameters'));
  if (input.defaultCountryId !== undefined && !/^[A-Z]{2}$/.test(input.defaultCountryId)) {
    add('defaultCountryId', 'must be an ISO 3166-1 alpha-2 code (e.g. "US")');
  }
  if (input.defaultLanguageId !== undefined && !/^[a-z]{2}$/.test(input.defaultLanguageId)) {
    add('defaultLanguageId', 'must be an ISO 639-1 code (e.g. "en")');
  }
  return errors;
}

function toExtraParameters(
  params: Record<string, string> | undefined,
): CleverbridgeExtraParameters | undefined {
  const entries = Object.entries(params ?? {});
  if (entries.length === 0) {
    return undefined;
  }
  return { extraParameter: entries.map(([key, value]) => ({ key, value })) };
}

export const PROCESS_CART_MODES: Record<ProcessCartInput['mode'], CleverbridgeProcessCartMode> = {
  interactive: 'Interactive',
  'non-interactive': 'NonInteractive',
};

function toCart(input: ProcessCartInput): CleverbridgeCart {
  const items = input.items.map((item): CleverbridgeCartItem => {
    const extraParameters = toExtraParameters(item.extraParameters);
    return {
      productId: item.productId,
      quantity: item.quantity,
      ...(item.additionalName !== undefined ? { additionalName: item.additionalName } : {}),
      ...(item.dynamicName !== undefined ? { dynamicProductName: item.dynamicName } : {}),
      ...(item.dynamicPrice
        ? {
            dynamicPrice: {
              amount: item.dynamicPrice.toMajorNumber(),
              currencyId: item.dynamicPrice.currency,
            },
          }
        : {}),
      ...(extraParameters ? { extraParameters } : {}),
    };
  });
  const customer = input.customer;
  return {
    items,
    ...('logonPurchaseId' in customer ? { logonPurchaseId: customer.logonPurchaseId } : {}),
    ...('customerReferenceId' in customer ? { customerReferenceId: customer.customerReferenceId } : {}),
  };
}

/**
 * Our cart -> the ProcessCart body (seed + DESIGN §10). Validates first and throws
 * CleverbridgeValidationError listing every problem; adds the connector's x-parameters.
 */
export function toProcessCartRequest(input: ProcessCartInput): CleverbridgeProcessCartRequest {
  const errors = validateProcessCartInput(input);
  if (errors.length > 0) {
    throw new CleverbridgeValidationError(errors);
  }
  const extraParameters = toExtraParameters({
    ...input.extraParameters,
    [X_ATTEMPT]: input.idempotencyKey,
    [X_REFERENCE]: input.reference,
  });
  const body: CleverbridgeProcessCartRequestBody = {
    cart: toCart(input),
    ...(input.defaultCountryId !== undefined ? { defaultCountryId: input.defaultCountryId } : {}),
    ...(input.defaultLanguageId !== undefined ? { defaultLanguageId: input.defaultLanguageId } : {}),
    ...(extraParameters ? { extraParameters } : {}),
    ...(input.extraParameterMode !== undefined ? { extraParameterMode: input.extraParameterMode } : {}),
    processCartMode: PROCESS_CART_MODES[input.mode],
    ...('subscriptionId' in input.customer
      ? { subscription: { subscriptionId: input.customer.subscriptionId } }
      : {}),
  };
  return { processCartRequest: body };
}

/**
 * One connector-managed period -> a non-interactive ProcessCart that charges the existing Cleverbridge
 * subscription (never a new one). `amount` is the period total: it is sent as the dynamic unit price,
 * divided by the quantity (it must divide exactly, so what is charged is exactly `amount`).
 */
export function toRebillCart(input: RebillInput): ProcessCartInput {
  const errors: FieldError[] = [];
  const quantity = input.quantity ?? 1;
  if (!input.externalSubscriptionId) {
    errors.push({
      field: 'externalSubscriptionId',
      messages: [
        'the Cleverbridge subscription id is required (without it Cleverbridge creates a new subscription)',
      ],
    });
  }
  if (!input.productId) {
    errors.push({ field: 'productId', messages: ['the Cleverbridge product id is required'] });
  }
  if (!Number.isSafeInteger(quantity) || quantity < 1) {
    errors.push({ field: 'quantity', messages: ['must be a positive integer'] });
  } else if (input.amount.minor % quantity !== 0) {
    errors.push({
      field: 'amount',
      messages: [`${input.amount.minor} minor units cannot be split evenly over quantity ${quantity}`],
    });
  }
  if (errors.length > 0 || !input.externalSubscriptionId || !input.productId) {
    throw new CleverbridgeValidationError(errors);
  }
  return {
    idempotencyKey: input.idempotencyKey,
    reference: input.reference,
    customer: { subscriptionId: input.externalSubscriptionId },
    items: [
      {
        productId: input.productId,
        quantity,
        dynamicPrice: Money.of(input.amount.minor / quantity, input.amount.currency),
      },
    ],
    mode: 'non-interactive',
    extraParameters: {
      ...input.extraParameters,
      [X_PERIOD]: input.periodStart.toISOString().slice(0, 10),
    },
    ...(input.customer.country ? { defaultCountryId: input.customer.country } : {}),
    ...(input.defaultLanguageId !== undefined ? { defaultLanguageId: input.defaultLanguageId } : {}),
  };
}

/** Cleverbridge payment error codes -> normalised declines. The codes ARE our common vocabulary. */
export const CLEVERBRIDGE_DECLINE_CODES: Record<string, DeclineCode> = {
  PAY_CEX: 'PAY_CEX', // Card expired
  PAY_CLE: 'PAY_CLE', // Credit card limit exceeded
  PAY_DEC: 'PAY_DEC', // General decline
  PAY_REJ: 'PAY_REJ', // Rejected by issuing bank
  FRA_REJ: 'FRA_REJ', // Rejected for fraud
  PAY_SCO: 'PAY_SCO', // Security code validation failed
  CCA_EXP: 'CCA_EXP', // Expired, not extended by the Account Updater
};

/** A Cleverbridge payment error -> normalised decline; unknown codes are PAY_DEC with the raw code kept. */
export function mapPaymentError(error: CleverbridgePaymentError): Decline {
  const code = Object.hasOwn(CLEVERBRIDGE_DECLINE_CODES, error.code)
    ? CLEVERBRIDGE_DECLINE_CODES[error.code]
    : undefined;
  return decline(code ?? 'PAY_DEC', { code: error.code, reason: error.message });
}

export interface ProcessCartContext {
  mode: ProcessCartInput['mode'];
  /** for `actionExpiresAt` */
  now: Date;
}

function paymentErrorOf(res: CleverbridgeProcessCartResponse): CleverbridgePaymentError | undefined {
  const error = res.paymentResult ?? res.error;
  return error && typeof error.code === 'string' && error.code !== '' ? error : undefined;
}

/**
 * A 200 ProcessCart answer -> our result.
 *
 * - `Paid` -> `captured` (externalPaymentId = purchase id; a new subscription id in `state.subscriptionId`).
 * - `WaitingForOfflinePayment` -> `pending` (PaidOrderNotification follows when the money arrives).
 * - Interactive `Pending` (declined; URL to change the payment details) and `CustomerActionNeeded` (session
 *   URL) -> `action_required` with a hosted action, `actionExpiresAt` = now + 72 h, `decline` when a payment
 *   error code came back, `retryScheduled` from IsPaymentRetryScheduled (without a URL there is nothing for
 *   the customer to do: treated like non-interactive). The seed states 72 h for session
 *   URLs only; we apply the same 72 h to the Pending URL so an unanswered decline goes back to dunning (a
 *   later PaidOrderNotification for the purchase still settles it).
 * - Non-interactive `Pending` / `CustomerActionNeeded` -> `rejected` (no customer is present to act): decline
 *   from the payment error code, or PAY_DEC with the status as raw code; `retryScheduled` as reported (when
 *   true the decline is not final: Cleverbridge retries in an hour and may still send PaidOrderNotification);
 *   the customer URL, if any, is kept as `action` + `actionExpiresAt` for a dunning e-mail.
 * - A status we do not know -> GatewayOutcomeUnknownError (Cleverbridge may have charged).
 */
export function fromProcessCartResponse(
  res: CleverbridgeProcessCartResponse,
  ctx: ProcessCartContext,
): PaymentResult {
  if (typeof res !== 'object' || res === null) {
    throw new GatewayOutcomeUnknownError(GATEWAY, 'ProcessCart answered 200 without a JSON body');
  }
  const base: PaymentResult = {
    status: 'pending',
    ...(res.purchaseId !== undefined && res.purchaseId !== null && String(res.purchaseId) !== ''
      ? { externalPaymentId: String(res.purchaseId) }
      : {}),
  };
  const status = res.status as string;
  switch (status) {
    case 'Paid':
      return {
        ...base,
        status: 'captured',
        ...(res.subscriptionId ? { state: { subscriptionId: res.subscriptionId } } : {}),
      };
    case 'WaitingForOfflinePayment':
      return { ...base, status: 'pending' };
    case 'Pending':
    case 'CustomerActionNeeded': {
      const error = paymentErrorOf(res);
      const retryScheduled = res.isPaymentRetryScheduled === true;
      const action =
        typeof res.url === 'string' && res.url !== ''
          ? {
              action: { type: 'hosted' as const, url: res.url },
              actionExpiresAt: new Date(ctx.now.getTime() + CUSTOMER_ACTION_URL_TTL_MS),
            }
          : {};
      if (ctx.mode === 'interactive' && 'action' in action) {
        return {
          ...base,
          status: 'action_required',
          ...action,
          ...(error ? { decline: mapPaymentError(error) } : {}),
          retryScheduled,
        };
      }
      return {
        ...base,
        status: 'rejected',
        decline: error ? mapPaymentError(error) : decline('PAY_DEC', { code: status }),
        retryScheduled,
        ...action,
      };
    }
    default:
      throw new GatewayOutcomeUnknownError(
        GATEWAY,
        `ProcessCart answered 200 with an unknown status ${JSON.stringify(res.status)}`,
      );
  }
}

/** A non-2xx answer -> the error to throw (400 InvalidRequest is ours to fix; 5xx may be retried). */
/** Purchase statuses that mean the customer was charged (what happened after is told by notifications). */
const CHARGED_PURCHASE_STATUSES = ['Paid', 'Refunded', 'PartiallyRefunded', 'ChargedBack'];
/** Purchase statuses that mean nothing was or will be charged for it. */
const DEAD_PURCHASE_STATUSES = ['Canceled', 'Cancelled', 'Expired'];

/** One listed purchase -> what the lost ProcessCart did, as a ProcessCart answer would have said it. */
function fromListedPurchase(entry: CleverbridgePurchaseListEntry): PaymentResult {
  const base = { externalPaymentId: String(entry.purchaseId) };
  const status = entry.status ?? '';
  if (CHARGED_PURCHASE_STATUSES.includes(status)) {
    return { ...base, status: 'captured' };
  }
  if (DEAD_PURCHASE_STATUSES.includes(status)) {
    return { ...base, status: 'rejected', decline: decline('PAY_DEC', { code: status }) };
  }
  switch (status) {
    case 'WaitingForOfflinePayment':
      return { ...base, status: 'pending' };
    case 'AwaitingCustomer':
      return {
        ...base,
        status: 'action_required',
        decline: entry.paymentResult
          ? mapPaymentError(entry.paymentResult)
          : decline('PAY_DEC', { code: 'CustomerActionNeeded' }),
      };
    case 'Declined':
      return {
        ...base,
        status: 'rejected',
        decline: entry.paymentResult
          ? mapPaymentError(entry.paymentResult)
          : decline('PAY_DEC', { code: status }),
        retryScheduled: entry.isPaymentRetryScheduled === true,
      };
    default:
      throw new GatewayOutcomeUnknownError(
        GATEWAY,
        `getpurchaselist: unknown purchase status ${JSON.stringify(status)}`,
      );
  }
}

/**
 * The purchases a lost ProcessCart may have made: those carrying its `x-connector-attempt`, or the purchase id an
 * earlier answer named. A paid one wins over others (a second purchase is reported by its notification).
 */
export function fromPurchaseList(body: unknown, query: CallLookupInput): CallLookupResult {
  const list = isRecord(body) ? body.purchases : undefined;
  if (!Array.isArray(list)) {
    throw new GatewayOutcomeUnknownError(GATEWAY, 'getpurchaselist answered without a purchase list');
  }
  const mine = (list as unknown[])
    .filter(isRecord)
    .map((e) => e as unknown as CleverbridgePurchaseListEntry)
    .filter(
      (e) =>
        (query.externalPaymentId !== undefined && idString(e.purchaseId) === query.externalPaymentId) ||
        extraParametersOf(e.extraParameters)[X_ATTEMPT] === query.idempotencyKey,
    );
  const chosen =
    mine.find((e) => CHARGED_PURCHASE_STATUSES.includes(e.status ?? '')) ?? mine[mine.length - 1];
  return chosen ? { kind: 'found', result: fromListedPurchase(chosen) } : { kind: 'not_found' };
}

export function errorForStatus(httpStatus: number, body: unknown, path = '/cart/processcart'): Error {
  const res = (typeof body === 'object' && body !== null ? body : {}) as CleverbridgeErrorResponse;
  const code = res.error?.code ?? res.status;
  const detail = res.error?.message ?? (typeof body === 'string' ? body.slice(0, 200) : '');
  const message = `Cleverbridge ${path} answered ${httpStatus}${code ? ` ${code}` : ''}${
    detail ? `: ${detail}` : ''
  }`;
  if (httpStatus >= 500 || httpStatus === 429 || httpStatus === 408) {
    return new GatewayUnavailableError(GATEWAY, message, false, httpStatus);
  }
  return new GatewayRequestRejectedError(GATEWAY, message, httpStatus, code);
}

// ---- notifications ---------------------------------------------------------------------------------------

/**
 * One normalised Cleverbridge notification: the shared GatewayEvent plus what Cleverbridge echoes back.
 *
 * - PaidOrderNotification -> `payment.paid` (externalPaymentId = purchase id, externalSubscriptionId =
 *   recurringBilling.subscriptionId, amount = purchase total, reference = our payment id from x-connector-reference)
 * - RefundNotification / PartialRefundNotification -> `refund.succeeded` (amount = refunded amount,
 *   externalModificationId = refund id; refunds are made in Cleverbridge, so there is no refund id of ours)
 * - ChargebackNotification -> `chargeback` (amount = charged-back amount)
 * - NewOfflinePaymentPurchaseNotification and every other type -> `ignored` (the ProcessCart answer already
 *   said `pending`; the PaidOrderNotification settles it)
 */
export interface CleverbridgeEvent extends GatewayEvent {
  /** every cart-level x-parameter the notification echoed */
  extraParameters: Record<string, string>;
}

const EVENT_TYPES: Record<CleverbridgeNotificationType, GatewayEventType> = {
  PaidOrderNotification: 'payment.paid',
  NewOfflinePaymentPurchaseNotification: 'ignored',
  RefundNotification: 'refund.succeeded',
  PartialRefundNotification: 'refund.succeeded',
  ChargebackNotification: 'chargeback',
};

function isKnownType(type: string): type is CleverbridgeNotificationType {
  return (CLEVERBRIDGE_NOTIFICATION_TYPES as readonly string[]).includes(type);
}

/** Cleverbridge notifications are authenticated with HTTP Basic (never reads the body). */
export function verifyBasicAuth(
  headers: WebhookHeaders,
  expected: { username: string; password: string },
): void {
  verifyWebhookBasicAuth(headers, expected, 'cleverbridge notification');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idString(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') {
    return value.trim();
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    return String(value);
  }
  return undefined;
}

function extraParametersOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const list = isRecord(value) ? value.extraParameter : undefined;
  const entries = Array.isArray(list) ? list : isRecord(list) ? [list] : [];
  for (const entry of entries) {
    if (isRecord(entry) && typeof entry.key === 'string' && typeof entry.value === 'string') {
      out[entry.key] = entry.value;
    }
  }
  return out;
}

function moneyOf(amount: unknown, currency: unknown, what: string): Money | undefined {
  if (amount === undefined || amount === null) {
    return undefined;
  }
  if ((typeof amount !== 'number' && typeof amount !== 'string') || typeof currency !== 'string') {
    throw new WebhookMalformedError(PREFIX + `${what} needs a numeric amount and a currencyId`);
  }
  try {
    return Money.fromMajor(amount, currency);
  } catch (err) {
    if (err instanceof InvalidMoneyError) {
      throw new WebhookMalformedError(PREFIX + `${what}: ${err.message}`);
    }
    throw err;
  }
}

function subscriptionIdOf(n: Record<string, unknown>, purchase: Record<string, unknown>): string | undefined {
  const top = isRecord(n.recurringBilling) ? idString(n.recurringBilling.subscriptionId) : undefined;
  if (top) {
    return top;
  }
  const items = Array.isArray(purchase.items) ? (purchase.items as unknown[]) : [];
  for (const item of items) {
    const id =
      isRecord(item) && isRecord(item.recurringBilling)
        ? idString(item.recurringBilling.subscriptionId)
        : undefined;
    if (id) {
      return id;
    }
  }
  return undefined;
}

/**
 * Dedupe key (GatewayEvent.eventKey). Paid / offline / full refund / chargeback happen once per purchase, so `type:purchaseId`
 * (plus the refund or chargeback id when one is given) survives a re-send with a new notification id;
 * partial refunds and every other type use `meta.id`, or a hash of the exact body when there is none.
 */
export function notificationEventKey(
  rawType: string,
  purchaseId: string | undefined,
  subId: string | undefined,
  metaId: string | undefined,
  rawBody: Buffer,
): string {
  const oncePerPurchase =
    rawType === 'PaidOrderNotification' ||
    rawType === 'NewOfflinePaymentPurchaseNotification' ||
    rawType === 'RefundNotification' ||
    rawType === 'ChargebackNotification';
  if (purchaseId && (oncePerPurchase || subId)) {
    return [rawType, purchaseId, ...(subId ? [subId] : [])].join(':');
  }
  const unique = metaId ?? createHash('sha256').update(rawBody).digest('hex').slice(0, 32);
  return [rawType, ...(purchaseId ? [purchaseId] : []), unique].join(':');
}

/** An authenticated notification body -> normalised events. Throws WebhookMalformedError. */
export function parseNotification(rawBody: Buffer): CleverbridgeEvent[] {
  if (jsonNestingDepth(rawBody) > MAX_JSON_DEPTH) {
    throw new WebhookMalformedError(`body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new WebhookMalformedError(PREFIX + 'body is not JSON');
  }
  if (
    !isRecord(parsed) ||
    !isRecord(parsed.meta) ||
    typeof parsed.meta.type !== 'string' ||
    parsed.meta.type === ''
  ) {
    throw new WebhookMalformedError(PREFIX + 'body has no meta.type');
  }
  const n = parsed as Record<string, unknown> & Pick<CleverbridgeNotification, 'meta'>;
  const rawType = n.meta.type;
  const metaId = idString(n.meta.id);
  const occurredAt = typeof n.meta.createdAt === 'string' ? { occurredAt: n.meta.createdAt } : {};
  const purchase = isRecord(n.purchase) ? n.purchase : undefined;
  const purchaseId = purchase ? idString(purchase.id) : undefined;

  if (!isKnownType(rawType)) {
    return [
      {
        type: 'ignored',
        rawType,
        eventKey: notificationEventKey(rawType, purchaseId, undefined, metaId, rawBody),
        ...(purchaseId ? { externalPaymentId: purchaseId } : {}),
        extraParameters: purchase ? extraParametersOf(purchase.extraParameters) : {},
        ...occurredAt,
      },
    ];
  }
  if (!purchase || !purchaseId) {
    throw new WebhookMalformedError(PREFIX + `${rawType} without purchase.id`);
  }

  let amount: Money | undefined;
  let subId: string | undefined;
  const total = (): Money | undefined =>
    moneyOf(purchase.totalGross, purchase.currencyId, 'purchase.totalGross');
  switch (rawType) {
    case 'PaidOrderNotification':
    case 'NewOfflinePaymentPurchaseNotification':
      amount = total();
      break;
    case 'RefundNotification':
    case 'PartialRefundNotification': {
      const refund = isRecord(n.refund) ? n.refund : undefined;
      subId = refund ? idString(refund.id) : undefined;
      amount = refund ? moneyOf(refund.amount, refund.currencyId, 'refund.amount') : undefined;
      if (!amount && rawType === 'PartialRefundNotification') {
        throw new WebhookMalformedError(PREFIX + 'PartialRefundNotification without refund.amount');
      }
      amount ??= total();
      break;
    }
    case 'ChargebackNotification': {
      const chargeback = isRecord(n.chargeback) ? n.chargeback : undefined;
      subId = chargeback ? idString(chargeback.id) : undefined;
      amount =
        (chargeback ? moneyOf(chargeback.amount, chargeback.currencyId, 'chargeback.amount') : undefined) ??
        total();
      break;
    }
  }

  const extraParameters = extraParametersOf(purchase.extraParameters);
  const subscriptionId = subscriptionIdOf(n, purchase);
  const attempt = extraParameters[X_ATTEMPT];
  const reference = extraParameters[X_REFERENCE];
  const subscriptionReference = extraParameters[X_SUBSCRIPTION];
  const type = EVENT_TYPES[rawType];
  return [
    {
      type,
      rawType,
      eventKey: notificationEventKey(rawType, purchaseId, subId, metaId, rawBody),
      externalPaymentId: purchaseId,
      ...(subId ? { externalModificationId: subId } : {}),
      ...(subscriptionId ? { externalSubscriptionId: subscriptionId } : {}),
      ...(amount ? { amount: amount.toJSON() } : {}),
      ...(type === 'refund.succeeded' ? { partial: rawType === 'PartialRefundNotification' } : {}),
      extraParameters,
      ...(attempt !== undefined ? { attemptKey: attempt } : {}),
      ...(reference !== undefined && type === 'payment.paid' ? { reference } : {}),
      ...(reference !== undefined ? { paymentReference: reference } : {}),
      ...(subscriptionReference !== undefined ? { subscriptionReference } : {}),
      ...occurredAt,
    },
  ];
}
