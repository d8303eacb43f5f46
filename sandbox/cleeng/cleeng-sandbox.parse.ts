import {
  CreateOrderInput,
  CreatePaymentDetailsInput,
  CreatePaymentInput,
  fail,
  InlinePaymentDetailsInput,
  NewPaymentStatus,
  Outcome,
  PAYMENT_OPERATIONS,
  PaymentMethodSpecificParams,
  REFUND_TYPES,
  SUBSCRIPTION_STATUSES,
  succeed,
  TERMINATION_TYPES,
  TerminationType,
  UpdatePaymentInput,
  UpdateSubscriptionInput,
} from './cleeng-sandbox.types';
import { Money } from '../shared/money';
import type { ExternalPaymentInput, SubscriptionListFilter } from './cleeng-sandbox.store';

/**
 * Hand-written validation of Cleeng request bodies. Unknown fields are refused (400) so a misspelt
 * field name in the connector fails loudly here instead of being silently ignored.
 */

class InvalidField extends Error {}

type JsonObject = Record<string, unknown>;

const MAX_TEXT = 1024;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads typed fields from a JSON object; the first problem ends parsing with `<field>: <problem>`. */
class FieldReader {
  constructor(
    private readonly fields: JsonObject,
    private readonly prefix = '',
  ) {}

  static of(body: unknown, allowed: readonly string[], prefix = ''): FieldReader {
    if (!isObject(body)) {
      throw new InvalidField(`${prefix || 'body'}: must be a JSON object`);
    }
    const unknownField = Object.keys(body).find((key) => !allowed.includes(key));
    if (unknownField !== undefined) {
      throw new InvalidField(`${prefix}${unknownField}: is not a known field`);
    }
    return new FieldReader(body, prefix);
  }

  has(name: string): boolean {
    return this.fields[name] !== undefined && this.fields[name] !== null;
  }

  raw(name: string): unknown {
    return this.required(name);
  }

  /** Cleeng ids are integers; its own examples send them both as numbers and as digit strings. */
  id(name: string): number {
    const value = this.required(name);
    const id = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
      throw this.invalid(name, 'must be a positive integer');
    }
    return id;
  }

  optionalId(name: string): number | undefined {
    return this.has(name) ? this.id(name) : undefined;
  }

  text(name: string, pattern?: { regex: RegExp; describe: string }): string {
    const value = this.required(name);
    if (typeof value !== 'string' || value.trim() === '') {
      throw this.invalid(name, 'must be a non-empty string');
    }
    if (value.length > MAX_TEXT) {
      throw this.invalid(name, `must be at most ${MAX_TEXT} characters`);
    }
    if (pattern && !pattern.regex.test(value)) {
      throw this.invalid(name, pattern.describe);
    }
    return value;
  }

  optionalText(name: string): string | undefined {
    return this.has(name) ? this.text(name) : undefined;
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const value = this.required(name);
    const match = values.find((candidate) => candidate === value);
    if (match === undefined) {
      throw this.invalid(name, `must be one of ${values.join(', ')}`);
    }
    return match;
  }

  optionalOneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    return this.has(name) ? this.oneOf(name, values) : undefined;
  }

  optionalBoolean(name: string): boolean | undefined {
    if (!this.has(name)) {
      return undefined;
    }
    const value = this.fields[name];
    if (typeof value !== 'boolean') {
      throw this.invalid(name, 'must be a boolean');
    }
    return value;
  }

  /** A positive decimal amount in major units, kept as sent; the currency decides its precision later. */
  optionalAmount(name: string): number | string | undefined {
    if (!this.has(name)) {
      return undefined;
    }
    const value = this.fields[name];
    const positive =
      (typeof value === 'number' && Number.isFinite(value) && value > 0) ||
      (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) && Number(value) > 0);
    if (!positive) {
      throw this.invalid(name, 'must be an amount bigger than 0');
    }
    return value;
  }

  optionalObject(name: string): JsonObject | undefined {
    if (!this.has(name)) {
      return undefined;
    }
    const value = this.fields[name];
    if (!isObject(value)) {
      throw this.invalid(name, 'must be an object');
    }
    return value;
  }

  /** Card metadata: a flat object of strings (`lastCardFourDigits: "1111"`, not a number). */
  paymentMethodSpecificParams(name: string): PaymentMethodSpecificParams {
    const value = this.optionalObject(name) ?? {};
    const params: PaymentMethodSpecificParams = {};
    for (const [key, param] of Object.entries(value)) {
      if (typeof param !== 'string') {
        throw this.invalid(`${name}.${key}`, 'must be a string');
      }
      params[key] = param;
    }
    return params;
  }

  private required(name: string): unknown {
    if (!this.has(name)) {
      throw this.invalid(name, 'is required');
    }
    return this.fields[name];
  }

  private invalid(name: string, problem: string): InvalidField {
    return new InvalidField(`${this.prefix}${name}: ${problem}`);
  }
}

function parsing<T>(read: () => T): Outcome<T> {
  try {
    return succeed(read());
  } catch (error) {
    if (error instanceof InvalidField) {
      return fail(400, error.message);
    }
    throw error;
  }
}

function fieldProblem(message: string): never {
  throw new InvalidField(message);
}

const SUBSCRIPTION_LIST_STATUSES = ['active', 'stopped', 'terminated'] as const;

/**
 * `GET /3.1/subscriptions` query: customerId, offerId (only with customerId), paymentMethodId, status (one or
 * several), offset >= 0, limit 1..100.
 */
export function parseSubscriptionList(query: Record<string, unknown>): Outcome<SubscriptionListFilter> {
  return parsing(() => {
    const known = [
      'customerId',
      'offerId',
      'paymentMethodId',
      'status',
      'externalId',
      'transactionId',
      'offset',
      'limit',
    ];
    const unknown = Object.keys(query).filter((k) => !known.includes(k));
    if (unknown.length > 0) {
      fieldProblem(`${unknown[0] ?? ''}: unknown query parameter`);
    }
    const int = (name: string, min: number, max: number): number | undefined => {
      const raw = query[name];
      if (raw === undefined) {
        return undefined;
      }
      if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
        fieldProblem(`${name}: must be an integer from ${min} to ${max}`);
      }
      return Number(raw);
    };
    const customerId = int('customerId', 1, 999_999_999_999);
    const offerId = query.offerId;
    if (offerId !== undefined && (typeof offerId !== 'string' || customerId === undefined)) {
      fieldProblem('offerId: a single offer id, only together with customerId');
    }
    const rawStatus = query.status;
    const statuses =
      rawStatus === undefined ? undefined : (Array.isArray(rawStatus) ? rawStatus : [rawStatus]).map(String);
    if (statuses?.some((st) => !(SUBSCRIPTION_LIST_STATUSES as readonly string[]).includes(st))) {
      fieldProblem(`status: must be ${SUBSCRIPTION_LIST_STATUSES.join(', ')}`);
    }
    const paymentMethodId = int('paymentMethodId', 1, 999_999_999_999);
    return {
      ...(customerId !== undefined ? { customerId } : {}),
      ...(typeof offerId === 'string' ? { offerId } : {}),
      ...(paymentMethodId !== undefined ? { paymentMethodId } : {}),
      ...(statuses ? { statuses: statuses as SubscriptionListFilter['statuses'] } : {}),
      // the emulator's subscriptions carry no external or transaction id: such a filter matches none
      ...(query.externalId !== undefined || query.transactionId !== undefined ? { matchNone: true } : {}),
      offset: int('offset', 0, 1_000_000) ?? 0,
      limit: int('limit', 1, 100) ?? 100,
    };
  });
}

/** Path ids are digits only (Cleeng routes match `{id:\d+}`); anything else is simply not found. */
export function parsePathId(raw: string): number | undefined {
  if (!/^\d{1,15}$/.test(raw)) {
    return undefined;
  }
  const id = Number(raw);
  return id > 0 ? id : undefined;
}

const CURRENCY = { regex: /^[A-Z]{3}$/, describe: 'must be a 3-letter ISO 4217 code' };
const COUNTRY = { regex: /^[A-Z]{2}$/, describe: 'must be a 2-letter ISO 3166-1 code' };

/** Documented order fields we accept but do not model (tax, address, IP, gifting). */
const IGNORED_ORDER_FIELDS = [
  'taxRate',
  'billingAddress',
  'customerIpAddress',
  'buyAsAGift',
  'deliveryDetails',
];

export function parseCreateOrder(body: unknown): Outcome<CreateOrderInput> {
  return parsing(() => {
    const f = FieldReader.of(body, [
      'customerId',
      'offerId',
      'currency',
      'country',
      'paymentMethodId',
      'couponCode',
      'paymentOperation',
      'subscriptionId',
      ...IGNORED_ORDER_FIELDS,
    ]);
    const input: CreateOrderInput = {
      customerId: f.id('customerId'),
      offerId: f.text('offerId'),
      currency: f.text('currency', CURRENCY),
      country: f.text('country', COUNTRY),
      paymentMethodId: f.id('paymentMethodId'),
    };
    const couponCode = f.optionalText('couponCode');
    if (couponCode !== undefined) {
      input.couponCode = couponCode;
    }
    const paymentOperation = f.optionalOneOf('paymentOperation', ['recurring-payment'] as const);
    const subscriptionId = f.optionalId('subscriptionId');
    if ((paymentOperation === undefined) !== (subscriptionId === undefined)) {
      fieldProblem(
        paymentOperation === undefined
          ? 'paymentOperation: is required on pair with subscriptionId'
          : 'subscriptionId: is required on pair with paymentOperation',
      );
    }
    if (paymentOperation !== undefined && subscriptionId !== undefined) {
      input.recurring = { paymentOperation, subscriptionId };
    }
    return input;
  });
}

const NEW_PAYMENT_STATUSES = ['captured', 'authorized', 'authorised', 'rejected', 'cancelled'] as const;

function parseInlinePaymentDetails(value: unknown): InlinePaymentDetailsInput {
  const f = FieldReader.of(value, ['token', 'paymentMethodSpecificParams'], 'paymentDetails.');
  return {
    token: f.text('token'),
    paymentMethodSpecificParams: f.paymentMethodSpecificParams('paymentMethodSpecificParams'),
  };
}

export function parseCreatePayment(body: unknown): Outcome<CreatePaymentInput> {
  return parsing(() => {
    const f = FieldReader.of(body, [
      'orderId',
      'status',
      'paymentOperation',
      'externalPaymentId',
      'paymentDetails',
      'paymentDetailsId',
      'rejectedReason',
      'subscriptionId',
    ]);
    const sentStatus = f.oneOf('status', NEW_PAYMENT_STATUSES);
    // Cleeng's reference says `authorized`, its tutorials `authorised`: both mean the same state.
    const status: NewPaymentStatus = sentStatus === 'authorised' ? 'authorized' : sentStatus;
    const input: CreatePaymentInput = {
      orderId: f.id('orderId'),
      status,
      paymentOperation: f.oneOf('paymentOperation', PAYMENT_OPERATIONS),
    };
    const externalPaymentId = f.optionalText('externalPaymentId');
    if (externalPaymentId !== undefined) {
      input.externalPaymentId = externalPaymentId;
    } else if (status === 'captured' || status === 'authorized') {
      fieldProblem(`externalPaymentId: is required when status is ${status}`);
    }
    const rejectedReason = f.optionalText('rejectedReason');
    if (rejectedReason !== undefined) {
      if (status !== 'rejected') {
        fieldProblem('rejectedReason: is only available when status is rejected');
      }
      input.rejectedReason = rejectedReason;
    } else if (status === 'rejected') {
      fieldProblem('rejectedReason: is required when status is rejected');
    }
    if (f.has('paymentDetails') && f.has('paymentDetailsId')) {
      fieldProblem('paymentDetails: cannot be sent together with paymentDetailsId');
    }
    if (f.has('paymentDetails')) {
      input.paymentDetails = parseInlinePaymentDetails(f.optionalObject('paymentDetails'));
    }
    const paymentDetailsId = f.optionalId('paymentDetailsId');
    if (paymentDetailsId !== undefined) {
      input.paymentDetailsId = paymentDetailsId;
    }
    const subscriptionId = f.optionalId('subscriptionId');
    if (subscriptionId !== undefined) {
      input.subscriptionId = subscriptionId;
    }
    return input;
  });
}

export function parseUpdatePayment(body: unknown): Outcome<UpdatePaymentInput> {
  return parsing((): UpdatePaymentInput => {
    const f = FieldReader.of(body, [
      'status',
      'orderId',
      'paymentOperation',
      'externalPaymentId',
      'rejectedReason',
      'refundedReason',
      'refundedAmount',
      'refundType',
    ]);
    const status = f.oneOf('status', ['captured', 'rejected', 'refunded'] as const);
    const orderId = f.optionalId('orderId');
    const paymentOperation = f.optionalOneOf('paymentOperation', PAYMENT_OPERATIONS);
    const externalPaymentId = f.optionalText('externalPaymentId');
    const common = {
      ...(orderId !== undefined ? { orderId } : {}),
      ...(paymentOperation !== undefined ? { paymentOperation } : {}),
      ...(externalPaymentId !== undefined ? { externalPaymentId } : {}),
    };
    const onlyFor = (field: string, allowedStatus: string): void => {
      if (f.has(field) && status !== allowedStatus) {
        fieldProblem(`${field}: is only available when status is ${allowedStatus}`);
      }
    };
    onlyFor('rejectedReason', 'rejected');
    for (const refundField of ['refundedReason', 'refundedAmount', 'refundType']) {
      onlyFor(refundField, 'refunded');
    }
    switch (status) {
      case 'captured':
        return { ...common, status };
      case 'rejected':
        return { ...common, status, rejectedReason: f.text('rejectedReason') };
      case 'refunded': {
        const refundedAmount = f.optionalAmount('refundedAmount');
        return {
          ...common,
          status,
          paymentOperation: f.oneOf('paymentOperation', PAYMENT_OPERATIONS),
          refundedReason: f.text('refundedReason'),
          ...(refundedAmount !== undefined ? { refundedAmount } : {}),
          refundType: f.optionalOneOf('refundType', REFUND_TYPES) ?? 'refund',
        };
      }
    }
  });
}

export function parseCreatePaymentDetails(body: unknown): Outcome<CreatePaymentDetailsInput> {
  return parsing(() => {
    const f = FieldReader.of(body, [
      'customerId',
      'token',
      'paymentMethodId',
      'paymentMethodSpecificParams',
      'active',
    ]);
    return {
      customerId: f.id('customerId'),
      token: f.text('token'),
      paymentMethodId: f.id('paymentMethodId'),
      paymentMethodSpecificParams: f.paymentMethodSpecificParams('paymentMethodSpecificParams'),
      active: f.optionalBoolean('active') ?? true,
    };
  });
}

const SUBSCRIPTION_FIELDS = [
  'status',
  'paymentDetailsId',
  'expiresAt',
  'inTrial',
  'couponCode',
  'externalProperties',
] as const;

export function parseUpdateSubscription(body: unknown): Outcome<UpdateSubscriptionInput> {
  return parsing((): UpdateSubscriptionInput => {
    const f = FieldReader.of(body, SUBSCRIPTION_FIELDS);
    const present = SUBSCRIPTION_FIELDS.filter((name) => f.has(name));
    const [field, ...others] = present;
    if (field === undefined || others.length > 0) {
      fieldProblem(`body: exactly one of ${SUBSCRIPTION_FIELDS.join(', ')} must be sent`);
    }
    switch (field) {
      case 'status':
        return { field, status: f.oneOf('status', SUBSCRIPTION_STATUSES) };
      case 'paymentDetailsId':
        return { field, paymentDetailsId: f.id('paymentDetailsId') };
      case 'expiresAt':
        return { field, expiresAt: parseTimestamp(f.id('expiresAt')) };
      case 'inTrial':
        return { field, inTrial: f.optionalBoolean('inTrial') ?? fieldProblem('inTrial: is required') };
      case 'couponCode':
        return { field, couponCode: f.text('couponCode') };
      case 'externalProperties':
        return { field, externalProperties: f.optionalObject('externalProperties') ?? {} };
    }
  });
}

/** Cleeng sends subscription dates as Unix seconds. */
function parseTimestamp(unixSeconds: number): Date {
  return new Date(unixSeconds * 1000);
}

export function parseTerminateSubscription(body: unknown): Outcome<TerminationType> {
  return parsing(() => FieldReader.of(body, ['terminationType']).oneOf('terminationType', TERMINATION_TYPES));
}

/** The externally managed variant of POST /payments: no order, the amount and offer given directly. */
export function parseCreateExternalPayment(body: unknown): Outcome<ExternalPaymentInput> {
  return parsing(() => {
    const f = FieldReader.of(body, [
      'customerId',
      'status',
      'offerId',
      'paymentMethodId',
      'netAmount',
      'taxAmount',
      'currency',
      'externalPaymentId',
      'country',
      'rejectedReason',
      'subscriptionId',
    ]);
    const status = f.oneOf('status', ['captured', 'rejected'] as const);
    const currency = f.text('currency');
    const net = f.raw('netAmount');
    const tax = f.raw('taxAmount');
    if (typeof net !== 'number' || typeof tax !== 'number' || net < 0 || tax < 0) {
      fieldProblem('netAmount, taxAmount: must be non-negative numbers');
    }
    let amount: Money;
    try {
      amount = Money.fromMajor(net, currency).add(Money.fromMajor(tax, currency));
    } catch (err) {
      fieldProblem(`netAmount: ${err instanceof Error ? err.message : String(err)}`);
    }
    const input: ExternalPaymentInput = {
      customerId: f.id('customerId'),
      status,
      offerId: f.text('offerId'),
      paymentMethodId: f.id('paymentMethodId'),
      amount,
      externalPaymentId: f.text('externalPaymentId'),
    };
    const country = f.optionalText('country');
    if (country !== undefined) {
      input.country = country;
    }
    const rejectedReason = f.optionalText('rejectedReason');
    if (status === 'rejected' && rejectedReason === undefined) {
      fieldProblem('rejectedReason: is required when status is rejected');
    }
    if (rejectedReason !== undefined) {
      input.rejectedReason = rejectedReason;
    }
    if (f.has('subscriptionId')) {
      input.subscriptionId = f.id('subscriptionId');
    }
    return input;
  });
}
