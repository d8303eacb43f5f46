import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { FieldError } from '../../common/errors/domain-error';
import { HttpClient } from '../../common/http/http-client';
import { sendToGateway } from '../gateway-http';
import { GatewayRequestRejectedError, GatewayUnavailableError } from '../gateway.errors';
import {
  AuthoriseInput,
  BaseInput,
  CancelInput,
  CaptureInput,
  CompleteActionInput,
  GatewayCapabilities,
  GatewayEvent,
  GatewayProvider,
  ModificationResult,
  PaymentResult,
  RebillInput,
  RefundInput,
  ReturnDetails,
  SubscriptionTerms,
  TokeniseInput,
  WebhookHeaders,
} from '../gateway.provider';
import { ADYEN_OPTIONS, AdyenOptions } from './adyen.options';
import {
  fromPaymentResponse,
  fromStoredPaymentMethod,
  toCancelByReferenceRequest,
  toCancelRequest,
  toCaptureRequest,
  toPaymentDetailsRequest,
  toPaymentRequest,
  toRefundRequest,
  toStoredPaymentMethodRequest,
  toZeroAuthRequest,
} from './adyen.mapper';
import { parseAdyenNotification } from './adyen.webhook';
import {
  AdyenModificationResponse,
  AdyenPaymentResponse,
  AdyenServiceError,
  AdyenStoredPaymentMethod,
} from './adyen.types';

/**
 * Adyen Checkout v71 card gateway. Every POST carries `Idempotency-Key` (our attempt id), so a
 * retry after a timeout returns Adyen's first answer instead of charging again.
 */
@Injectable()
export class AdyenGateway implements GatewayProvider {
  readonly id = 'adyen' as const;
  readonly capabilities: GatewayCapabilities;
  private readonly http = new HttpClient('adyen');

  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'gatewayTimeoutMs' | 'publicUrl'>,
    @Inject(ADYEN_OPTIONS) private readonly options: AdyenOptions,
  ) {
    this.capabilities = {
      separateCapture: true,
      // some acquirers refuse zero-value auth: then free trials use /storedPaymentMethods (Scenario 2)
      zeroAmountAuth: options.zeroAuth,
      tokenisation: true,
      partialRefund: true,
      threeDSecure: true,
      connectorManagedRebill: true,
      refundsByCaptureId: false,
    };
  }

  /**
   * One period of a connector-managed subscription: a merchant-initiated charge on the stored token
   * (`ContAuth`, `Subscription`), keyed by our attempt id so a retry after a timeout never charges twice.
   */
  async rebill(input: RebillInput): Promise<PaymentResult> {
    if (!input.token) {
      throw new GatewayRequestRejectedError(this.id, 'Adyen rebill needs a stored token', 400);
    }
    const body = toPaymentRequest(
      {
        idempotencyKey: input.idempotencyKey,
        reference: input.reference,
        amount: input.amount,
        customer: input.customer,
        source: { kind: 'stored', token: input.token },
        initiator: 'merchant',
        storeForRecurring: false,
        // required by the spec on every /payments call; a merchant-initiated payment never redirects
        returnUrl: `${this.config.publicUrl}/`,
      },
      { merchantAccount: this.options.merchantAccount, manualCapture: false },
    );
    const res = await this.post<AdyenPaymentResponse>('/payments', body, input.idempotencyKey);
    return fromPaymentResponse(res, 'charge');
  }

  /** A connector-managed Adyen subscription charges a stored card: it needs one. */
  validateSubscription(terms: SubscriptionTerms): FieldError[] {
    return terms.hasStoredToken
      ? []
      : [{ field: 'paymentDetailsId', messages: ['is required for Adyen (the stored card to charge)'] }];
  }

  /** Adyen sends the shopper back with `redirectResult` in the query (GET) or the form body (POST). */
  returnDetails(request: { query: Record<string, unknown>; body: unknown }): ReturnDetails {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
    const redirectResult = request.query.redirectResult ?? body.redirectResult;
    if (typeof redirectResult !== 'string' || redirectResult === '') {
      return { errors: [{ field: 'redirectResult', messages: ['is required'] }] };
    }
    return { details: { redirectResult } };
  }

  async authorise(input: AuthoriseInput): Promise<PaymentResult> {
    const body = toPaymentRequest(input, {
      merchantAccount: this.options.merchantAccount,
      manualCapture: true,
    });
    const res = await this.post<AdyenPaymentResponse>('/payments', body, input.idempotencyKey);
    return fromPaymentResponse(res, 'authorise');
  }

  async charge(input: AuthoriseInput): Promise<PaymentResult> {
    const body = toPaymentRequest(input, {
      merchantAccount: this.options.merchantAccount,
      manualCapture: false,
    });
    const res = await this.post<AdyenPaymentResponse>('/payments', body, input.idempotencyKey);
    return fromPaymentResponse(res, 'charge');
  }

  /** Zero-value auth when enabled (Scenario 1); otherwise Adyen's /storedPaymentMethods (Scenario 2). */
  async tokenise(input: TokeniseInput): Promise<PaymentResult> {
    if (this.capabilities.zeroAmountAuth) {
      const body = toZeroAuthRequest(input, {
        merchantAccount: this.options.merchantAccount,
        manualCapture: true,
      });
      const res = await this.post<AdyenPaymentResponse>('/payments', body, input.idempotencyKey);
      return fromPaymentResponse(res, 'authorise');
    }
    return this.storePaymentMethod(input);
  }

  /** Tokenisation without any payment: POST /storedPaymentMethods. */
  async storePaymentMethod(input: TokeniseInput): Promise<PaymentResult> {
    if (input.source.kind !== 'customer') {
      return { status: 'authorised', recurringToken: input.source.token };
    }
    const res = await this.post<AdyenStoredPaymentMethod>(
      '/storedPaymentMethods',
      toStoredPaymentMethodRequest({ ...input, source: input.source }, this.options.merchantAccount),
      input.idempotencyKey,
    );
    return fromStoredPaymentMethod(res);
  }

  async completeAction(input: CompleteActionInput): Promise<PaymentResult> {
    // a redirectResult is redeemed once: a retry after a lost answer must carry the first Idempotency-Key
    const res = await this.post<AdyenPaymentResponse>(
      '/payments/details',
      toPaymentDetailsRequest(input),
      input.idempotencyKey,
    );
    return fromPaymentResponse(res, 'authorise');
  }

  async capture(input: CaptureInput): Promise<ModificationResult> {
    const res = await this.post<AdyenModificationResponse>(
      `/payments/${encodeURIComponent(input.externalPaymentId)}/captures`,
      toCaptureRequest(input, this.options.merchantAccount),
      input.idempotencyKey,
    );
    return this.modification(res);
  }

  async cancel(input: CancelInput): Promise<ModificationResult> {
    const res = await this.post<AdyenModificationResponse>(
      `/payments/${encodeURIComponent(input.externalPaymentId)}/cancels`,
      toCancelRequest(input, this.options.merchantAccount),
      input.idempotencyKey,
    );
    return this.modification(res);
  }

  /** Technical cancel by our reference: voids an authorisation whose answer we never got (POST /cancels). */
  async cancelByReference(input: BaseInput): Promise<ModificationResult> {
    const res = await this.post<AdyenModificationResponse>(
      '/cancels',
      toCancelByReferenceRequest(input, this.options.merchantAccount),
      input.idempotencyKey,
    );
    return this.modification(res);
  }

  async refund(input: RefundInput): Promise<ModificationResult> {
    const res = await this.post<AdyenModificationResponse>(
      `/payments/${encodeURIComponent(input.externalPaymentId)}/refunds`,
      toRefundRequest(input, this.options.merchantAccount),
      input.idempotencyKey,
    );
    return this.modification(res);
  }

  parseWebhook(_headers: WebhookHeaders, rawBody: Buffer): GatewayEvent[] {
    return parseAdyenNotification(rawBody, this.options.hmacKeys, this.options.merchantAccount);
  }

  /** Adyen modifications are asynchronous: `received` now, the outcome arrives as a webhook. */
  private modification(res: AdyenModificationResponse): ModificationResult {
    return { status: 'received', ...(res.pspReference ? { externalId: res.pspReference } : {}) };
  }

  private async post<T>(path: string, body: unknown, idempotencyKey?: string): Promise<T> {
    const res = await sendToGateway(this.http, this.id, {
      method: 'POST',
      url: `${this.options.apiUrl}${path}`,
      headers: { 'x-api-key': this.options.apiKey },
      body,
      timeoutMs: this.config.gatewayTimeoutMs,
      idempotencyKey,
    });
    if (res.status >= 200 && res.status < 300) {
      return res.body as T;
    }
    const error = (res.body ?? {}) as AdyenServiceError;
    const message = `Adyen ${path} answered ${res.status}${error.errorCode ? ` ${error.errorCode}` : ''}: ${error.message ?? ''}`;
    if (res.status >= 500 || res.status === 429) {
      throw new GatewayUnavailableError(this.id, message, false, res.status);
    }
    throw new GatewayRequestRejectedError(this.id, message, res.status, error.errorCode);
  }
}
