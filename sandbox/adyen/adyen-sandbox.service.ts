import { Inject, Injectable } from '@nestjs/common';
import { canonicalJson } from '../shared/canonical-json';
import { randomBytes } from 'node:crypto';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import { SANDBOX_SECRETS } from '../sandbox-settings';
import {
  AdyenAmount,
  AdyenApiResponse,
  AdyenCancelRequest,
  AdyenCaptureRequest,
  AdyenModificationResponse,
  AdyenOperationPath,
  AdyenPaymentDetailsRequest,
  AdyenStoredPaymentMethodRequest,
  AdyenPaymentRequest,
  AdyenPaymentResponse,
  AdyenRefundRequest,
  AdyenStandaloneCancelRequest,
  serviceError,
} from './adyen-api.types';
import {
  AdyenSandboxEvent,
  AdyenSandboxStore,
  newAdyenReference,
  newAuthCode,
  SandboxCard,
  SandboxChallenge,
  SandboxModificationType,
  SandboxPayment,
  SandboxStoredPaymentMethod,
  TokenOperation,
} from './adyen-sandbox.store';
import { HeaderBag, headerValue } from '../shared/headers';
import { AdyenSpecValidator } from './adyen-spec.validator';
import {
  cardBrand,
  decryptTestValue,
  isExpired,
  isTestCard,
  refusalReason,
  TestCardOutcome,
  testCardOutcome,
} from './adyen-test-cards';

/**
 * Error answers. Codes and messages follow Adyen's error-code list (docs.adyen.com/development-resources/error-codes)
 * where one fits; 14_030 for schema violations was chosen by us (Adyen's own 14_030 is "Return URL is missing").
 * Real Adyen answers some modification problems (over-capture, over-refund) asynchronously with a *_FAILED
 * webhook; the emulator rejects them synchronously with 422 so tests see the mistake at the call site.
 */
const ERR = {
  schema: { code: '14_030', message: 'Request does not conform to the Checkout API v71 spec' },
  unauthorised: { code: '000', message: 'HTTP Status Response - Unauthorized' },
  merchantAccount: { code: '901', message: 'Invalid Merchant Account' },
  invalidAmount: { code: '137', message: 'Invalid amount specified' },
  invalidCardNumber: { code: '101', message: 'Invalid card number' },
  invalidExpiry: { code: '129', message: 'Expiry Date Invalid' },
  decrypt: { code: '174', message: 'Unable to decrypt data' },
  tokenNotFound: { code: '803', message: 'PaymentDetail not found' },
  shopperReferenceRequired: { code: '000', message: 'Recurring payments require a shopperReference' },
  unsupportedMethod: { code: '000', message: 'Payment method not supported by the sandbox (cards only)' },
  invalidDetails: { code: '14_018', message: 'Invalid payload provided' },
  unknownPayment: { code: '167', message: 'Original pspReference required for this operation' },
  notAllowed: { code: '000', message: 'Modification not allowed' },
} as const;

type ErrorSpec = (typeof ERR)[keyof typeof ERR];

function reject(error: ErrorSpec, detail?: string): AdyenApiResponse {
  return serviceError(
    422,
    error.code,
    detail ? `${error.message}: ${detail}` : error.message,
    'validation',
    newAdyenReference(),
  );
}

export function unauthorisedResponse(): AdyenApiResponse {
  return serviceError(401, ERR.unauthorised.code, ERR.unauthorised.message, 'security');
}

export type FailModificationResult =
  { ok: true; pspReference: string } | { ok: false; problem: 'unknown-payment' | 'nothing-to-fail' };

export interface AdyenRequestContext {
  headers?: HeaderBag;
  /** The `{paymentPspReference}` path parameter of modification routes. */
  paymentPspReference?: string;
}

type CardResolution =
  | { ok: true; card: SandboxCard; token?: SandboxStoredPaymentMethod }
  | { ok: false; response: AdyenApiResponse };

/** `"03"`, `"2030"` -> `"3/2030"`, the format of Adyen's `additionalData.expiryDate`. */
function expiryDate(card: SandboxCard): string | undefined {
  if (!card.expiryMonth || !card.expiryYear) {
    return undefined;
  }
  const year = card.expiryYear.length === 2 ? `20${card.expiryYear}` : card.expiryYear;
  return `${Number(card.expiryMonth)}/${year}`;
}

/** Behaviour of the emulated Adyen Checkout API v71; every operation answers `{status, body}` like Adyen. */
@Injectable()
export class AdyenSandboxService {
  constructor(
    private readonly store: AdyenSandboxStore,
    private readonly validator: AdyenSpecValidator,
    @Inject(SANDBOX_SETTINGS) private readonly config: SandboxSettings,
  ) {}

  /**
   * One API call after authentication: spec validation (422), merchant account (403), idempotent replay, then
   * the operation. Only processed requests are remembered under their Idempotency-Key.
   */
  handle(path: AdyenOperationPath, body: unknown, context: AdyenRequestContext = {}): AdyenApiResponse {
    const headers = context.headers ?? {};
    const problems = this.validator.validate('post', path, body, headers);
    if (problems.length > 0) {
      return serviceError(
        422,
        ERR.schema.code,
        `${ERR.schema.message}: ${problems.join('; ')}`,
        'validation',
      );
    }
    // Shapes below are guaranteed by the spec validation above.
    const request = body as Record<string, unknown>;
    if (path !== '/payments/details' && request.merchantAccount !== SANDBOX_SECRETS.adyenMerchantAccount) {
      return serviceError(403, ERR.merchantAccount.code, ERR.merchantAccount.message, 'security');
    }
    if (path === '/payments') {
      this.store.countPaymentRequest((body as AdyenPaymentRequest).reference);
    }

    const key = headerValue(headers, 'idempotency-key');
    const fingerprint = `${path} ${context.paymentPspReference ?? ''} ${canonicalJson(body)}`;
    if (key !== undefined) {
      const record = this.store.idempotency.get(key);
      if (record) {
        record.seen += 1;
        if (record.fingerprint !== fingerprint) {
          record.mismatches += 1;
        }
        return structuredClone(record.response);
      }
    }

    const response = this.dispatch(path, body, context.paymentPspReference ?? '');
    if (key !== undefined) {
      this.store.idempotency.set(key, {
        key,
        path,
        fingerprint,
        response: structuredClone(response),
        seen: 1,
        mismatches: 0,
        firstSeenAt: this.store.now().toISOString(),
      });
    }
    return response;
  }

  private dispatch(path: AdyenOperationPath, body: unknown, psp: string): AdyenApiResponse {
    switch (path) {
      case '/payments':
        return this.authorise(body as AdyenPaymentRequest);
      case '/payments/details':
        return this.submitDetails(body as AdyenPaymentDetailsRequest);
      case '/payments/{paymentPspReference}/captures':
        return this.capture(psp, body as AdyenCaptureRequest);
      case '/payments/{paymentPspReference}/cancels':
        return this.cancel(psp, body as AdyenCancelRequest);
      case '/payments/{paymentPspReference}/refunds':
        return this.refund(psp, body as AdyenRefundRequest);
      case '/payments/{paymentPspReference}/reversals':
        return this.reverse(psp, body as AdyenCancelRequest);
      case '/cancels':
        return this.cancelByReference(body as AdyenStandaloneCancelRequest);
      case '/storedPaymentMethods':
        return this.tokenise(body as AdyenStoredPaymentMethodRequest);
    }
  }

  // ---- /payments --------------------------------------------------------------------------------------------

  private authorise(req: AdyenPaymentRequest): AdyenApiResponse {
    if (req.amount.value < 0) {
      return reject(ERR.invalidAmount, 'amount.value must not be negative');
    }
    if (!/^[A-Z]{3}$/.test(req.amount.currency)) {
      return reject(ERR.invalidAmount, 'amount.currency must be an ISO 4217 code');
    }
    const resolved = this.resolveCard(req);
    if (!resolved.ok) {
      return resolved.response;
    }
    const { card, token } = resolved;
    const shopperInteraction = req.shopperInteraction ?? 'Ecommerce';
    const payment: SandboxPayment = {
      pspReference: newAdyenReference(),
      merchantAccount: req.merchantAccount,
      merchantReference: req.reference,
      amount: { value: req.amount.value, currency: req.amount.currency },
      status: 'pending_3ds',
      resultCode: 'RedirectShopper',
      capturedValue: 0,
      refundedValue: 0,
      card,
      ...(token ? { storedPaymentMethodId: token.id, tokenOperation: 'used' as const } : {}),
      ...(req.shopperReference ? { shopperReference: req.shopperReference } : {}),
      shopperInteraction,
      ...(req.recurringProcessingModel ? { recurringProcessingModel: req.recurringProcessingModel } : {}),
      storePaymentMethod: req.storePaymentMethod === true,
      returnUrl: req.returnUrl,
      ...(req.captureDelayHours !== undefined ? { captureDelayHours: req.captureDelayHours } : {}),
      modifications: [],
      createdAt: this.store.now().toISOString(),
    };
    this.store.addPayment(payment);

    const outcome = this.decide(token?.behaveAs ?? card.pan, card, shopperInteraction);
    switch (outcome.kind) {
      case 'challenge':
        return { status: 200, body: this.startChallenge(payment) };
      case 'authorised':
        return { status: 200, body: this.authorisePayment(payment) };
      case 'refused':
      case 'error':
        return { status: 200, body: this.refusePayment(payment, outcome.kind, outcome.code) };
    }
  }

  private resolveCard(req: AdyenPaymentRequest): CardResolution {
    const pm = req.paymentMethod;
    if (pm.type !== undefined && pm.type !== 'scheme' && pm.type !== 'card') {
      return { ok: false, response: reject(ERR.unsupportedMethod, `type "${pm.type}"`) };
    }
    const tokenId = pm.storedPaymentMethodId ?? pm.recurringDetailReference;
    if (tokenId !== undefined) {
      if (!req.shopperReference) {
        return { ok: false, response: reject(ERR.shopperReferenceRequired) };
      }
      const token = this.store.storedPaymentMethods.get(tokenId);
      // Adyen scopes tokens to the shopperReference: someone else's token is "not found" too.
      if (!token || token.shopperReference !== req.shopperReference) {
        return { ok: false, response: reject(ERR.tokenNotFound) };
      }
      return { ok: true, card: token.card, token };
    }

    const decrypted = (encrypted: string | undefined): string | undefined | null =>
      encrypted === undefined ? undefined : (decryptTestValue(encrypted) ?? null);
    const pan = pm.number ?? decrypted(pm.encryptedCardNumber);
    const month = pm.expiryMonth ?? decrypted(pm.encryptedExpiryMonth);
    const year = pm.expiryYear ?? decrypted(pm.encryptedExpiryYear);
    const cvc = pm.cvc ?? decrypted(pm.encryptedSecurityCode);
    if (pan === null || month === null || year === null || cvc === null) {
      return { ok: false, response: reject(ERR.decrypt, 'the sandbox only understands "test_<value>"') };
    }
    if (pan === undefined || !/^\d{12,19}$/.test(pan) || !testCardOutcome(pan)) {
      return { ok: false, response: reject(ERR.invalidCardNumber) };
    }
    if (month !== undefined || year !== undefined) {
      if (!month || !year || !/^(0?[1-9]|1[0-2])$/.test(month) || !/^(\d{2}|\d{4})$/.test(year)) {
        return { ok: false, response: reject(ERR.invalidExpiry) };
      }
    }
    const card: SandboxCard = {
      pan,
      brand: cardBrand(pan),
      last4: pan.slice(-4),
      ...(month && year ? { expiryMonth: month, expiryYear: year } : {}),
      ...(pm.holderName ? { holderName: pm.holderName } : {}),
    };
    return { ok: true, card };
  }

  private decide(pan: string, card: SandboxCard, shopperInteraction: string): TestCardOutcome {
    const outcome = testCardOutcome(pan) ?? { kind: 'refused', code: '8' };
    if (outcome.kind === 'challenge') {
      // SCA applies to shopper-present payments only; merchant-initiated ones are exempt.
      return shopperInteraction === 'ContAuth' || shopperInteraction === 'Moto'
        ? { kind: 'authorised' }
        : outcome;
    }
    if (
      outcome.kind === 'authorised' &&
      card.expiryMonth &&
      card.expiryYear &&
      isExpired(card.expiryMonth, card.expiryYear, this.store.now())
    ) {
      return { kind: 'refused', code: '6' };
    }
    return outcome;
  }

  /** Final approval: token (if asked), auto-capture (captureDelayHours 0), AUTHORISATION event. */
  private authorisePayment(payment: SandboxPayment): AdyenPaymentResponse {
    payment.status = 'authorised';
    payment.resultCode = 'Authorised';
    if (payment.captureDelayHours === 0 && payment.amount.value > 0) {
      payment.status = 'captured';
      payment.capturedValue = payment.amount.value;
    }
    let tokenOperation: TokenOperation | undefined;
    if (payment.storePaymentMethod && payment.shopperReference && payment.tokenOperation !== 'used') {
      const token = this.storeToken(payment.shopperReference, payment.card);
      payment.storedPaymentMethodId = token.id;
      payment.tokenOperation = token.operation;
      tokenOperation = token.operation;
    }

    const additionalData: Record<string, string> = {
      authCode: newAuthCode(),
      cardSummary: payment.card.last4,
      paymentMethod: payment.card.brand,
      cardPaymentMethod: payment.card.brand,
      refusalReasonRaw: 'AUTHORISED',
      ...(payment.recurringProcessingModel
        ? { recurringProcessingModel: payment.recurringProcessingModel }
        : {}),
      ...(payment.shopperReference ? { shopperReference: payment.shopperReference } : {}),
      ...this.cardData(payment.card),
    };
    if (tokenOperation && payment.storedPaymentMethodId && payment.shopperReference) {
      additionalData['tokenization.storedPaymentMethodId'] = payment.storedPaymentMethodId;
      additionalData['tokenization.shopperReference'] = payment.shopperReference;
      additionalData['tokenization.store.operationType'] = tokenOperation;
      additionalData['recurring.recurringDetailReference'] = payment.storedPaymentMethodId;
      additionalData['recurring.shopperReference'] = payment.shopperReference;
    }
    this.emitPaymentEvent('AUTHORISATION', payment, true, additionalData);
    if (tokenOperation && payment.storedPaymentMethodId) {
      this.emitPaymentEvent('RECURRING_CONTRACT', payment, true, {
        ...(payment.shopperReference ? { shopperReference: payment.shopperReference } : {}),
        'recurring.recurringDetailReference': payment.storedPaymentMethodId,
      });
    }
    return {
      additionalData,
      pspReference: payment.pspReference,
      resultCode: 'Authorised',
      merchantReference: payment.merchantReference,
      amount: { ...payment.amount },
      paymentMethod: { brand: payment.card.brand, type: 'scheme' },
    };
  }

  private refusePayment(
    payment: SandboxPayment,
    kind: 'refused' | 'error',
    code: string,
  ): AdyenPaymentResponse {
    const reason = refusalReason(code);
    payment.status = 'refused';
    payment.resultCode = kind === 'error' ? 'Error' : 'Refused';
    payment.refusalReasonCode = code;
    this.emitPaymentEvent('AUTHORISATION', payment, false, {}, reason);
    return {
      additionalData: { cardSummary: payment.card.last4, paymentMethod: payment.card.brand },
      pspReference: payment.pspReference,
      resultCode: payment.resultCode,
      refusalReason: reason,
      refusalReasonCode: code,
      merchantReference: payment.merchantReference,
      amount: { ...payment.amount },
    };
  }

  private cardData(card: SandboxCard): Record<string, string> {
    const expiry = expiryDate(card);
    return {
      ...(expiry ? { expiryDate: expiry } : {}),
      ...(card.holderName ? { cardHolderName: card.holderName } : {}),
    };
  }

  /** Adyen keeps one token per shopper and card: a second store is `alreadyExisting`, a new expiry `updated`. */
  private storeToken(shopperReference: string, card: SandboxCard): { id: string; operation: TokenOperation } {
    const existing = this.store.findStoredPaymentMethod(shopperReference, card.pan);
    if (existing) {
      if (card.expiryMonth && card.expiryYear && expiryDate(card) !== expiryDate(existing.card)) {
        existing.card = { ...existing.card, expiryMonth: card.expiryMonth, expiryYear: card.expiryYear };
        return { id: existing.id, operation: 'updated' };
      }
      return { id: existing.id, operation: 'alreadyExisting' };
    }
    const id = newAdyenReference();
    this.store.addStoredPaymentMethod({
      id,
      shopperReference,
      card: { ...card },
      createdAt: this.store.now().toISOString(),
    });
    return { id, operation: 'created' };
  }

  /** Tokenisation without a payment (free trials where zero-value auth is off): 201 StoredPaymentMethodResource. */
  private tokenise(req: AdyenStoredPaymentMethodRequest): AdyenApiResponse {
    const resolved = this.resolveCard({
      merchantAccount: req.merchantAccount,
      amount: { value: 0, currency: 'EUR' },
      reference: 'tokenisation',
      returnUrl: 'https://sandbox.invalid',
      paymentMethod: req.paymentMethod,
      shopperReference: req.shopperReference,
    });
    if (!resolved.ok) {
      return resolved.response;
    }
    const outcome = testCardOutcome(resolved.card.pan);
    if (outcome && (outcome.kind === 'refused' || outcome.kind === 'error')) {
      // a card the issuer refuses cannot be stored either
      return serviceError(422, '803', `Unable to store card: refusal ${outcome.code}`, 'validation');
    }
    const token = this.storeToken(req.shopperReference, resolved.card);
    const card = resolved.card;
    return {
      status: 201,
      body: {
        id: token.id,
        shopperReference: req.shopperReference,
        type: 'scheme',
        brand: card.brand,
        lastFour: card.last4,
        ...(card.expiryMonth ? { expiryMonth: card.expiryMonth.padStart(2, '0') } : {}),
        ...(card.expiryYear ? { expiryYear: card.expiryYear } : {}),
        ...(card.holderName ? { holderName: card.holderName } : {}),
        supportedRecurringProcessingModels: [req.recurringProcessingModel],
      },
    };
  }

  // ---- 3DS redirect -----------------------------------------------------------------------------------------

  private startChallenge(payment: SandboxPayment): AdyenPaymentResponse {
    const challenge: SandboxChallenge = {
      id: randomBytes(16).toString('hex'),
      pspReference: payment.pspReference,
      returnUrl: payment.returnUrl,
    };
    this.store.addChallenge(challenge);
    return {
      pspReference: payment.pspReference,
      resultCode: 'RedirectShopper',
      merchantReference: payment.merchantReference,
      amount: { ...payment.amount },
      action: {
        type: 'redirect',
        method: 'GET',
        url: `${this.config.publicUrl}/sandbox/adyen/3ds/${challenge.id}`,
        paymentMethodType: 'scheme',
      },
    };
  }

  /** For the challenge page: the pending payment behind a challenge id. */
  challenge(id: string): { challenge: SandboxChallenge; payment: SandboxPayment } | undefined {
    const challenge = this.store.challenges.get(id);
    const payment = challenge ? this.store.payments.get(challenge.pspReference) : undefined;
    return challenge && payment ? { challenge, payment } : undefined;
  }

  /**
   * The shopper approves or denies; returns where to send the browser (returnUrl + redirectResult), or undefined
   * for an unknown challenge. The first decision is final; repeating it returns the same redirect.
   */
  resolveChallenge(id: string, decision: 'approved' | 'denied'): string | undefined {
    const challenge = this.store.challenges.get(id);
    if (!challenge) {
      return undefined;
    }
    if (!challenge.redirectResult) {
      challenge.decision = decision;
      challenge.redirectResult = randomBytes(32).toString('base64url');
      this.store.redirectResults.set(challenge.redirectResult, challenge.id);
    }
    return withQuery(challenge.returnUrl, 'redirectResult', challenge.redirectResult);
  }

  private submitDetails(req: AdyenPaymentDetailsRequest): AdyenApiResponse {
    const redirectResult = req.details.redirectResult;
    if (!redirectResult) {
      return reject(
        ERR.invalidDetails,
        'details.redirectResult is required (the sandbox emulates redirect 3DS)',
      );
    }
    const id = this.store.redirectResults.get(redirectResult);
    const challenge = id ? this.store.challenges.get(id) : undefined;
    const payment = challenge ? this.store.payments.get(challenge.pspReference) : undefined;
    if (!challenge || !payment) {
      return reject(ERR.invalidDetails, 'unknown redirectResult');
    }
    // Like Adyen, a redirectResult is redeemed once: a repeated submission is refused unless it carries the
    // first one's Idempotency-Key (answered from the idempotency store before this point).
    if (challenge.finalResponse) {
      return reject(ERR.invalidDetails, 'redirectResult already submitted');
    }
    if (payment.status === 'cancelled') {
      // cancelled by reference while the shopper was away (an abandoned challenge expired)
      challenge.finalResponse = this.refusePayment(payment, 'refused', '11');
      return { status: 200, body: structuredClone(challenge.finalResponse) };
    }
    challenge.finalResponse =
      challenge.decision === 'approved'
        ? this.authorisePayment(payment)
        : this.refusePayment(payment, 'refused', '11');
    return { status: 200, body: structuredClone(challenge.finalResponse) };
  }

  // ---- modifications ----------------------------------------------------------------------------------------

  private capture(psp: string, req: AdyenCaptureRequest): AdyenApiResponse {
    const payment = this.store.payments.get(psp);
    if (!payment) {
      return reject(ERR.unknownPayment, `no payment ${psp}`);
    }
    if (payment.status !== 'authorised') {
      return reject(ERR.notAllowed, `cannot capture a payment that is ${payment.status}`);
    }
    const amountProblem = this.checkAmount(req.amount, payment.amount, payment.amount.value, 'authorised');
    if (amountProblem) {
      return amountProblem;
    }
    payment.status = 'captured';
    payment.capturedValue = req.amount.value;
    return this.acknowledge(psp, payment, req, { type: 'capture', eventCode: 'CAPTURE', amount: req.amount });
  }

  private cancel(psp: string, req: AdyenCancelRequest): AdyenApiResponse {
    const payment = this.store.payments.get(psp);
    if (!payment) {
      return reject(ERR.unknownPayment, `no payment ${psp}`);
    }
    if (payment.status !== 'authorised') {
      return reject(ERR.notAllowed, `cannot cancel a payment that is ${payment.status}`);
    }
    payment.status = 'cancelled';
    return this.acknowledge(psp, payment, req, { type: 'cancel', eventCode: 'CANCELLATION' });
  }

  private refund(psp: string, req: AdyenRefundRequest): AdyenApiResponse {
    const payment = this.store.payments.get(psp);
    if (!payment) {
      return reject(ERR.unknownPayment, `no payment ${psp}`);
    }
    if (payment.status !== 'captured' && payment.status !== 'partially_refunded') {
      return reject(ERR.notAllowed, `cannot refund a payment that is ${payment.status}`);
    }
    const remaining = payment.capturedValue - payment.refundedValue;
    const amountProblem = this.checkAmount(req.amount, payment.amount, remaining, 'refundable');
    if (amountProblem) {
      return amountProblem;
    }
    payment.refundedValue += req.amount.value;
    payment.status = payment.refundedValue >= payment.capturedValue ? 'refunded' : 'partially_refunded';
    return this.acknowledge(psp, payment, req, {
      type: 'refund',
      eventCode: 'REFUND',
      amount: req.amount,
      ...(req.merchantRefundReason ? { merchantRefundReason: req.merchantRefundReason } : {}),
    });
  }

  /** Cancels if uncaptured, refunds the rest if captured: always the full payment amount. */
  private reverse(psp: string, req: AdyenCancelRequest): AdyenApiResponse {
    const payment = this.store.payments.get(psp);
    if (!payment) {
      return reject(ERR.unknownPayment, `no payment ${psp}`);
    }
    if (payment.status === 'authorised') {
      payment.status = 'cancelled';
    } else if (payment.status === 'captured' || payment.status === 'partially_refunded') {
      payment.refundedValue = payment.capturedValue;
      payment.status = 'refunded';
    } else {
      return reject(ERR.notAllowed, `cannot reverse a payment that is ${payment.status}`);
    }
    return this.acknowledge(psp, payment, req, { type: 'reversal', eventCode: 'CANCEL_OR_REFUND' });
  }

  /**
   * Cancel by our own reference (the "response lost, pspReference unknown" case). Like Adyen it is always
   * `received`; every uncaptured authorisation with that reference is cancelled, and the outcome (including
   * "nothing to cancel") goes out as TECHNICAL_CANCEL events.
   */
  private cancelByReference(req: AdyenStandaloneCancelRequest): AdyenApiResponse {
    const pspReference = newAdyenReference();
    const targets = this.store
      .paymentsByReference(req.paymentReference)
      // a payment still waiting for its 3DS challenge is voided too: the challenge can no longer authorise it
      .filter((p) => p.status === 'authorised' || p.status === 'pending_3ds');
    for (const payment of targets) {
      payment.status = 'cancelled';
      this.recordModification(payment, 'cancel', req.reference, undefined, undefined, pspReference);
      // merchantReference stays the payment's: the caller knows nothing else about it (no pspReference)
      this.emitModificationEvent('TECHNICAL_CANCEL', payment, pspReference, payment.amount, undefined);
    }
    if (targets.length === 0) {
      this.store.emit({
        eventCode: 'TECHNICAL_CANCEL',
        pspReference,
        merchantAccountCode: req.merchantAccount,
        merchantReference: req.paymentReference,
        // no payment, so no amount to report; Adyen's schema still requires one
        amount: { value: 0, currency: 'EUR' },
        success: false,
        reason: 'Original payment not found or not cancellable',
        eventDate: this.store.now().toISOString(),
      });
    }
    return this.received({
      merchantAccount: req.merchantAccount,
      paymentReference: req.paymentReference,
      pspReference,
      ...(req.reference ? { reference: req.reference } : {}),
      status: 'received',
    });
  }

  private checkAmount(
    requested: AdyenAmount,
    original: AdyenAmount,
    max: number,
    what: string,
  ): AdyenApiResponse | undefined {
    if (requested.currency !== original.currency) {
      return reject(
        ERR.invalidAmount,
        `currency ${requested.currency} differs from the payment's ${original.currency}`,
      );
    }
    if (requested.value <= 0) {
      return reject(ERR.invalidAmount, 'amount.value must be positive');
    }
    if (requested.value > max) {
      return reject(ERR.invalidAmount, `${requested.value} exceeds the ${what} amount ${max}`);
    }
    return undefined;
  }

  private recordModification(
    payment: SandboxPayment,
    type: SandboxModificationType,
    reference?: string,
    amount?: AdyenAmount,
    merchantRefundReason?: string,
    pspReference = newAdyenReference(),
  ): { pspReference: string } {
    payment.modifications.push({
      type,
      pspReference,
      ...(reference ? { reference } : {}),
      ...(amount ? { amount: { ...amount } } : {}),
      ...(merchantRefundReason ? { merchantRefundReason } : {}),
      success: true,
      createdAt: this.store.now().toISOString(),
    });
    return { pspReference };
  }

  /**
   * Records a modification of one payment, announces it as a notification event and answers 201
   * `received`, as Adyen does for every modification (the request's amount echoed when it had one).
   */
  private acknowledge(
    psp: string,
    payment: SandboxPayment,
    req: { merchantAccount: string; reference?: string },
    change: {
      type: SandboxModificationType;
      eventCode: 'CAPTURE' | 'CANCELLATION' | 'REFUND' | 'CANCEL_OR_REFUND';
      amount?: AdyenAmount;
      merchantRefundReason?: string;
    },
  ): AdyenApiResponse {
    const modification = this.recordModification(
      payment,
      change.type,
      req.reference,
      change.amount,
      change.merchantRefundReason,
    );
    this.emitModificationEvent(
      change.eventCode,
      payment,
      modification.pspReference,
      change.amount ?? payment.amount,
      req.reference,
    );
    return this.received({
      merchantAccount: req.merchantAccount,
      paymentPspReference: psp,
      pspReference: modification.pspReference,
      ...(req.reference ? { reference: req.reference } : {}),
      status: 'received',
      ...(change.amount ? { amount: { ...change.amount } } : {}),
      ...(change.merchantRefundReason ? { merchantRefundReason: change.merchantRefundReason } : {}),
    });
  }

  private received(body: AdyenModificationResponse): AdyenApiResponse {
    return { status: 201, body };
  }

  private emitPaymentEvent(
    eventCode: 'AUTHORISATION' | 'RECURRING_CONTRACT',
    payment: SandboxPayment,
    success: boolean,
    additionalData: Record<string, string>,
    reason?: string,
  ): void {
    const event: AdyenSandboxEvent = {
      eventCode,
      pspReference:
        eventCode === 'RECURRING_CONTRACT' && payment.storedPaymentMethodId
          ? payment.storedPaymentMethodId
          : payment.pspReference,
      ...(eventCode === 'RECURRING_CONTRACT' ? { originalReference: payment.pspReference } : {}),
      merchantAccountCode: payment.merchantAccount,
      merchantReference: payment.merchantReference,
      amount: { ...payment.amount },
      success,
      ...(reason ? { reason } : {}),
      paymentMethod: payment.card.brand,
      additionalData,
      eventDate: this.store.now().toISOString(),
    };
    this.store.emit(event);
  }

  /**
   * A modification's webhook: its own pspReference, the payment's as originalReference, and as merchantReference
   * the `reference` of the modification request (the payment's reference when the request had none).
   */
  private emitModificationEvent(
    eventCode:
      | 'CAPTURE'
      | 'CANCELLATION'
      | 'REFUND'
      | 'CANCEL_OR_REFUND'
      | 'TECHNICAL_CANCEL'
      | 'CAPTURE_FAILED'
      | 'REFUND_FAILED',
    payment: SandboxPayment,
    pspReference: string,
    amount: AdyenAmount,
    reference: string | undefined,
    reason?: string,
  ): void {
    this.store.emit({
      eventCode,
      pspReference,
      originalReference: payment.pspReference,
      merchantAccountCode: payment.merchantAccount,
      merchantReference: reference ?? payment.merchantReference,
      amount: { ...amount },
      // Adyen sends success "true" for CAPTURE_FAILED / REFUND_FAILED too: the failure is the event itself
      success: true,
      ...(reason ? { reason } : {}),
      paymentMethod: payment.card.brand,
      eventDate: this.store.now().toISOString(),
    });
  }

  // ---- test hooks -------------------------------------------------------------------------------------------

  /**
   * The acquirer rejects the last capture after Adyen had reported CAPTURE: the payment is authorised (and
   * capturable) again and a CAPTURE_FAILED webhook with the capture's pspReference goes out.
   */
  failCapture(paymentPspReference: string): FailModificationResult {
    const payment = this.store.payments.get(paymentPspReference);
    if (!payment) {
      return { ok: false, problem: 'unknown-payment' };
    }
    if (payment.status !== 'captured') {
      // never captured, or refunded/cancelled since: there is no capture that could still fail
      return { ok: false, problem: 'nothing-to-fail' };
    }
    let capture = payment.modifications.filter((m) => m.type === 'capture').at(-1);
    if (capture?.failedAt) {
      return { ok: false, problem: 'nothing-to-fail' };
    }
    if (!capture) {
      // auto-capture (captureDelayHours 0): the capture has the payment's own pspReference
      capture = {
        type: 'capture',
        pspReference: payment.pspReference,
        amount: { ...payment.amount },
        success: true,
        createdAt: payment.createdAt,
      };
      payment.modifications.push(capture);
    }
    capture.success = false;
    capture.failedAt = this.store.now().toISOString();
    payment.status = 'authorised';
    payment.capturedValue = 0;
    this.emitModificationEvent(
      'CAPTURE_FAILED',
      payment,
      capture.pspReference,
      capture.amount ?? payment.amount,
      capture.reference,
      'Capture failed (sandbox test hook)',
    );
    return { ok: true, pspReference: capture.pspReference };
  }

  /** The last refund fails after Adyen had reported REFUND: the money is refundable again; REFUND_FAILED goes out. */
  failRefund(paymentPspReference: string): FailModificationResult {
    const payment = this.store.payments.get(paymentPspReference);
    if (!payment) {
      return { ok: false, problem: 'unknown-payment' };
    }
    const refund = payment.modifications.filter((m) => m.type === 'refund').at(-1);
    if (!refund || refund.failedAt || !refund.amount) {
      return { ok: false, problem: 'nothing-to-fail' };
    }
    refund.success = false;
    refund.failedAt = this.store.now().toISOString();
    payment.refundedValue = Math.max(0, payment.refundedValue - refund.amount.value);
    payment.status = payment.refundedValue === 0 ? 'captured' : 'partially_refunded';
    this.emitModificationEvent(
      'REFUND_FAILED',
      payment,
      refund.pspReference,
      refund.amount,
      refund.reference,
      'Refund failed (sandbox test hook)',
    );
    return { ok: true, pspReference: refund.pspReference };
  }

  /**
   * Makes later payments with a stored token behave like another test card (e.g. `4000000000009995` to make a
   * renewal fail with "Not enough balance"); `undefined` restores the token's own card. False if unknown.
   */
  setTokenBehaviour(
    storedPaymentMethodId: string,
    behaveAs: string | undefined,
  ): boolean | 'not-a-test-card' {
    const token = this.store.storedPaymentMethods.get(storedPaymentMethodId);
    if (!token) {
      return false;
    }
    if (behaveAs === undefined) {
      delete token.behaveAs;
      return true;
    }
    if (!isTestCard(behaveAs)) {
      return 'not-a-test-card';
    }
    token.behaveAs = behaveAs;
    return true;
  }
}

function withQuery(url: string, name: string, value: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.set(name, value);
    return parsed.toString();
  } catch {
    const [base = '', fragment] = url.split('#', 2);
    const joined = `${base}${base.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
    return fragment === undefined ? joined : `${joined}#${fragment}`;
  }
}
