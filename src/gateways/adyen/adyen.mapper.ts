import { Money } from '../../common/money/money';
import { decline, Decline, DeclineCode } from '../decline-codes';
import {
  AuthoriseInput,
  BaseInput,
  CancelInput,
  CaptureInput,
  CardMetadata,
  CompleteActionInput,
  GatewayAction,
  PaymentResult,
  PaymentSource,
  RefundInput,
  TokeniseInput,
} from '../gateway.provider';
import {
  AdyenBrowserInfo,
  AdyenCancelByReferenceRequest,
  AdyenCancelRequest,
  AdyenCaptureRequest,
  AdyenCardType,
  AdyenChannel,
  AdyenPaymentDetailsRequest,
  AdyenPaymentMethod,
  AdyenPaymentRequest,
  AdyenPaymentResponse,
  AdyenRecurringProcessingModel,
  AdyenRedirectActionType,
  AdyenRefundRequest,
  AdyenResultCode,
  AdyenShopperInteraction,
  AdyenStoredPaymentMethod,
  AdyenStoredPaymentMethodRequest,
  AdyenStoredRecurringProcessingModel,
} from './adyen.types';

/**
 * Adyen `refusalReasonCode` -> normalised decline (DESIGN.md §3). Anything not listed is PAY_DEC
 * with the raw code kept.
 */
export const ADYEN_REFUSAL_CODES: Record<string, DeclineCode> = {
  '2': 'PAY_DEC', // Refused
  '3': 'PAY_DEC', // Referral
  '27': 'PAY_DEC', // Declined Non Generic
  '12': 'PAY_CLE', // Not enough balance
  '28': 'PAY_CLE', // Withdrawal amount exceeded
  '29': 'PAY_CLE', // Withdrawal count exceeded
  '6': 'PAY_CEX', // Expired Card
  '24': 'PAY_SCO', // CVC Declined
  '5': 'PAY_REJ', // Blocked Card
  '25': 'PAY_REJ', // Restricted Card
  '14': 'FRA_REJ', // Acquirer Fraud
  '20': 'FRA_REJ', // FRAUD
  '22': 'FRA_REJ', // FRAUD-CANCELLED
  '31': 'FRA_REJ', // Issuer Suspected Fraud
  '4': 'GW_ERROR', // Acquirer Error
  '9': 'GW_ERROR', // Issuer Unavailable
};

export function mapRefusal(code: string | undefined, reason: string | undefined): Decline {
  const normalised = (code !== undefined ? ADYEN_REFUSAL_CODES[code] : undefined) ?? 'PAY_DEC';
  return decline(normalised, { code, reason });
}

export interface AdyenRequestContext {
  merchantAccount: string;
  /** false: one-step charge (captureDelayHours 0); true: authorise only, capture later */
  manualCapture: boolean;
}

function paymentMethodOf(source: PaymentSource): AdyenPaymentMethod {
  if (source.kind === 'stored') {
    return { type: AdyenCardType.Scheme, storedPaymentMethodId: source.token };
  }
  return customerPaymentMethod(source.paymentMethod);
}

/**
 * Raw or encrypted card fields from the shopper pass through untouched (Adyen validates them); only the
 * type is defaulted.
 */
function customerPaymentMethod(paymentMethod: Record<string, unknown>): AdyenPaymentMethod {
  return { type: AdyenCardType.Scheme, ...paymentMethod };
}

export function toPaymentRequest(input: AuthoriseInput, ctx: AdyenRequestContext): AdyenPaymentRequest {
  const merchantInitiated = input.initiator === 'merchant';
  const request: AdyenPaymentRequest = {
    amount: { value: input.amount.minor, currency: input.amount.currency },
    merchantAccount: ctx.merchantAccount,
    reference: input.reference,
    paymentMethod: paymentMethodOf(input.source),
    returnUrl: input.returnUrl,
    shopperReference: input.customer.reference,
    shopperInteraction: merchantInitiated
      ? AdyenShopperInteraction.ContAuth
      : AdyenShopperInteraction.Ecommerce,
    recurringProcessingModel: AdyenRecurringProcessingModel.Subscription,
  };
  if (!merchantInitiated) {
    request.channel = AdyenChannel.Web;
    if (input.storeForRecurring) {
      request.storePaymentMethod = true;
    }
    if (input.browserInfo) {
      // the front-end's Adyen component collects it in Adyen's shape; passed through as received
      request.browserInfo = input.browserInfo as unknown as AdyenBrowserInfo;
    }
  }
  if (input.customer.email) {
    request.shopperEmail = input.customer.email;
  }
  if (input.customer.country) {
    request.countryCode = input.customer.country;
  }
  if (input.customer.ip) {
    request.shopperIP = input.customer.ip;
  }
  if (ctx.manualCapture) {
    request.additionalData = { manualCapture: 'true' };
  } else {
    request.captureDelayHours = 0;
  }
  return request;
}

/** Zero-value auth: amount 0 + storePaymentMethod, the free-trial token path (Scenario 1). */
export function toZeroAuthRequest(input: TokeniseInput, ctx: AdyenRequestContext): AdyenPaymentRequest {
  const request = toPaymentRequest(
    { ...input, amount: Money.zero(input.currency), initiator: 'customer', storeForRecurring: true },
    { ...ctx, manualCapture: true },
  );
  delete request.additionalData;
  return request;
}

function cardOf(res: AdyenPaymentResponse): CardMetadata | undefined {
  const data = res.additionalData ?? {};
  const card: CardMetadata = {};
  const variant = data.paymentMethod ?? res.paymentMethod?.brand;
  if (variant) {
    card.variant = variant;
  }
  if (data.cardSummary) {
    card.lastCardFourDigits = data.cardSummary;
  }
  if (data.expiryDate) {
    card.cardExpirationDate = normaliseExpiry(data.expiryDate);
  }
  if (data.cardHolderName) {
    card.holderName = data.cardHolderName;
  }
  return Object.keys(card).length > 0 ? card : undefined;
}

/** Adyen `3/2030` -> Cleeng `03/2030`. */
export function normaliseExpiry(value: string): string {
  const m = /^(\d{1,2})\/(\d{2,4})$/.exec(value);
  if (!m) {
    return value;
  }
  const year = (m[2] ?? '').length === 2 ? `20${m[2]}` : (m[2] ?? '');
  return `${(m[1] ?? '').padStart(2, '0')}/${year}`;
}

function actionOf(res: AdyenPaymentResponse): GatewayAction | undefined {
  const action = res.action;
  if (!action) {
    return undefined;
  }
  if (action.type === AdyenRedirectActionType.Redirect && action.url) {
    return {
      type: 'redirect',
      url: action.url,
      method: action.method === 'POST' ? 'POST' : 'GET',
      ...(action.data ? { params: action.data } : {}),
    };
  }
  // native 3DS2 / SDK actions are handed to the front-end's Adyen component as they are
  return { type: 'widget', data: { ...action } };
}

/** `/payments` and `/payments/details` responses -> our result. */
export function fromPaymentResponse(res: AdyenPaymentResponse, mode: 'authorise' | 'charge'): PaymentResult {
  const base = res.pspReference ? { externalPaymentId: res.pspReference } : {};
  switch (res.resultCode) {
    case AdyenResultCode.Authorised:
    case AdyenResultCode.Success: {
      const token =
        res.additionalData?.['tokenization.storedPaymentMethodId'] ??
        res.additionalData?.['recurring.recurringDetailReference'];
      const card = cardOf(res);
      return {
        ...base,
        status: mode === 'charge' ? 'captured' : 'authorised',
        ...(token ? { recurringToken: token } : {}),
        ...(card ? { card } : {}),
      };
    }
    case AdyenResultCode.Refused:
    case AdyenResultCode.Error:
      return { ...base, status: 'rejected', decline: mapRefusal(res.refusalReasonCode, res.refusalReason) };
    case AdyenResultCode.Cancelled:
      return {
        ...base,
        status: 'rejected',
        decline: decline('PAY_DEC', { code: 'Cancelled', reason: res.refusalReason }),
      };
    case AdyenResultCode.PartiallyAuthorised:
      // we never accept a partial amount for a subscription order
      return { ...base, status: 'rejected', decline: decline('PAY_DEC', { code: 'PartiallyAuthorised' }) };
    case AdyenResultCode.RedirectShopper:
    case AdyenResultCode.IdentifyShopper:
    case AdyenResultCode.ChallengeShopper:
    case AdyenResultCode.PresentToShopper: {
      const action = actionOf(res);
      return action ? { ...base, status: 'action_required', action } : { ...base, status: 'pending' };
    }
    case AdyenResultCode.Pending:
    case AdyenResultCode.Received:
    case AdyenResultCode.AuthenticationFinished:
    case AdyenResultCode.AuthenticationNotRequired:
    case undefined:
      return { ...base, status: 'pending' };
  }
}

/** `/storedPaymentMethods` (tokenisation without a payment, Scenario 2) -> our result. */
export function fromStoredPaymentMethod(res: AdyenStoredPaymentMethod): PaymentResult {
  if (!res.id) {
    return {
      status: 'rejected',
      decline: decline('GW_ERROR', { reason: 'no token in tokenisation response' }),
    };
  }
  const card: CardMetadata = {};
  if (res.brand) {
    card.variant = res.brand;
  }
  if (res.lastFour) {
    card.lastCardFourDigits = res.lastFour;
  }
  if (res.expiryMonth && res.expiryYear) {
    card.cardExpirationDate = normaliseExpiry(`${res.expiryMonth}/${res.expiryYear}`);
  }
  if (res.holderName) {
    card.holderName = res.holderName;
  }
  return { status: 'authorised', recurringToken: res.id, card };
}

/** `/payments/details`: the 3DS / redirect return payload as the shopper's browser brought it. */
export function toPaymentDetailsRequest(input: CompleteActionInput): AdyenPaymentDetailsRequest {
  return { details: input.details };
}

/** `/storedPaymentMethods`: tokenisation without a payment (Scenario 2). */
export function toStoredPaymentMethodRequest(
  input: TokeniseInput & { source: { kind: 'customer' } },
  merchantAccount: string,
): AdyenStoredPaymentMethodRequest {
  return {
    merchantAccount,
    shopperReference: input.customer.reference,
    recurringProcessingModel: AdyenStoredRecurringProcessingModel.Subscription,
    // the shopper's card fields, passed through like customerPaymentMethod's
    paymentMethod: { type: 'scheme', ...input.source.paymentMethod },
    ...(input.customer.email ? { shopperEmail: input.customer.email } : {}),
  };
}

export function toCaptureRequest(input: CaptureInput, merchantAccount: string): AdyenCaptureRequest {
  return {
    merchantAccount,
    amount: { value: input.amount.minor, currency: input.amount.currency },
    reference: input.reference,
  };
}

export function toRefundRequest(input: RefundInput, merchantAccount: string): AdyenRefundRequest {
  return {
    merchantAccount,
    amount: { value: input.amount.minor, currency: input.amount.currency },
    reference: input.reference,
  };
}

export function toCancelRequest(input: CancelInput, merchantAccount: string): AdyenCancelRequest {
  return { merchantAccount, reference: input.reference };
}

/** Technical cancel by our payment reference (`POST /cancels`), for an authorisation whose answer was lost. */
export function toCancelByReferenceRequest(
  input: BaseInput,
  merchantAccount: string,
): AdyenCancelByReferenceRequest {
  return { merchantAccount, paymentReference: input.reference, reference: `${input.reference}:cancel` };
}
