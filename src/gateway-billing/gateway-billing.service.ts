import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { emsCycleReport, subscriptionTerminateReport } from '../cleeng/cleeng-reports';
import { RetryLaterError } from '../common/errors/retry-later.error';
import { Money } from '../common/money/money';
import { decline } from '../gateways/decline-codes';
import { GatewayEvent, GatewaySubscriptionStatus } from '../gateways/gateway.provider';
import { GatewayRegistry } from '../gateways/gateway.registry';
import type { InboxOutcome } from '../inbox/inbox.service';
import { OrderEntity } from '../orders/order.entity';
import { OutboxService } from '../outbox/outbox.service';
import { PaymentEntity } from '../payments/payment.entity';
import { PaymentProcessor } from '../payments/payment-processor.service';
import { OPEN_STATUSES, PaymentStateService } from '../payments/payment-state.service';
import { GATEWAY_SUBSCRIPTION_TRANSITIONS, GatewaySubscriptionEntity } from './gateway-subscription.entity';

const FINAL: GatewaySubscriptionStatus[] = ['cancelled', 'ended'];

/**
 * Billing mode 2: the gateway runs the schedule and tells us about it.
 *
 * - The subscription is known from its initial payment (which carries the gateway subscription id until the
 *   first cycle's transaction replaces it) and registered on its first event.
 * - The first cycle settles the initial payment (reported to Cleeng on the order: Cleeng creates payment and
 *   subscription). Every later cycle is an externally managed payment report, captured or rejected with the
 *   normalised decline, deduplicated per transaction and outcome.
 * - Status changes are mirrored; cancelled or ended terminates the Cleeng subscription (once).
 * Every decision is taken with the subscription row locked, so redeliveries and concurrent workers agree; the
 * payment itself is settled afterwards through PaymentStateService (its own lock), never inside that transaction.
 */
@Injectable()
export class GatewayBillingService {
  private readonly logger = new Logger(GatewayBillingService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly gateways: GatewayRegistry,
    private readonly processor: PaymentProcessor,
    private readonly paymentState: PaymentStateService,
    private readonly outbox: OutboxService,
  ) {}

  async handle(gateway: string, event: GatewayEvent): Promise<InboxOutcome> {
    const externalId = event.externalSubscriptionId;
    if (!externalId) {
      return 'ignored';
    }
    const registered = await this.findOrRegister(gateway, externalId);
    if (!registered) {
      if (event.type === 'subscription.updated') {
        return 'ignored'; // not one of ours
      }
      // money moved on a subscription we do not know (yet): never drop it silently
      throw new RetryLaterError(`no ${gateway} subscription ${externalId} is known yet`);
    }
    const outcome =
      event.type === 'subscription.updated'
        ? await this.statusChanged(registered.id, event)
        : await this.cycle(registered.id, event);
    this.outbox.notify();
    return outcome;
  }

  /**
   * One billing cycle's transaction. The first one the subscription sees is claimed as the initial payment's
   * (under the row lock, committed) and settles that payment through the payment state machine, in its own
   * transaction; any other is a renewal, reported in the same transaction that decided it.
   */
  private async cycle(subscriptionId: string, event: GatewayEvent): Promise<InboxOutcome> {
    const transactionId = event.externalPaymentId;
    if (!transactionId) {
      return 'ignored';
    }
    const succeeded = event.type === 'billing.succeeded';
    const decided = await this.db.transaction(async (manager) => {
      const sub = await this.lock(manager, subscriptionId);
      if (sub.initialTransactionId === null) {
        await manager.update(
          GatewaySubscriptionEntity,
          { id: sub.id },
          {
            initialTransactionId: transactionId,
            ...(succeeded && sub.status === 'pending' ? { status: 'active' } : {}),
          },
        );
        sub.initialTransactionId = transactionId;
      }
      if (sub.initialTransactionId === transactionId) {
        return { initial: true as const, sub };
      }
      const payment = await manager.findOneByOrFail(PaymentEntity, { id: sub.paymentId });
      this.requireCleengSubscription(payment);
      await this.outbox.enqueue(
        manager,
        emsCycleReport({
          gateway: sub.gateway,
          subscriptionId: sub.id,
          customerId: sub.customerId,
          offerId: sub.offerId,
          cleengSubscriptionId: payment.gatewayState?.cleengSubscriptionId ?? null,
          paymentMethodId: sub.paymentMethodId,
          amount: event.amount
            ? Money.of(event.amount.value, event.amount.currency)
            : Money.of(sub.amountMinor, sub.currency),
          status: succeeded ? 'captured' : 'rejected',
          externalPaymentId: transactionId,
          ...(succeeded ? {} : { decline: event.decline ?? decline('PAY_DEC') }),
        }),
      );
      return { initial: false as const, sub };
    });
    if (!decided.initial) {
      return 'done';
    }
    const payment = await this.db.getRepository(PaymentEntity).findOneByOrFail({ id: decided.sub.paymentId });
    if (!OPEN_STATUSES.includes(payment.status)) {
      return 'ignored'; // settled by an earlier delivery of this cycle
    }
    if (succeeded) {
      await this.processor.applyResult(payment, this.gateways.get(decided.sub.gateway), 'complete', {
        status: 'captured',
        externalPaymentId: transactionId,
      });
    } else {
      await this.paymentState.reject(payment, event.decline ?? decline('PAY_DEC'), transactionId);
    }
    return 'done';
  }

  /** Mirrors the status; cancelled or ended terminates the Cleeng subscription once and drops an unpaid start. */
  private async statusChanged(subscriptionId: string, event: GatewayEvent): Promise<InboxOutcome> {
    const to = event.subscriptionStatus;
    if (!to) {
      return 'ignored';
    }
    const moved = await this.db.transaction(async (manager) => {
      const sub = await this.lock(manager, subscriptionId);
      if (to === sub.status) {
        return sub; // a redelivery: the payment below may still need settling
      }
      if (!GATEWAY_SUBSCRIPTION_TRANSITIONS[sub.status].includes(to)) {
        this.logger.warn(
          `${sub.gateway} subscription ${sub.externalSubscriptionId}: ${sub.status} -> ${to} ignored`,
        );
        return undefined;
      }
      if (FINAL.includes(to)) {
        const payment = await manager.findOneByOrFail(PaymentEntity, { id: sub.paymentId });
        this.requireCleengSubscription(payment);
        const cleengSubscriptionId = payment.gatewayState?.cleengSubscriptionId;
        if (cleengSubscriptionId) {
          await this.outbox.enqueue(
            manager,
            subscriptionTerminateReport(cleengSubscriptionId, `gateway-subscription:${sub.id}`),
          );
        }
      }
      await manager.update(GatewaySubscriptionEntity, { id: sub.id }, { status: to });
      sub.status = to;
      return sub;
    });
    if (!moved || !FINAL.includes(to)) {
      return moved ? 'done' : 'ignored';
    }
    const payment = await this.db.getRepository(PaymentEntity).findOneByOrFail({ id: moved.paymentId });
    if (OPEN_STATUSES.includes(payment.status)) {
      // the gateway's own word: no payment will come for this subscription
      await this.paymentState.reject(
        payment,
        decline('PAY_DEC', { code: `subscription_${to}`, reason: `the gateway subscription was ${to}` }),
      );
    }
    return 'done';
  }

  private lock(manager: EntityManager, id: string): Promise<GatewaySubscriptionEntity> {
    return manager.findOneOrFail(GatewaySubscriptionEntity, {
      where: { id },
      lock: { mode: 'pessimistic_write' },
    });
  }

  /**
   * The Cleeng subscription is the one the initial payment's report created (looked up once Cleeng accepted the
   * report); until it is known, later reports about the subscription wait (the inbox retries).
   */
  private requireCleengSubscription(payment: PaymentEntity): void {
    if (payment.status === 'captured' && !payment.gatewayState?.cleengSubscriptionId) {
      throw new RetryLaterError(`payment ${payment.id}: waiting for Cleeng to accept the initial payment`);
    }
  }

  /** Our row for the gateway subscription, registered from the initial payment that created it. */
  private async findOrRegister(
    gateway: string,
    externalId: string,
  ): Promise<GatewaySubscriptionEntity | null> {
    const repo = this.db.getRepository(GatewaySubscriptionEntity);
    const found = await repo.findOneBy({ gateway, externalSubscriptionId: externalId });
    if (found) {
      return found;
    }
    const payment = await this.db
      .getRepository(PaymentEntity)
      .findOneBy({ gateway, externalPaymentId: externalId });
    if (!payment) {
      return null;
    }
    const order = await this.db.getRepository(OrderEntity).findOneByOrFail({ id: payment.orderId });
    await this.db.query(
      `INSERT INTO gateway_subscriptions
         (gateway, external_subscription_id, payment_id, order_id, customer_id, offer_id, payment_method_id,
          amount_minor, currency, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')
       ON CONFLICT DO NOTHING`,
      [
        gateway,
        externalId,
        payment.id,
        order.id,
        order.customerId,
        order.offerId,
        order.paymentMethodId,
        order.amountMinor,
        order.currency,
      ],
    );
    return repo.findOneBy({ gateway, externalSubscriptionId: externalId });
  }
}
