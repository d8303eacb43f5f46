import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { HttpClient } from '../../common/http/http-client';
import { sendToGateway } from '../gateway-http';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { FieldError } from '../../common/errors/domain-error';
import {
  CallLookupInput,
  CallLookupResult,
  GatewayCapabilities,
  GatewayProvider,
  PaymentResult,
  ProcessCartInput,
  RebillInput,
  SubscriptionTerms,
  WebhookHeaders,
} from '../gateway.provider';
import {
  callerExtraParameterProblems,
  CleverbridgeEvent,
  errorForStatus,
  fromProcessCartResponse,
  fromPurchaseList,
  parseNotification,
  toProcessCartRequest,
  toRebillCart,
  validateExtraParameters,
  validateProcessCartInput,
  verifyBasicAuth,
  X_SUBSCRIPTION,
} from './cleverbridge.mapper';
import { CLEVERBRIDGE_OPTIONS, CleverbridgeOptions } from './cleverbridge.options';
import { CleverbridgeProcessCartResponse } from './cleverbridge.types';

/**
 * Cleverbridge, merchant of record: `POST /cart/processcart` charges a known customer with the payment
 * details Cleverbridge already holds, or answers with a URL for the customer. Card data never passes through
 * us, so the card-gateway operations (authorise, capture, tokenise, ...) are not offered.
 *
 * Idempotency out: Cleverbridge has no idempotency key, so ProcessCart (rebills included) is an unkeyed
 * operation: once a cart may have reached Cleverbridge it is never sent again; `lookupCall` finds what it did.
 * Every cart carries our attempt id as the x-parameter `x-connector-attempt` (and rebills `x-connector-period`);
 * both come back in the notifications and in the Purchase API, so the purchase of a lost answer is recognised.
 */
/** how far the Purchase API search window reaches past the call, each side (clocks differ) */
const LOOKUP_SKEW_MS = 60 * 60 * 1000;

@Injectable()
export class CleverbridgeGateway implements GatewayProvider {
  readonly id = 'cleverbridge' as const;
  /** refunds happen in Cleverbridge (Commerce Assistant) and reach us as RefundNotification */
  readonly capabilities: GatewayCapabilities = {
    separateCapture: false,
    zeroAmountAuth: false,
    tokenisation: false,
    partialRefund: false,
    threeDSecure: false,
    connectorManagedRebill: true,
    refundsByCaptureId: false,
  };
  readonly unkeyedOperations = ['rebill', 'processCart'] as const;
  private readonly http = new HttpClient('cleverbridge');

  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'gatewayTimeoutMs'>,
    @Inject(CLEVERBRIDGE_OPTIONS) private readonly options: CleverbridgeOptions,
    private readonly clock: Clock,
  ) {}

  /** The cart's rules, and no caller-supplied x-parameter of the connector's own. */
  validatePurchase(input: ProcessCartInput): FieldError[] {
    const errors = validateProcessCartInput(input);
    const reserved = (field: string, params: Record<string, string> | undefined): void => {
      const problems = callerExtraParameterProblems(params ?? {}, 'extraParameters').filter(
        (p) => !validateExtraParameters(params ?? {}, 'extraParameters').includes(p),
      );
      if (problems.length > 0) {
        errors.push({ field, messages: problems });
      }
    };
    reserved('extraParameters', input.extraParameters);
    input.items.forEach((item, i) => reserved(`items[${i}].extraParameters`, item.extraParameters));
    return errors;
  }

  /** Rebills name the product; x-parameters follow Cleverbridge's rules and leave ours alone. */
  validateSubscription(terms: SubscriptionTerms): FieldError[] {
    const errors: FieldError[] = [];
    if (!terms.productId) {
      errors.push({ field: 'productId', messages: ['is required for Cleverbridge (the product to rebill)'] });
    }
    const problems = callerExtraParameterProblems(terms.extraParameters ?? {}, 'extraParameters');
    if (problems.length > 0) {
      errors.push({ field: 'extraParameters', messages: problems });
    }
    return errors;
  }

  /** One-off or in-app purchase (update, free-to-paid, support hours), interactive or not. */
  async processCart(input: ProcessCartInput): Promise<PaymentResult> {
    const body = toProcessCartRequest(input);
    const res = await this.post(body);
    const result = fromProcessCartResponse(res, { mode: input.mode, now: this.clock.now() });
    const subscriptionReference = input.extraParameters?.[X_SUBSCRIPTION];
    return subscriptionReference ? { ...result, subscriptionReference } : result;
  }

  /** One period of a connector-managed subscription: non-interactive ProcessCart on the subscription id. */
  rebill(input: RebillInput): Promise<PaymentResult> {
    return this.processCart(
      toRebillCart({
        ...input,
        defaultLanguageId: input.defaultLanguageId ?? this.options.defaultLanguageId,
      }),
    );
  }

  /**
   * What a ProcessCart whose answer was lost did: `GET /purchase/getpurchaselist` over the time it was sent in
   * (widened by LOOKUP_SKEW_MS each side for clock differences), filtered by its `x-connector-attempt`.
   */
  async lookupCall(input: CallLookupInput): Promise<CallLookupResult> {
    const { apiUrl, username, password } = this.options;
    const path = '/purchase/getpurchaselist';
    const query = new URLSearchParams({
      startdatetime: new Date(input.sentAfter.getTime() - LOOKUP_SKEW_MS).toISOString(),
      enddatetime: new Date(this.clock.now().getTime() + LOOKUP_SKEW_MS).toISOString(),
    });
    const res = await sendToGateway(this.http, this.id, {
      method: 'GET',
      url: `${apiUrl.replace(/\/$/, '')}${path}?${query.toString()}`,
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
      timeoutMs: this.config.gatewayTimeoutMs,
    });
    if (res.status < 200 || res.status >= 300) {
      throw errorForStatus(res.status, res.body, path);
    }
    return fromPurchaseList(res.body, input);
  }

  /** Basic auth (CLEVERBRIDGE_NOTIFY_USERNAME/PASSWORD) is checked before the body is read. */
  parseWebhook(headers: WebhookHeaders, rawBody: Buffer): CleverbridgeEvent[] {
    verifyBasicAuth(headers, {
      username: this.options.notifyUsername,
      password: this.options.notifyPassword,
    });
    return parseNotification(rawBody);
  }

  private async post(body: unknown): Promise<CleverbridgeProcessCartResponse> {
    const { apiUrl, username, password } = this.options;
    const res = await sendToGateway(this.http, this.id, {
      method: 'POST',
      url: `${apiUrl.replace(/\/$/, '')}/cart/processcart`,
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
      body,
      timeoutMs: this.config.gatewayTimeoutMs,
    });
    if (res.status >= 200 && res.status < 300) {
      return res.body as CleverbridgeProcessCartResponse;
    }
    throw errorForStatus(res.status, res.body);
  }
}
