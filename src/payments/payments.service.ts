import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
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
        { gateway: gateway.id, operation: 'tokenise' },
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
        };
        return requireOperation(gateway, mode)(call);
      },
      { gateway: gateway.id, operation: mode },
    );
    return this.processor.settle(payment, gateway, mode, outcome);
  }

  /** The shopper is back from 3DS / a redirect: finish the payment with the gateway's return payload. */
  async complete(principal: Principal, id: string, details: Record<string, unknown>): Promise<PaymentEntity> {
    return this.completeLoaded(await this.findForPrincipal(principal, id), details);
  }

  /** The gateway redirected the shopper's browser to our default returnUrl. */
  async completeFromReturn(
    id: string,
    request: { query: Record<string, unknown>; body: unknown },
  ): Promise<PaymentEntity> {
    const payment = await this.db.getRepository(PaymentEntity).findOneBy({ id });
    if (!payment) {
      throw new NotFoundError('PAYMENT_NOT_FOUND', id);
    }
    const gateway = this.gateways.get(payment.gateway);
    if (!gateway.capabilities.threeDSecure) {
      throw new DomainError(
        'GATEWAY_OPERATION_UNSUPPORTED',
        `gateway ${gateway.id} never sends shoppers back`,
      );
    }
    // the gateway picks its own return fields (e.g. Adyen's redirectResult) from what the browser brought
    const parsed = requireOperation(gateway, 'returnDetails')(request);
    if ('errors' in parsed) {
      throw new DomainError(
        'VALIDATION_FAILED',
        parsed.errors.map((e) => `${e.field} ${e.messages.join(', ')}`).join('; '),
        parsed.errors,
      );
    }
    return this.completeLoaded(payment, parsed.details);
  }

  private async completeLoaded(
    payment: PaymentEntity,
    details: Record<string, unknown>,
  ): Promise<PaymentEntity> {
    if (payment.status !== 'action_required') {
      throw new DomainError(
        'PAYMENT_NOT_ACTIONABLE',
        `payment ${payment.id} is ${payment.status}, not waiting for the shopper`,
      );
    }
    const gateway = this.gateways.get(payment.gateway);
    const completeAction = requireOperation(gateway, 'completeAction');
    const outcome = await callGateway(
      () =>
        completeAction({
          idempotencyKey: `${payment.id}:complete`,
          reference: payment.id,
          details,
          ...(payment.gatewayState?.actionState ? { state: payment.gatewayState.actionState } : {}),
        }),
      { gateway: gateway.id, operation: 'completeAction' },
    );
    return this.processor.settle(
      payment,
      gateway,
      payment.amountMinor === 0 ? 'tokenise' : 'complete',
      outcome,
    );
  }
}
