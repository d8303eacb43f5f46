import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Principal, restrictedCustomer } from '../auth/principal';
import { DomainError, NotFoundError } from '../common/errors/domain-error';
import { Money } from '../common/money/money';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { GatewayCustomer, PaymentMethodData } from '../gateways/gateway.provider';
import { requireOperation } from '../gateways/gateway-operations';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { PaymentOperation } from '../orders/order.entity';
import { OrdersService } from '../orders/orders.service';
import { callGateway } from '../gateways/gateway-call';
import { PaymentEntity, PendingOperation } from './payment.entity';
import { PaymentProcessor } from './payment-processor.service';
import { PaymentStateService } from './payment-state.service';
import { shopperReference } from '../payment-details/shopper-reference';

export interface StartPaymentInput {
  orderId: string;
  paymentMethod: PaymentMethodData;
  returnUrl?: string;
  browserInfo?: Record<string, unknown>;
}

/**
 * Initial purchase and free trial (seed "Subscription Initial Purchase"): charge exactly the
 * order's amount, authorise then capture where the gateway separates them, keep the recurring
 * token, and report the result to Cleeng (PaymentProcessor does the state and the reports).
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger(PaymentsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly orders: OrdersService,
    private readonly gateways: GatewayRegistry,
    private readonly processor: PaymentProcessor,
    private readonly paymentState: PaymentStateService,
  ) {}

  async findForPrincipal(principal: Principal, id: string): Promise<PaymentEntity> {
    const customer = restrictedCustomer(principal);
    const payment = await this.db
      .getRepository(PaymentEntity)
      .findOneBy(customer === undefined ? { id } : { id, customerId: customer });
    if (!payment) {
      throw new NotFoundError('PAYMENT_NOT_FOUND', id);
    }
    return payment;
  }

  async start(principal: Principal, input: StartPaymentInput): Promise<PaymentEntity> {
    const order = await this.orders.findForPrincipal(principal, input.orderId);
    if (order.paymentOperation === 'recurring-payment') {
      throw new DomainError(
        'PAYMENT_NOT_ACTIONABLE',
        `order ${order.id} is a renewal; the connector pays it itself`,
      );
    }
    const gateway = this.gateways.get(order.gateway);
    const amount = Money.of(order.amountMinor, order.currency);
    const operation: PaymentOperation = amount.isZero() ? 'initial-free-transaction' : 'initial-payment';
    const id = randomUUID();
    const returnUrl = input.returnUrl ?? `${this.config.publicUrl}/v1/payments/${id}/return`;
    const payment = await this.paymentState.insertPending(
      order,
      operation,
      { flow: 'initial', returnUrl },
      id,
    );
    const customer: GatewayCustomer = {
      reference: shopperReference(order.customerId),
      country: order.country,
    };
    const source = { kind: 'customer' as const, paymentMethod: input.paymentMethod };
    const common = { reference: payment.id, customer, source, returnUrl, browserInfo: input.browserInfo };

    if (operation === 'initial-free-transaction') {
      if (!gateway.capabilities.zeroAmountAuth && !gateway.capabilities.tokenisation) {
        throw new DomainError(
          'GATEWAY_OPERATION_UNSUPPORTED',
          `gateway ${gateway.id} cannot store a card without a payment`,
        );
      }
      const outcome = await callGateway(
        () =>
          requireOperation(
            gateway,
            'tokenise',
          )({
            ...common,
            idempotencyKey: `${payment.id}:tokenise`,
            currency: amount.currency,
          }),
        { gateway: gateway.id, operation: 'tokenise', subject: payment.id },
      );
      return this.processor.settle(payment, gateway, 'tokenise', outcome);
    }
    const mode: PendingOperation = gateway.capabilities.separateCapture ? 'authorise' : 'charge';
    const outcome = await callGateway(
      () => {
        const call = {
          ...common,
          idempotencyKey: `${payment.id}:${mode}`,
          amount,
          initiator: 'customer' as const,
          storeForRecurring: true,
          offerId: order.offerId,
        };
        return requireOperation(gateway, mode)(call);
      },
      { gateway: gateway.id, operation: mode, subject: payment.id },
    );
    return this.processor.settle(payment, gateway, mode, outcome);
  }

  /** The shopper is back from 3DS / a redirect: finish the payment with the gateway's return payload. */
  async complete(principal: Principal, id: string, details: Record<string, unknown>): Promise<PaymentEntity> {
    return this.completeLoaded(await this.findForPrincipal(principal, id), details);
  }

  /**
   * The gateway redirected the shopper's browser to our default returnUrl. Anyone can call that URL, so it
   * only triggers the idempotent completion with the gateway's own return payload (which the gateway checks)
   * and answers nothing about the payment: every outcome, failures included, ends in the same redirect.
   */
  async completeFromReturn(
    id: string,
    request: { query: Record<string, unknown>; body: unknown },
  ): Promise<void> {
    const payment = await this.db.getRepository(PaymentEntity).findOneBy({ id });
    if (!payment || payment.status !== 'action_required') {
      return; // unknown, or already completed by an earlier reload or by the gateway's notification
    }
    const gateway = this.gateways.get(payment.gateway);
    if (!gateway.capabilities.threeDSecure) {
      return;
    }
    // the gateway picks its own return fields (e.g. Adyen's redirectResult) from what the browser brought
    const parsed = requireOperation(gateway, 'returnDetails')(request);
    if ('errors' in parsed) {
      return;
    }
    await this.completeLoaded(payment, parsed.details).catch((err: unknown) => {
      this.logger.warn(
        `payment ${id}: completion from the return URL failed (${err instanceof DomainError ? err.code : String(err)})`,
      );
    });
  }

  /** Where the return route sends the shopper's browser; undefined: answer a neutral page. */
  shopperLanding(id: string): string | undefined {
    if (!this.config.shopperReturnUrl) {
      return undefined;
    }
    const url = new URL(this.config.shopperReturnUrl);
    url.searchParams.set('paymentId', id);
    return url.toString();
  }

  /**
   * Sends the shopper's return payload once: the row is claimed (action_required -> pending) under its lock, so
   * concurrent reloads do not race; the call carries an Idempotency-Key derived from the payload, so a retry
   * after a lost answer gets the first answer instead of "already redeemed". A refused payload (4xx) or a
   * gateway that was not reached leaves the payment waiting (for the shopper, the notification, or its
   * deadline) instead of rejecting a payment the gateway may still authorise.
   */
  private async completeLoaded(
    payment: PaymentEntity,
    details: Record<string, unknown>,
  ): Promise<PaymentEntity> {
    const claimed = await this.paymentState.claimCompletion(payment.id);
    if (!claimed) {
      const current = await this.db.getRepository(PaymentEntity).findOneByOrFail({ id: payment.id });
      if (current.status === 'pending' && current.gatewayState?.pendingOperation === 'complete') {
        return current; // another request is completing it right now
      }
      if (this.gateways.get(current.gateway).capabilities.gatewayManagedBilling) {
        // the widget's result races the first billing cycle's notification: whichever is second sees the outcome
        return current;
      }
      throw new DomainError(
        'PAYMENT_NOT_ACTIONABLE',
        `payment ${payment.id} is ${current.status}, not waiting for the shopper`,
      );
    }
    const gateway = this.gateways.get(claimed.gateway);
    const completeAction = requireOperation(gateway, 'completeAction');
    const outcome = await callGateway(
      () =>
        completeAction({
          idempotencyKey: detailsKey(claimed.id, details),
          reference: claimed.id,
          details,
          ...(claimed.gatewayState?.actionState ? { state: claimed.gatewayState.actionState } : {}),
          ...(claimed.externalPaymentId ? { externalPaymentId: claimed.externalPaymentId } : {}),
        }),
      { gateway: gateway.id, operation: 'completeAction', subject: claimed.id },
    );
    if (outcome.kind === 'invalid') {
      await this.paymentState.releaseCompletion(claimed.id, outcome.error.message);
      throw new DomainError(
        'GATEWAY_REQUEST_INVALID',
        `the gateway refused the return payload (${outcome.error.message}); the payment still waits for the shopper`,
      );
    }
    if (outcome.kind === 'not_processed') {
      return this.paymentState.releaseCompletion(
        claimed.id,
        outcome.decline.rawReason ?? 'gateway not reached',
      );
    }
    return this.processor.settle(
      claimed,
      gateway,
      claimed.amountMinor === 0 ? 'tokenise' : 'complete',
      outcome,
    );
  }
}

/**
 * One key per payment and payload (max 64 characters): a replay of the same payload gets the first answer,
 * while a forged or mistyped payload cannot occupy the key the genuine one needs.
 */
function detailsKey(paymentId: string, details: Record<string, unknown>): string {
  const digest = createHash('sha256').update(stableJson(details)).digest('base64url').slice(0, 16);
  return `${paymentId}:details:${digest}`;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(stableJson).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
