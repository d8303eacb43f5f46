import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { DomainError } from '../common/errors/domain-error';
import { Money } from '../common/money/money';
import { assertTransition } from '../common/state-machine';
import { decline as makeDecline } from '../gateways/decline-codes';
import { callGateway, GatewayCallOutcome } from '../gateways/gateway-call';
import { CartCustomer, GatewayEvent, PaymentResult, ProcessCartInput } from '../gateways/gateway.provider';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { isIdempotent, requireOperation } from '../gateways/gateway-operations';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { CreatePurchaseDto } from './dto/create-purchase.dto';
import { applyAfterSale } from '../refunds/after-sale';
import { PURCHASE_TRANSITIONS, PurchaseEntity, PurchaseItemRecord, PurchaseStatus } from './purchase.entity';
import { lockById } from '../common/database/row-lock';

const CAPTURED: readonly PurchaseStatus[] = ['captured', 'partially_refunded', 'refunded', 'charged_back'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type PurchaseChanges = Partial<Omit<PurchaseEntity, 'id' | 'createdAt' | 'updatedAt'>>;

function customerOf(dto: CreatePurchaseDto): CartCustomer {
  const { logonPurchaseId, customerReferenceId, subscriptionId } = dto.customer;
  if (logonPurchaseId !== undefined) {
    return { logonPurchaseId };
  }
  if (customerReferenceId !== undefined) {
    return { customerReferenceId };
  }
  return { subscriptionId: subscriptionId ?? '' };
}

/**
 * One-off Cleverbridge ProcessCart purchases (the seed's in-application use cases: update, free-to-paid, support
 * hours). Our purchase id is the call's idempotency key (`x-connector-attempt`) and reference
 * (`x-connector-reference`), so Cleverbridge's notifications find the row whatever answered first.
 */
@Injectable()
export class PurchasesService {
  private readonly logger = new Logger(PurchasesService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly gateways: GatewayRegistry,
    private readonly subscriptions: SubscriptionsService,
    private readonly clock: Clock,
  ) {}

  async create(dto: CreatePurchaseDto): Promise<PurchaseEntity> {
    const id = randomUUID();
    const items: PurchaseItemRecord[] = dto.items.map((item) => ({
      productId: item.productId,
      quantity: item.quantity,
      ...(item.dynamicPrice
        ? { dynamicPrice: { value: item.dynamicPrice.value, currency: item.dynamicPrice.currency } }
        : {}),
      ...(item.dynamicName !== undefined ? { dynamicName: item.dynamicName } : {}),
      ...(item.additionalName !== undefined ? { additionalName: item.additionalName } : {}),
      ...(item.extraParameters ? { extraParameters: item.extraParameters } : {}),
    }));
    const input: ProcessCartInput = {
      idempotencyKey: id,
      reference: id,
      customer: customerOf(dto),
      items: items.map((item) => ({
        productId: item.productId,
        quantity: item.quantity,
        ...(item.dynamicPrice
          ? { dynamicPrice: Money.of(item.dynamicPrice.value, item.dynamicPrice.currency) }
          : {}),
        ...(item.dynamicName !== undefined ? { dynamicName: item.dynamicName } : {}),
        ...(item.additionalName !== undefined ? { additionalName: item.additionalName } : {}),
        ...(item.extraParameters ? { extraParameters: item.extraParameters } : {}),
      })),
      mode: dto.mode ?? 'interactive',
      ...(dto.extraParameters ? { extraParameters: dto.extraParameters } : {}),
      ...(dto.extraParameterMode ? { extraParameterMode: dto.extraParameterMode } : {}),
      ...(dto.defaultCountryId ? { defaultCountryId: dto.defaultCountryId } : {}),
      ...(dto.defaultLanguageId ? { defaultLanguageId: dto.defaultLanguageId } : {}),
    };
    // the merchant-of-record gateway: the one that sells carts
    const gateway = this.gateways.offering('processCart');
    const problems = gateway.validatePurchase?.(input) ?? [];
    if (problems.length > 0) {
      throw new DomainError(
        'VALIDATION_FAILED',
        problems.map((e) => `${e.field}: ${e.messages.join(', ')}`).join('; '),
        problems,
      );
    }
    const processCart = requireOperation(gateway, 'processCart');
    const priced = items.every((i) => i.dynamicPrice);
    const currency = items[0]?.dynamicPrice?.currency ?? null;
    const repo = this.db.getRepository(PurchaseEntity);
    await repo.insert({
      id,
      gateway: gateway.id,
      customer: input.customer,
      items,
      mode: input.mode,
      xParameters: dto.extraParameters ?? {},
      status: 'processing',
      externalPurchaseId: null,
      externalSubscriptionId: null,
      totalMinor: priced
        ? items.reduce((sum, i) => sum + (i.dynamicPrice?.value ?? 0) * i.quantity, 0)
        : null,
      currency: priced ? currency : null,
      refundedMinor: 0,
      checkoutUrl: null,
      checkoutExpiresAt: null,
      decline: null,
      retryScheduled: false,
      adjustments: [],
      lastError: null,
    });
    // no idempotency key at Cleverbridge: a cart that may have arrived is never sent again; the notification
    // (or a lookup) tells what it did
    const outcome = await callGateway(() => processCart(input), {
      gateway: gateway.id,
      operation: 'processCart',
      idempotent: isIdempotent(gateway, 'processCart'),
      subject: id,
    });
    const purchase = await this.applyOutcome(id, outcome);
    if (outcome.kind === 'invalid') {
      throw new DomainError('VALIDATION_FAILED', `Cleverbridge refused the cart: ${outcome.error.message}`, [
        {
          field: 'cart',
          messages: [`${outcome.error.gatewayCode ?? 'InvalidRequest'}: ${outcome.error.message}`],
        },
      ]);
    }
    return purchase;
  }

  async get(id: string): Promise<PurchaseEntity> {
    const found = UUID.test(id) ? await this.db.getRepository(PurchaseEntity).findOneBy({ id }) : null;
    if (!found) {
      throw new DomainError('PURCHASE_NOT_FOUND', `purchase ${id} not found`);
    }
    return found;
  }

  /** The ProcessCart answer -> purchase state (a notification that came first wins: it is past processing). */
  private async applyOutcome(
    id: string,
    outcome: GatewayCallOutcome<PaymentResult>,
  ): Promise<PurchaseEntity> {
    return this.db.transaction(async (manager) => {
      const purchase = await this.lock(manager, id);
      if (!purchase) {
        throw new DomainError('PURCHASE_NOT_FOUND', `purchase ${id} not found`);
      }
      if (purchase.status !== 'processing') {
        return purchase;
      }
      switch (outcome.kind) {
        case 'unknown':
          this.logger.warn(`purchase ${id}: ProcessCart outcome unknown (${outcome.error})`);
          return this.change(manager, purchase, 'unknown', { lastError: outcome.error });
        case 'not_processed':
          return this.change(manager, purchase, 'rejected', { decline: outcome.decline });
        case 'invalid':
          return this.change(manager, purchase, 'invalid', {
            decline: makeDecline('GW_ERROR', {
              code: outcome.error.gatewayCode ?? String(outcome.error.httpStatus),
              reason: outcome.error.message,
            }),
            lastError: outcome.error.message,
          });
        case 'ok':
          return this.applyResult(manager, purchase, outcome.value);
      }
    });
  }

  private async applyResult(
    manager: EntityManager,
    purchase: PurchaseEntity,
    result: PaymentResult,
  ): Promise<PurchaseEntity> {
    const external = result.externalPaymentId ? { externalPurchaseId: result.externalPaymentId } : {};
    const checkout = result.action?.url
      ? { checkoutUrl: result.action.url, checkoutExpiresAt: result.actionExpiresAt ?? null }
      : {};
    const retryScheduled = result.retryScheduled === true;
    switch (result.status) {
      case 'captured':
      case 'authorised': {
        const subscriptionId = result.state?.subscriptionId;
        const created = typeof subscriptionId === 'string' ? subscriptionId : null;
        const saved = await this.change(manager, purchase, 'captured', {
          ...external,
          ...(created ? { externalSubscriptionId: created } : {}),
        });
        await this.linkSubscription(manager, saved, {
          theirs: created,
          ours: result.subscriptionReference,
        });
        return saved;
      }
      case 'pending':
        return this.change(manager, purchase, 'pending', external);
      case 'action_required':
        return this.change(manager, purchase, 'action_required', {
          ...external,
          ...checkout,
          decline: result.decline ?? null,
          retryScheduled,
        });
      case 'rejected':
        return this.change(manager, purchase, 'rejected', {
          ...external,
          ...checkout,
          decline: result.decline ?? makeDecline('PAY_DEC'),
          retryScheduled,
        });
    }
  }

  // ---- notifications (called by the connector-managed events handler) --------------------------------------

  /** Our purchase a Cleverbridge notification is about: by our reference, else by Cleverbridge's purchase id. */
  async findForEvent(
    manager: EntityManager,
    gateway: string,
    reference: string | undefined,
    purchaseId: string | undefined,
  ) {
    if (reference && UUID.test(reference)) {
      const byReference = await this.lock(manager, reference);
      if (byReference) {
        return byReference;
      }
    }
    if (!purchaseId) {
      return null;
    }
    const found = await manager.findOneBy(PurchaseEntity, {
      gateway,
      externalPurchaseId: purchaseId,
    });
    return found ? this.lock(manager, found.id) : null;
  }

  /**
   * PaidOrderNotification: the money arrived (after a checkout, an offline payment, Cleverbridge's own retry, or
   * simply as confirmation). Keeps the purchase and subscription ids and links a pending subscription.
   */
  async paid(
    manager: EntityManager,
    purchase: PurchaseEntity,
    event: GatewayEvent,
  ): Promise<'done' | 'ignored'> {
    const amount = event.amount;
    const facts: PurchaseChanges = {
      ...(event.externalPaymentId && !purchase.externalPurchaseId
        ? { externalPurchaseId: event.externalPaymentId }
        : {}),
      ...(event.externalSubscriptionId && !purchase.externalSubscriptionId
        ? { externalSubscriptionId: event.externalSubscriptionId }
        : {}),
      ...(amount ? { totalMinor: amount.value, currency: amount.currency } : {}),
    };
    if (CAPTURED.includes(purchase.status)) {
      if (
        event.externalPaymentId &&
        purchase.externalPurchaseId &&
        event.externalPaymentId !== purchase.externalPurchaseId
      ) {
        this.logger.error(
          `purchase ${purchase.id}: paid twice (Cleverbridge purchases ${purchase.externalPurchaseId} and ${event.externalPaymentId})`,
        );
      }
      const changed = Object.keys(facts).length > 0;
      const saved = changed ? await this.save(manager, purchase, facts) : purchase;
      const linked = await this.linkSubscription(manager, saved, {
        theirs: event.externalSubscriptionId ?? null,
        ours: event.subscriptionReference,
      });
      return changed || linked ? 'done' : 'ignored';
    }
    const saved = await this.change(manager, purchase, 'captured', {
      ...facts,
      checkoutUrl: null,
      checkoutExpiresAt: null,
      retryScheduled: false,
    });
    await this.linkSubscription(manager, saved, {
      theirs: event.externalSubscriptionId ?? null,
      ours: event.subscriptionReference,
    });
    return 'done';
  }

  /** Refund (full or partial) or chargeback made in Cleverbridge; each is applied once (by its id). */
  async afterSale(
    manager: EntityManager,
    purchase: PurchaseEntity,
    kind: 'refund' | 'chargeback',
    adjustmentId: string,
    amountMinor: number | undefined,
  ): Promise<'done' | 'ignored' | 'not_yet'> {
    const total = purchase.totalMinor ?? amountMinor ?? 0;
    const result = applyAfterSale(
      { ...purchase, chargedMinor: total },
      { kind, id: adjustmentId, amountMinor, at: this.clock.now() },
    );
    if (result.kind !== 'apply') {
      return result.kind;
    }
    await this.change(manager, purchase, result.to, {
      adjustments: [...purchase.adjustments, result.adjustment],
      ...(kind === 'refund'
        ? {
            refundedMinor: result.refundedMinor,
            ...(purchase.totalMinor === null ? { totalMinor: total } : {}),
          }
        : {}),
    });
    return 'done';
  }

  private async linkSubscription(
    manager: EntityManager,
    purchase: PurchaseEntity,
    /** ours: our subscription, named by the caller in the purchase's parameters and echoed by the gateway */
    ids: { theirs: string | null; ours: string | undefined },
  ): Promise<boolean> {
    const ours = ids.ours;
    const theirs = ids.theirs ?? purchase.externalSubscriptionId;
    if (!ours || !theirs) {
      return false;
    }
    return (await this.subscriptions.linkExternalId(manager, ours, theirs)) === 'linked';
  }

  private async lock(manager: EntityManager, id: string): Promise<PurchaseEntity | null> {
    return lockById(manager, PurchaseEntity, id);
  }

  private async change(
    manager: EntityManager,
    purchase: PurchaseEntity,
    to: PurchaseStatus,
    changes: PurchaseChanges,
  ): Promise<PurchaseEntity> {
    assertTransition('purchase', PURCHASE_TRANSITIONS, purchase.status, to);
    return this.save(manager, purchase, { ...changes, status: to });
  }

  private async save(
    manager: EntityManager,
    purchase: PurchaseEntity,
    changes: PurchaseChanges,
  ): Promise<PurchaseEntity> {
    await manager.update(PurchaseEntity, { id: purchase.id }, changes);
    return manager.findOneByOrFail(PurchaseEntity, { id: purchase.id });
  }
}
