import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { isUniqueViolation } from '../common/database/column-transformers';
import { DomainError, FieldError } from '../common/errors/domain-error';
import { assertTransition } from '../common/state-machine';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { PaymentDetailsService } from '../payment-details/payment-details.service';
import {
  IN_FLIGHT_ATTEMPT_STATUSES,
  REBILL_ATTEMPT_TRANSITIONS,
  RebillAttemptEntity,
  RebillAttemptStatus,
} from '../rebilling/rebill-attempt.entity';
import { parseInterval } from './billing-interval';
import { CreateSubscriptionDto } from './dto/create-subscription.dto';
import {
  ConnectorSubscriptionEntity,
  SUBSCRIPTION_TRANSITIONS,
  SubscriptionStatus,
} from './subscription.entity';
import { lockById } from '../common/database/row-lock';
import { isUuid } from '../common/ids/uuid';

/** Attempts waiting on dunning or the customer: a cancellation ends them. */
const WAITING: RebillAttemptStatus[] = ['declined', 'retry_scheduled', 'action_required'];
const ATTEMPTS_SHOWN = 400;

export interface SubscriptionWithAttempts {
  subscription: ConnectorSubscriptionEntity;
  attempts: RebillAttemptEntity[];
}

/** Subscription state change through the table (a no-op when it does not change). */
export function subscriptionTransition(from: SubscriptionStatus, to: SubscriptionStatus): SubscriptionStatus {
  if (from !== to) {
    assertTransition('subscription', SUBSCRIPTION_TRANSITIONS, from, to);
  }
  return to;
}

/** Attempt state change through the table (self-transitions only where the table lists them). */
export function attemptTransition(from: RebillAttemptStatus, to: RebillAttemptStatus): RebillAttemptStatus {
  assertTransition('rebill attempt', REBILL_ATTEMPT_TRANSITIONS, from, to);
  return to;
}

/** Create, read (with attempts), cancel; and the link to the gateway's subscription id. */
@Injectable()
export class SubscriptionsService {
  private readonly logger = new Logger(SubscriptionsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly gateways: GatewayRegistry,
    private readonly paymentDetails: PaymentDetailsService,
    private readonly clock: Clock,
  ) {}

  async create(dto: CreateSubscriptionDto): Promise<SubscriptionWithAttempts> {
    const errors: FieldError[] = [];
    const quantity = dto.quantity ?? 1;
    if (dto.amount.value <= 0) {
      errors.push({ field: 'amount.value', messages: ['must be greater than zero'] });
    } else if (dto.amount.value % quantity !== 0) {
      errors.push({
        field: 'amount.value',
        messages: [`${dto.amount.value} minor units cannot be split evenly over quantity ${quantity}`],
      });
    }
    // reported to Cleeng (externally managed): the customer is a Cleeng customer
    const reported = dto.cleengSubscriptionId !== undefined || dto.offerId !== undefined;
    if (reported && !/^\d{1,18}$/.test(dto.customerId)) {
      errors.push({
        field: 'customerId',
        messages: ['must be the numeric Cleeng customer id when offerId or cleengSubscriptionId is given'],
      });
    }
    const nextBillingAt = new Date(dto.nextBillingAt);
    if (Number.isNaN(nextBillingAt.getTime())) {
      errors.push({ field: 'nextBillingAt', messages: ['must be a valid date-time'] });
    }
    const gateway = this.gateways.get(dto.gateway);
    const paymentDetails = dto.paymentDetailsId
      ? await this.paymentDetails.findActive(dto.paymentDetailsId, dto.customerId, dto.gateway)
      : null;
    if (dto.paymentDetailsId && !paymentDetails) {
      errors.push({
        field: 'paymentDetailsId',
        messages: [`no active ${dto.gateway} payment details of customer ${dto.customerId} with this id`],
      });
    }
    errors.push(
      ...(gateway.validateSubscription?.({
        ...(dto.externalSubscriptionId ? { externalSubscriptionId: dto.externalSubscriptionId } : {}),
        ...(dto.productId ? { productId: dto.productId } : {}),
        hasStoredToken: paymentDetails !== null,
        ...(dto.extraParameters ? { extraParameters: dto.extraParameters } : {}),
      }) ?? []),
    );
    if (errors.length > 0) {
      throw new DomainError(
        'VALIDATION_FAILED',
        errors.map((e) => `${e.field}: ${e.messages.join(', ')}`).join('; '),
        errors,
      );
    }
    if (!gateway.capabilities.connectorManagedRebill) {
      throw new DomainError(
        'GATEWAY_OPERATION_UNSUPPORTED',
        `gateway ${dto.gateway} cannot rebill connector-managed subscriptions`,
      );
    }
    if (reported && !this.config.cleeng.paymentMethods.has(dto.gateway)) {
      throw new DomainError(
        'GATEWAY_NOT_AVAILABLE',
        `no Cleeng paymentMethodId configured for ${dto.gateway} (CLEENG_PAYMENT_METHODS)`,
      );
    }
    const interval = parseInterval(dto.interval);
    // pending: waiting for the gateway to name its subscription (Cleverbridge's first purchase)
    const status: SubscriptionStatus = dto.externalSubscriptionId || paymentDetails ? 'active' : 'pending';
    const repo = this.db.getRepository(ConnectorSubscriptionEntity);
    try {
      const saved = await repo.save(
        repo.create({
          customerId: dto.customerId,
          gateway: dto.gateway,
          externalSubscriptionId: dto.externalSubscriptionId ?? null,
          cleengSubscriptionId: dto.cleengSubscriptionId ?? null,
          offerId: dto.offerId ?? null,
          productId: dto.productId ?? null,
          quantity,
          defaultLanguageId: dto.defaultLanguageId ?? null,
          cleengLinkPaymentId: null,
          amountMinor: dto.amount.value,
          currency: dto.amount.currency,
          billingInterval: interval.text,
          billingAnchor: nextBillingAt,
          periodIndex: 0,
          nextBillingAt,
          nextAttemptAt: status === 'active' ? nextBillingAt : null,
          status,
          xParameters: dto.extraParameters ?? {},
          paymentDetailsId: paymentDetails?.id ?? null,
          dunningStep: 0,
          dunningStartedAt: null,
          lastDecline: null,
          checkoutUrl: null,
          checkoutExpiresAt: null,
          lastError: null,
          leaseOwner: null,
          leaseUntil: null,
          cancelReason: null,
          cancelledAt: null,
        }),
      );
      return { subscription: saved, attempts: [] };
    } catch (err) {
      if (isUniqueViolation(err, 'connector_subscriptions_external_uq')) {
        throw new DomainError(
          'SUBSCRIPTION_ALREADY_EXISTS',
          `a subscription for ${dto.gateway} subscription ${dto.externalSubscriptionId ?? ''} already exists`,
        );
      }
      throw err;
    }
  }

  async get(id: string): Promise<SubscriptionWithAttempts> {
    const subscription = await this.db.getRepository(ConnectorSubscriptionEntity).findOneBy({ id });
    if (!subscription) {
      throw new DomainError('SUBSCRIPTION_NOT_FOUND', `subscription ${id} not found`);
    }
    const attempts = await this.db.getRepository(RebillAttemptEntity).find({
      where: { subscriptionId: id },
      order: { periodStart: 'DESC' },
      take: ATTEMPTS_SHOWN,
    });
    return { subscription, attempts };
  }

  /**
   * Stops rebilling. Waiting attempts (dunning, customer action) end as failed; a call whose outcome is still
   * open (charging / unknown / pending) keeps its schedule so it is resolved under its key, never abandoned.
   */
  async cancel(id: string, reason = 'requested'): Promise<SubscriptionWithAttempts> {
    await this.db.transaction(async (manager) => {
      const sub = await this.lock(manager, id);
      if (!sub) {
        throw new DomainError('SUBSCRIPTION_NOT_FOUND', `subscription ${id} not found`);
      }
      if (sub.status === 'cancelled') {
        return;
      }
      const attempts = await manager.find(RebillAttemptEntity, {
        where: { subscriptionId: id, status: In([...IN_FLIGHT_ATTEMPT_STATUSES, ...WAITING]) },
      });
      let inFlight = false;
      for (const attempt of attempts) {
        if (IN_FLIGHT_ATTEMPT_STATUSES.includes(attempt.status)) {
          inFlight = true;
        } else {
          await manager.update(
            RebillAttemptEntity,
            { id: attempt.id },
            {
              status: attemptTransition(attempt.status, 'failed'),
              lastError: `subscription cancelled (${reason})`,
            },
          );
        }
      }
      await manager.update(
        ConnectorSubscriptionEntity,
        { id },
        {
          status: subscriptionTransition(sub.status, 'cancelled'),
          cancelledAt: this.clock.now(),
          cancelReason: reason,
          nextAttemptAt: inFlight ? sub.nextAttemptAt : null,
          checkoutUrl: null,
          checkoutExpiresAt: null,
        },
      );
    });
    return this.get(id);
  }

  /** The subscription row, locked for this transaction (every writer locks it first: one order, no deadlock). */
  async lock(manager: EntityManager, id: string): Promise<ConnectorSubscriptionEntity | null> {
    if (!isUuid(id)) {
      return null;
    }
    return lockById(manager, ConnectorSubscriptionEntity, id);
  }

  async findByExternalId(
    manager: EntityManager,
    gateway: string,
    externalSubscriptionId: string,
  ): Promise<ConnectorSubscriptionEntity | null> {
    return manager.findOneBy(ConnectorSubscriptionEntity, {
      gateway: gateway,
      externalSubscriptionId,
    });
  }

  /**
   * The seed: "save this ID ... so that the ID is included in future rebilling requests". Sets the gateway's
   * subscription id on our pending subscription and starts its schedule. Idempotent; a conflicting id is
   * logged and left alone (an operator decides).
   */
  async linkExternalId(
    manager: EntityManager,
    subscriptionId: string,
    externalSubscriptionId: string,
  ): Promise<'linked' | 'already' | 'conflict' | 'not_found'> {
    const sub = await this.lock(manager, subscriptionId);
    if (!sub) {
      return 'not_found';
    }
    if (sub.externalSubscriptionId === externalSubscriptionId) {
      return 'already';
    }
    const other = await this.findByExternalId(manager, sub.gateway, externalSubscriptionId);
    if (sub.externalSubscriptionId !== null || (other && other.id !== sub.id) || sub.status !== 'pending') {
      this.logger.warn(
        `subscription ${sub.id}: not linking ${sub.gateway} subscription ${externalSubscriptionId} ` +
          `(has ${sub.externalSubscriptionId ?? 'none'}, status ${sub.status}, other owner ${other?.id ?? 'none'})`,
      );
      return 'conflict';
    }
    await manager.update(
      ConnectorSubscriptionEntity,
      { id: sub.id },
      {
        externalSubscriptionId,
        status: subscriptionTransition(sub.status, 'active'),
        nextAttemptAt: sub.nextBillingAt,
      },
    );
    this.logger.log(
      `subscription ${sub.id}: linked to ${sub.gateway} subscription ${externalSubscriptionId}`,
    );
    return 'linked';
  }
}
