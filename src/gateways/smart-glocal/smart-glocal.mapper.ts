import { Money } from '../../common/money/money';
import { GatewayRequestRejectedError } from '../gateway.errors';
import type {
  AuthoriseInput,
  CardMetadata,
  GatewayAction,
  PaymentResult,
  PaymentSource,
} from '../gateway.provider';
import { mapSgDecline } from './smart-glocal.errors';
import type {
  SgAcquiringPayment,
  SgAmountDetails,
  SgInitPaymentRequest,
  SgPaymentDetails,
  SgRedirect,
  SgSession,
} from './smart-glocal.types';

export const SMART_GLOCAL = 'smart-glocal';

export function toAmountDetails(amount: Money): SgAmountDetails {
  return { amount: amount.minor, currency: amount.currency.toLowerCase() };
}

/** Smart Glocal's amount in our words (ISO currency upper case). */
export function fromAmountDetails(
  details: SgAmountDetails | undefined,
): { value: number; currency: string } | undefined {
  if (!details || !Number.isSafeInteger(details.amount) || typeof details.currency !== 'string') {
    return undefined;
  }
  return { value: details.amount, currency: details.currency.toUpperCase() };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * `POST /v1/payments` `paymentMethod` in Smart Glocal's own words: a card
 * `{type:'card', number, expiryMonth, expiryYear, cvc, holderName}` or a stored token `{type:'recurrent', token}`.
 */
export function toPaymentDetails(
  source: PaymentSource,
  initiator: AuthoriseInput['initiator'],
): SgPaymentDetails {
  const sgInitiator = initiator === 'merchant' ? 'merchant' : 'client';
  if (source.kind === 'stored') {
    return { type: 'recurrent', recurrent: { token: source.token, initiator: sgInitiator } };
  }
  const method = source.paymentMethod;
  if (method.type === 'recurrent') {
    const token = str(method.token);
    if (!token) {
      throw new GatewayRequestRejectedError(SMART_GLOCAL, 'paymentMethod.token is required', 400);
    }
    return { type: 'recurrent', recurrent: { token, initiator: sgInitiator } };
  }
  if (method.type !== 'card') {
    throw new GatewayRequestRejectedError(
      SMART_GLOCAL,
      "paymentMethod.type must be 'card' or 'recurrent' for Smart Glocal",
      400,
    );
  }
  const missing = ['number', 'expiryMonth', 'expiryYear', 'cvc'].filter((f) => !str(method[f]));
  if (missing.length > 0) {
    throw new GatewayRequestRejectedError(
      SMART_GLOCAL,
      `paymentMethod ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required`,
      400,
    );
  }
  const holder = str(method.holderName);
  return {
    type: 'card',
    card: {
      type: 'bank_card',
      bank_card: {
        number: String(method.number),
        expiration_month: String(method.expiryMonth).padStart(2, '0'),
        expiration_year: String(method.expiryYear),
        security_code: String(method.cvc),
        ...(holder ? { holder_name: holder } : {}),
      },
    },
  };
}

/** `session/init/payment`: our payment id and attempt key ride in `metadata`, which every webhook echoes. */
export function toInitPaymentRequest(
  input: AuthoriseInput & { subscriptionReference?: string },
): SgInitPaymentRequest {
  const paymentDetails = toPaymentDetails(input.source, input.initiator);
  const recurrent = paymentDetails.type === 'recurrent';
  return {
    payment_details: paymentDetails,
    amount_details: toAmountDetails(input.amount),
    customer: { reference: input.customer.reference },
    payment_options: {
      ...(input.storeForRecurring && !recurrent ? { recurrent: true } : {}),
      // CIT with a token needs it for its extra 3DS; a card payment for its 3DS
      return_url: input.returnUrl,
    },
    metadata: {
      connector_reference: input.reference,
      connector_attempt: input.idempotencyKey,
      ...(input.subscriptionReference ? { connector_subscription: input.subscriptionReference } : {}),
    },
  };
}

/** The acquiring payment a session is about: the last one (a session holds one payment in our use). */
export function currentPayment(session: SgSession): SgAcquiringPayment | undefined {
  const payments = session.acquiring_payments ?? [];
  return payments[payments.length - 1];
}

export function cardOf(payment: SgAcquiringPayment | undefined): CardMetadata | undefined {
  const card = payment?.payment_details?.card;
  if (!card) {
    return undefined;
  }
  const month = str(card.expiration_month);
  const year = str(card.expiration_year);
  const fullYear = year && year.length === 2 ? `20${year}` : year;
  return {
    ...(str(card.brand) ? { variant: card.brand } : {}),
    ...(str(card.last4) ? { lastCardFourDigits: card.last4 } : {}),
    ...(month && fullYear ? { cardExpirationDate: `${month.padStart(2, '0')}/${fullYear}` } : {}),
    ...(str(card.holder_name) ? { holderName: card.holder_name } : {}),
  };
}

/** `customer_interaction.redirect` as the front-end needs it: where to send the shopper, how, with what. */
export function toAction(redirect: SgRedirect | undefined): GatewayAction | undefined {
  if (!redirect || !str(redirect.url)) {
    return undefined;
  }
  const method = String(redirect.method ?? 'GET').toUpperCase() === 'POST' ? 'POST' : 'GET';
  const params = Object.fromEntries(
    Object.entries(redirect.params ?? {}).filter(([, v]) => typeof v === 'string'),
  );
  return {
    type: 'redirect',
    url: redirect.url,
    method,
    ...(Object.keys(params).length > 0 ? { params } : {}),
  };
}

const CANCELLED = new Set(['canceled', 'cancelled']);

/**
 * A session as it stands, in our words. `succeeded` is captured (Smart Glocal has no separate capture in
 * this flow); `failed` or a cancelled session is rejected; a redirect waiting for the shopper is
 * action_required; anything else is pending (ready_to_confirm and payment_finished arrive by webhook).
 */
export function fromSession(session: SgSession): PaymentResult {
  const payment = currentPayment(session);
  const base = { externalPaymentId: session.id };
  const card = cardOf(payment);
  if (payment?.status === 'succeeded') {
    const token = payment.recurrent?.is_active === false ? undefined : str(payment.recurrent?.token);
    return {
      ...base,
      status: 'captured',
      ...(token ? { recurringToken: token } : {}),
      ...(card ? { card } : {}),
    };
  }
  if (payment?.status === 'failed' || CANCELLED.has(session.status)) {
    return {
      ...base,
      status: 'rejected',
      decline: mapSgDecline(
        payment?.error ??
          (CANCELLED.has(session.status)
            ? { code: 'session_canceled', description: 'the session was cancelled' }
            : undefined),
      ),
    };
  }
  const action = toAction(payment?.customer_interaction?.redirect);
  if (action && payment?.status === 'pending') {
    return { ...base, status: 'action_required', action };
  }
  return { ...base, status: 'pending' };
}
