import { Inject, Injectable } from '@nestjs/common';
import { FieldError } from '../../common/errors/domain-error';
import { Money } from '../../common/money/money';
import { HttpClient } from '../../common/http/http-client';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { sendToGateway } from '../gateway-http';
import { GatewayRequestRejectedError, GatewayUnavailableError } from '../gateway.errors';
import {
  AuthoriseInput,
  CancelByReferenceInput,
  CancelInput,
  CompleteActionInput,
  ConfirmInput,
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
import { isRequestError, mapSgDecline } from './smart-glocal.errors';
import { currentPayment, fromSession, toAmountDetails, toInitPaymentRequest } from './smart-glocal.mapper';
import { SMART_GLOCAL_OPTIONS, SmartGlocalOptions } from './smart-glocal.options';
import { PROJECT_HEADER, SIGNATURE_HEADER, signBody } from './smart-glocal.signature';
import { parseSmartGlocalWebhook } from './smart-glocal.webhook';
import type { SgError, SgRefund, SgRefundRequest, SgResponse, SgSession } from './smart-glocal.types';

/** An answer `{status: 'error'}` that is a decision about the payment (a decline), not a fault of the request. */
class SgDeclined {
  constructor(readonly error: SgError) {}
}

/**
 * Smart Glocal session API (`/api/v1/session/...`), every request signed (`X-PARTNER-SIGN`). A payment is
 * `session/init/payment` keyed by our attempt id (its idempotency key), then driven by webhooks:
 * `ready_to_confirm` -> the connector confirms or cancels (`confirm` / `cancel`), `action_required` -> the
 * shopper's 3DS, `payment_finished` -> captured or rejected. The session id is the payment's external id.
 */
@Injectable()
export class SmartGlocalGateway implements GatewayProvider {
  readonly id = 'smart-glocal' as const;
  readonly capabilities: GatewayCapabilities = {
    separateCapture: false,
    // a free trial is a zero-amount payment with `recurrent: true` (docs/decisions.md)
    zeroAmountAuth: true,
    tokenisation: false,
    partialRefund: true,
    threeDSecure: true,
    connectorManagedRebill: true,
    refundsByCaptureId: false,
  };
  private readonly http = new HttpClient('smart-glocal');

  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'gatewayTimeoutMs' | 'publicUrl'>,
    @Inject(SMART_GLOCAL_OPTIONS) private readonly options: SmartGlocalOptions,
  ) {}

  /** One-step payment: Smart Glocal's `succeeded` is money taken, there is no separate capture here. */
  charge(input: AuthoriseInput): Promise<PaymentResult> {
    return this.initPayment(input);
  }

  /** Free trial: a zero-amount payment that asks for a recurrent token. */
  tokenise(input: TokeniseInput): Promise<PaymentResult> {
    return this.initPayment({
      ...input,
      amount: Money.of(0, input.currency.toUpperCase()),
      initiator: 'customer',
      storeForRecurring: true,
    });
  }

  /**
   * One period of a connector-managed subscription (and Cleeng's renewals through `charge`): MIT with the stored
   * token, under the attempt id. The rebill schedule repeats the call under the same key until the attempt
   * settles, so the session is looked up after the (deduplicated) init: its current state, not the first answer.
   */
  async rebill(input: RebillInput): Promise<PaymentResult> {
    if (!input.token) {
      throw new GatewayRequestRejectedError(this.id, 'Smart Glocal rebill needs a stored token', 400);
    }
    const started = await this.initPayment({
      idempotencyKey: input.idempotencyKey,
      reference: input.reference,
      amount: input.amount,
      customer: input.customer,
      source: { kind: 'stored', token: input.token },
      initiator: 'merchant',
      storeForRecurring: false,
      returnUrl: `${this.config.publicUrl}/`,
    });
    if (started.status !== 'pending' || !started.externalPaymentId) {
      return started;
    }
    return fromSession(await this.session(started.externalPaymentId));
  }

  validateSubscription(terms: SubscriptionTerms): FieldError[] {
    return terms.hasStoredToken
      ? []
      : [
          {
            field: 'paymentDetailsId',
            messages: ['is required for Smart Glocal (the stored token to charge)'],
          },
        ];
  }

  /**
   * The shopper's browser is back from 3DS. Smart Glocal documents nothing it brings back (the outcome comes as
   * `payment_finished`), so whatever came (GET query or POST form) is accepted and the session is looked up.
   */
  returnDetails(request: { query: Record<string, unknown>; body: unknown }): ReturnDetails {
    void request;
    return { details: {} };
  }

  /** `session/status`: what the session became after the shopper's 3DS (pending until payment_finished). */
  async completeAction(input: CompleteActionInput): Promise<PaymentResult> {
    const sessionId = input.externalPaymentId ?? stringOf(input.state?.sessionId);
    if (!sessionId) {
      throw new GatewayRequestRejectedError(this.id, 'no Smart Glocal session known for this payment', 400);
    }
    const session = await this.session(sessionId);
    const result = fromSession(session);
    // still waiting for the shopper after they came back: the webhook or the deadline ends it
    return result.status === 'action_required' ? { ...result, status: 'pending' } : result;
  }

  /** `session/confirm`, once: a session no longer waiting for confirmation (a retry, or it moved on) is left alone. */
  async confirm(input: ConfirmInput): Promise<ModificationResult> {
    const session = await this.session(input.externalPaymentId);
    if (session.next_action !== 'confirm') {
      return { status: 'received', externalId: session.id };
    }
    const res = await this.post('/session/confirm', { session_id: input.externalPaymentId });
    if (res instanceof SgDeclined) {
      return { status: 'rejected', decline: mapSgDecline(res.error) };
    }
    return { status: 'received', externalId: input.externalPaymentId };
  }

  /** `session/cancel`: declines a payment waiting for confirmation (or voids one whose deadline passed). */
  async cancel(input: CancelInput): Promise<ModificationResult> {
    const res = await this.post('/session/cancel', { session_id: input.externalPaymentId });
    if (res instanceof SgDeclined) {
      return { status: 'rejected', decline: mapSgDecline(res.error) };
    }
    return { status: 'cancelled', externalId: input.externalPaymentId };
  }

  /** Smart Glocal cancels by session id only: without one (the init answer was lost) nothing can be cancelled. */
  cancelByReference(input: CancelByReferenceInput): Promise<ModificationResult> {
    if (!input.externalPaymentId) {
      throw new GatewayRequestRejectedError(
        this.id,
        `no Smart Glocal session known for ${input.reference}: cannot cancel it`,
        400,
      );
    }
    return this.cancel({ ...input, externalPaymentId: input.externalPaymentId });
  }

  /**
   * `session/refund` (full or partial). Smart Glocal documents no idempotency key for it, so the session is
   * looked up first: a refund carrying our refund id in its metadata was already made by an earlier try.
   */
  async refund(input: RefundInput): Promise<ModificationResult> {
    const before = await this.session(input.externalPaymentId);
    const earlier = ourRefund(before, input.reference);
    if (earlier) {
      return refundResult(earlier);
    }
    const body: SgRefundRequest = {
      session_id: input.externalPaymentId,
      amount_details: toAmountDetails(input.amount),
      metadata: { connector_refund: input.reference },
    };
    const res = await this.post('/session/refund', body);
    if (res instanceof SgDeclined) {
      return { status: 'rejected', decline: mapSgDecline(res.error) };
    }
    const made = ourRefund(res, input.reference);
    return made ? refundResult(made) : { status: 'received' };
  }

  parseWebhook(headers: WebhookHeaders, rawBody: Buffer): GatewayEvent[] {
    return parseSmartGlocalWebhook(headers, rawBody, this.options.publicKey);
  }

  private async initPayment(input: AuthoriseInput): Promise<PaymentResult> {
    const res = await this.post('/session/init/payment', toInitPaymentRequest(input), input.idempotencyKey);
    if (res instanceof SgDeclined) {
      return { status: 'rejected', decline: mapSgDecline(res.error) };
    }
    return fromSession(res);
  }

  private async session(sessionId: string): Promise<SgSession> {
    const res = await this.post('/session/status', { session_id: sessionId });
    if (res instanceof SgDeclined) {
      throw new GatewayRequestRejectedError(
        this.id,
        `Smart Glocal session/status ${sessionId}: ${res.error.code ?? '?'} ${res.error.description ?? ''}`,
        400,
        res.error.code,
      );
    }
    return res;
  }

  /**
   * Signs the exact bytes sent: HttpClient serialises `body` with JSON.stringify, so the same call here gives the
   * same bytes. Answers `{status:'error'}` that decide about the payment come back as SgDeclined; errors of the
   * request itself throw GatewayRequestRejectedError (never retried), 5xx/429 GatewayUnavailableError.
   */
  private async post(path: string, body: object, idempotencyKey?: string): Promise<SgSession | SgDeclined> {
    const bytes = JSON.stringify(body);
    const res = await sendToGateway(this.http, this.id, {
      method: 'POST',
      url: `${this.options.apiUrl}/api/v1${path}`,
      headers: {
        [PROJECT_HEADER]: this.options.project,
        [SIGNATURE_HEADER]: signBody(bytes, this.options.privateKey),
      },
      body,
      timeoutMs: this.config.gatewayTimeoutMs,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    const answer = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as SgResponse;
    const error = answer.error ?? {};
    const message = `Smart Glocal ${path} answered ${res.status} ${error.code ?? ''}: ${error.description ?? ''}`;
    if (res.status >= 500 || res.status === 429) {
      throw new GatewayUnavailableError(this.id, message, false, res.status);
    }
    if (res.status >= 200 && res.status < 300 && answer.status === 'ok' && answer.session?.id) {
      return answer.session;
    }
    if (answer.status === 'error' && !isRequestError(error) && res.status < 500) {
      return new SgDeclined(error);
    }
    throw new GatewayRequestRejectedError(this.id, message, res.status >= 400 ? res.status : 502, error.code);
  }
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function ourRefund(session: SgSession, refundId: string): SgRefund | undefined {
  return currentPayment(session)?.refunds?.find((r) => r.metadata?.connector_refund === refundId);
}

function refundResult(refund: SgRefund): ModificationResult {
  if (refund.status === 'failed' || refund.status === 'rejected') {
    return { status: 'rejected', externalId: refund.id, decline: mapSgDecline(undefined) };
  }
  // accepted or in progress: payment_refunded ends it
  return { status: 'received', externalId: refund.id };
}
