import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { HttpClient } from '../../common/http/http-client';
import { sendToGateway } from '../gateway-http';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { GATEWAY_CAPABILITIES } from '../gateway-capabilities';
import { GatewayOperationUnsupportedError } from '../gateway.errors';
import {
  AuthoriseInput,
  CancelInput,
  CaptureInput,
  CompleteActionInput,
  GatewayCapabilities,
  GatewayProvider,
  ModificationResult,
  PaymentResult,
  ProcessCartInput,
  RebillInput,
  RefundInput,
  TokeniseInput,
  WebhookHeaders,
} from '../gateway.provider';
import {
  CleverbridgeEvent,
  errorForStatus,
  fromProcessCartResponse,
  parseNotification,
  toProcessCartRequest,
  toRebillCart,
  verifyBasicAuth,
} from './cleverbridge.mapper';
import { CleverbridgeProcessCartResponse } from './cleverbridge.types';

/** `config.cleverbridge` (CLEVERBRIDGE_* variables). */

/**
 * Cleverbridge, merchant of record: `POST /cart/processcart` charges a known customer with the payment
 * details Cleverbridge already holds, or answers with a URL for the customer. Card data never passes through
 * us, so the card-gateway operations (authorise, capture, tokenise, ...) are not offered.
 *
 * Idempotency out: Cleverbridge has no idempotency header. Every cart carries our attempt id as the
 * x-parameter `x-connector-attempt` (and rebills `x-connector-period`); both come back in the notifications,
 * so a repeated attempt and its purchase can be recognised. The database's unique (subscription, period)
 * rebill attempt is what prevents a second call for the same period in the first place.
 */
@Injectable()
export class CleverbridgeGateway implements GatewayProvider {
  readonly id = 'cleverbridge' as const;
  readonly capabilities: GatewayCapabilities = GATEWAY_CAPABILITIES.cleverbridge;
  private readonly http = new HttpClient('cleverbridge');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** One-off or in-app purchase (update, free-to-paid, support hours), interactive or not. */
  async processCart(input: ProcessCartInput): Promise<PaymentResult> {
    const body = toProcessCartRequest(input);
    const res = await this.post(body);
    return fromProcessCartResponse(res, { mode: input.mode, now: this.clock.now() });
  }

  /** One period of a connector-managed subscription: non-interactive ProcessCart on the subscription id. */
  rebill(input: RebillInput): Promise<PaymentResult> {
    return this.processCart(toRebillCart(input));
  }

  authorise(_input: AuthoriseInput): Promise<PaymentResult> {
    return this.unsupported('authorise');
  }

  /** A card charge needs card data or a token; Cleverbridge charges carts (processCart) instead. */
  charge(_input: AuthoriseInput): Promise<PaymentResult> {
    return this.unsupported('charge');
  }

  capture(_input: CaptureInput): Promise<ModificationResult> {
    return this.unsupported('capture');
  }

  cancel(_input: CancelInput): Promise<ModificationResult> {
    return this.unsupported('cancel');
  }

  /** Refunds happen in Cleverbridge (Commerce Assistant); they reach us as RefundNotification. */
  refund(_input: RefundInput): Promise<ModificationResult> {
    return this.unsupported('refund');
  }

  tokenise(_input: TokeniseInput): Promise<PaymentResult> {
    return this.unsupported('tokenise');
  }

  completeAction(_input: CompleteActionInput): Promise<PaymentResult> {
    return this.unsupported('completeAction');
  }

  /** Basic auth (CLEVERBRIDGE_NOTIFY_USERNAME/PASSWORD) is checked before the body is read. */
  parseWebhook(headers: WebhookHeaders, rawBody: Buffer): CleverbridgeEvent[] {
    verifyBasicAuth(headers, {
      username: this.config.cleverbridge.notifyUsername,
      password: this.config.cleverbridge.notifyPassword,
    });
    return parseNotification(rawBody);
  }

  private unsupported(operation: string): Promise<never> {
    return Promise.reject(new GatewayOperationUnsupportedError(this.id, operation));
  }

  private async post(body: unknown): Promise<CleverbridgeProcessCartResponse> {
    const { apiUrl, username, password } = this.config.cleverbridge;
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
