import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { HttpClient } from '../../common/http/http-client';
import { sendToGateway } from '../gateway-http';
import { GATEWAY_CAPABILITIES } from '../gateway-capabilities';
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
  RefundInput,
  TokeniseInput,
  WebhookHeaders,
} from '../gateway.provider';
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

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    // some acquirers refuse zero-value auth: then free trials use /storedPaymentMethods (Scenario 2)
    this.capabilities = { ...GATEWAY_CAPABILITIES.adyen, zeroAmountAuth: config.adyen.zeroAuth };
  }

  async authorise(input: AuthoriseInput): Promise<PaymentResult> {
    const body = toPaymentRequest(input, {
      merchantAccount: this.config.adyen.merchantAccount,
      manualCapture: true,
    });
    const res = await this.post<AdyenPaymentResponse>('/payments', body, input.idempotencyKey);
    return fromPaymentResponse(res, 'authorise');
  }

  async charge(input: AuthoriseInput): Promise<PaymentResult> {
    const body = toPaymentRequest(input, {
      merchantAccount: this.config.adyen.merchantAccount,
      manualCapture: false,
    });
    const res = await this.post<AdyenPaymentResponse>('/payments', body, input.idempotencyKey);
    return fromPaymentResponse(res, 'charge');
  }

  /** Zero-value auth when enabled (Scenario 1); otherwise Adyen's /storedPaymentMethods (Scenario 2). */
  async tokenise(input: TokeniseInput): Promise<PaymentResult> {
    if (this.capabilities.zeroAmountAuth) {
      const body = toZeroAuthRequest(input, {
        merchantAccount: this.config.adyen.merchantAccount,
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
      toStoredPaymentMethodRequest({ ...input, source: input.source }, this.config.adyen.merchantAccount),
      input.idempotencyKey,
    );
    return fromStoredPaymentMethod(res);
  }

  async completeAction(input: CompleteActionInput): Promise<PaymentResult> {
    // /payments/details has no Idempotency-Key in the spec: a redirectResult can only be redeemed once anyway
    const res = await this.post<AdyenPaymentResponse>('/payments/details', toPaymentDetailsRequest(input));
    return fromPaymentResponse(res, 'authorise');
  }

  async capture(input: CaptureInput): Promise<ModificationResult> {
    const res = await this.post<AdyenModificationResponse>(
      `/payments/${encodeURIComponent(input.externalPaymentId)}/captures`,
      toCaptureRequest(input, this.config.adyen.merchantAccount),
      input.idempotencyKey,
    );
    return this.modification(res);
  }

  async cancel(input: CancelInput): Promise<ModificationResult> {
    const res = await this.post<AdyenModificationResponse>(
      `/payments/${encodeURIComponent(input.externalPaymentId)}/cancels`,
      toCancelRequest(input, this.config.adyen.merchantAccount),
      input.idempotencyKey,
    );
    return this.modification(res);
  }

  /** Technical cancel by our reference: voids an authorisation whose answer we never got (POST /cancels). */
  async cancelByReference(input: BaseInput): Promise<ModificationResult> {
    const res = await this.post<AdyenModificationResponse>(
      '/cancels',
      toCancelByReferenceRequest(input, this.config.adyen.merchantAccount),
      input.idempotencyKey,
    );
    return this.modification(res);
  }

  async refund(input: RefundInput): Promise<ModificationResult> {
    const res = await this.post<AdyenModificationResponse>(
      `/payments/${encodeURIComponent(input.externalPaymentId)}/refunds`,
      toRefundRequest(input, this.config.adyen.merchantAccount),
      input.idempotencyKey,
    );
    return this.modification(res);
  }

  parseWebhook(_headers: WebhookHeaders, rawBody: Buffer): GatewayEvent[] {
    return parseAdyenNotification(rawBody, [this.config.adyen.hmacKey]);
  }

  /** Adyen modifications are asynchronous: `received` now, the outcome arrives as a webhook. */
  private modification(res: AdyenModificationResponse): ModificationResult {
    return { status: 'received', ...(res.pspReference ? { externalId: res.pspReference } : {}) };
  }

  private async post<T>(path: string, body: unknown, idempotencyKey?: string): Promise<T> {
    const res = await sendToGateway(this.http, this.id, {
      method: 'POST',
      url: `${this.config.adyen.apiUrl}${path}`,
      headers: { 'x-api-key': this.config.adyen.apiKey },
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
