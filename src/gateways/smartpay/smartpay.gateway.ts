import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { HttpClient } from '../../common/http/http-client';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { sendToGateway } from '../gateway-http';
import { GatewayRequestRejectedError } from '../gateway.errors';
import {
  AuthoriseInput,
  CompleteActionInput,
  GatewayCapabilities,
  GatewayEvent,
  GatewayProvider,
  PaymentResult,
  RebillInput,
  ReturnDetails,
  SubscriptionTerms,
  WebhookHeaders,
} from '../gateway.provider';
import type { FieldError } from '../../common/errors/domain-error';
import {
  errorForStatus,
  fromTransaction,
  parseCheckout,
  parseNotification,
  planFor,
  planKey,
  verifyBasicAuth,
} from './smartpay.mapper';
import { SMARTPAY_OPTIONS, SmartPayOptions } from './smartpay.options';
import {
  SmartPayList,
  SmartPayPlan,
  SmartPaySubscription,
  SmartPaySubscriptionRequest,
  SmartPayTransaction,
  SmartPayTransactionRequest,
} from './smartpay.types';

/** The Integration Journey recommends a client timeout of at least 90 s. */
export const SMARTPAY_MIN_TIMEOUT_MS = 90_000;

/**
 * SmartPay Subscription Module (J.P. Morgan Mobility Payment Solutions).
 *
 * - Billing mode 2 (gateway-managed): `charge` maps the Cleeng offer to a plan (reused when one with the same
 *   offer, price and period exists), creates the subscription and answers a `widget` action; the customer stores
 *   a payment option in SmartPay's widget and SmartPay charges each billing cycle itself, telling us by
 *   notification. `completeAction` only asks SmartPay where the subscription stands: the money is the first
 *   cycle's notification, never the browser's word.
 * - Billing mode 3 (connector-managed): `rebill` is a PS transaction on the payment serie named by the
 *   subscription's external id, with our attempt key as `partnerReference` (SmartPay blocks double processing).
 *
 * Creating a subscription has no idempotency key: the subscription carries our payment id as
 * `externalMerchantId` and is looked up by it first, so a repeated call finds the first one. No money moves
 * when a subscription is created (only the widget stores a payment option), so the rare duplicate costs nothing.
 */
@Injectable()
export class SmartPayGateway implements GatewayProvider {
  readonly id = 'smartpay' as const;
  readonly capabilities: GatewayCapabilities = {
    separateCapture: false,
    zeroAmountAuth: false,
    tokenisation: false,
    partialRefund: false,
    // the widget is a customer action finished through completeAction, like a 3DS redirect
    threeDSecure: true,
    connectorManagedRebill: true,
    refundsByCaptureId: false,
    gatewayManagedBilling: true,
  };
  private readonly http = new HttpClient('smartpay');

  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'gatewayTimeoutMs' | 'publicUrl'>,
    @Inject(SMARTPAY_OPTIONS) private readonly options: SmartPayOptions,
    private readonly clock: Clock,
  ) {}

  /** Connector-managed rebills name the payment serie the customer stored a payment option in. */
  validateSubscription(terms: SubscriptionTerms): FieldError[] {
    return terms.externalSubscriptionId
      ? []
      : [{ field: 'externalSubscriptionId', messages: ['is required for SmartPay (the payment serie id)'] }];
  }

  /** Gateway-managed subscription: plan + subscription, then the widget. */
  async charge(input: AuthoriseInput): Promise<PaymentResult> {
    if (input.source.kind !== 'customer' || !input.offerId) {
      throw new GatewayRequestRejectedError(
        this.id,
        'SmartPay charges only through a subscription the customer sets up in its widget',
        400,
        'UNSUPPORTED',
      );
    }
    const checkout = parseCheckout(input.source.paymentMethod, input.customer.country);
    const existing = await this.findSubscription(input.reference);
    const subscription =
      existing ??
      (await this.createSubscription({
        planId: (await this.plan(input.offerId, input, checkout.billingPeriod)).id,
        customerAccountId: input.customer.reference,
        startDate: this.clock.now().toISOString(),
        externalMerchantId: input.reference,
        merchantMetadata: input.idempotencyKey,
        billingAddress: checkout.billingAddress,
        consumer: checkout.consumer,
      }));
    return this.widgetResult(subscription);
  }

  /** The widget's callback result came back: ask SmartPay (not the browser) whether a payment option was stored. */
  async completeAction(input: CompleteActionInput): Promise<PaymentResult> {
    const id = typeof input.state?.subscriptionId === 'string' ? input.state.subscriptionId : undefined;
    if (!id) {
      throw new GatewayRequestRejectedError(
        this.id,
        'no SmartPay subscription is waiting for this payment',
        400,
      );
    }
    const subscription = await this.request<SmartPaySubscription>(
      'GET',
      `/subscriptions/${encodeURIComponent(id)}`,
    );
    switch (subscription.status) {
      case 'active':
        // the first billing cycle's notification says whether the money was taken
        return {
          status: 'pending',
          externalPaymentId: subscription.id,
          externalSubscriptionId: subscription.id,
        };
      case 'pending':
        return this.widgetResult(subscription);
      default:
        return {
          status: 'rejected',
          externalPaymentId: subscription.id,
          externalSubscriptionId: subscription.id,
          decline: {
            code: 'PAY_DEC',
            class: 'soft',
            reason: 'Payment declined',
            rawCode: `subscription ${subscription.status}`,
          },
        };
    }
  }

  /** A browser sent back to the return URL: only the subscription id matters (completeAction checks it at SmartPay). */
  returnDetails(request: { query: Record<string, unknown>; body: unknown }): ReturnDetails {
    const id = request.query.subscriptionId;
    return typeof id === 'string' && id.length > 0 && id.length <= 200
      ? { details: { subscriptionId: id } }
      : { errors: [{ field: 'subscriptionId', messages: ['is required'] }] };
  }

  /** One connector-managed period: a PS transaction keyed by our attempt key. */
  async rebill(input: RebillInput): Promise<PaymentResult> {
    if (!input.externalSubscriptionId) {
      throw new GatewayRequestRejectedError(this.id, 'a SmartPay rebill needs the payment serie id', 400);
    }
    const body: SmartPayTransactionRequest = {
      amount: input.amount.toMajorNumber(),
      currencyIsoCode: input.amount.currency,
      partnerReference: input.idempotencyKey,
      description: `period from ${input.periodStart.toISOString().slice(0, 10)}`,
    };
    const tx = await this.request<SmartPayTransaction>(
      'POST',
      `/payment-series/${encodeURIComponent(input.externalSubscriptionId)}/transactions`,
      body,
    );
    return fromTransaction(tx);
  }

  parseWebhook(headers: WebhookHeaders, rawBody: Buffer): GatewayEvent[] {
    verifyBasicAuth(headers, {
      username: this.options.notifyUsername,
      password: this.options.notifyPassword,
    });
    return parseNotification(rawBody);
  }

  private widgetResult(subscription: SmartPaySubscription): PaymentResult {
    return {
      status: 'action_required',
      // until the first cycle's transaction replaces it, the payment is known at SmartPay by its subscription
      externalPaymentId: subscription.id,
      externalSubscriptionId: subscription.id,
      action: { type: 'widget', url: this.options.widgetUrl, data: { subscriptionId: subscription.id } },
      state: { subscriptionId: subscription.id },
    };
  }

  /** Reuses the plan of this offer, price and period, or creates it. */
  private async plan(offerId: string, input: AuthoriseInput, period: string): Promise<SmartPayPlan> {
    const key = planKey(offerId, input.amount, period);
    const plans = await this.request<SmartPayList<SmartPayPlan>>('GET', '/plans');
    const found = plans.data.find((p) => p.merchantMetadata === key);
    return found ?? this.request<SmartPayPlan>('POST', '/plans', planFor(offerId, input.amount, period));
  }

  private async findSubscription(reference: string): Promise<SmartPaySubscription | undefined> {
    const list = await this.request<SmartPayList<SmartPaySubscription>>(
      'GET',
      `/subscriptions?externalMerchantId=${encodeURIComponent(reference)}`,
    );
    return list.data.find((s) => s.externalMerchantId === reference);
  }

  private createSubscription(body: SmartPaySubscriptionRequest): Promise<SmartPaySubscription> {
    return this.request<SmartPaySubscription>('POST', '/subscriptions', body);
  }

  /** Every call: Basic merchantKey:authenticationKey, `x-api-key`, and the documented headers. */
  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const { apiUrl, merchantKey, authKey } = this.options;
    const res = await sendToGateway(this.http, this.id, {
      method,
      url: `${apiUrl}${path}`,
      headers: {
        authorization: `Basic ${Buffer.from(`${merchantKey}:${authKey}`).toString('base64')}`,
        'x-api-key': merchantKey,
        'accept-language': 'en-US',
        origin: this.config.publicUrl,
        'user-agent': 'cleeng-payment-connector',
      },
      ...(body !== undefined ? { body } : {}),
      timeoutMs: Math.max(this.config.gatewayTimeoutMs, SMARTPAY_MIN_TIMEOUT_MS),
    });
    if (res.status >= 200 && res.status < 300) {
      return res.body as T;
    }
    throw errorForStatus(res.status, res.body, `${method} ${path.split('?')[0] ?? path}`);
  }
}
