import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { DomainError } from '../common/errors/domain-error';
import { Money } from '../common/money/money';
import { assertTransition } from '../common/state-machine';
import { decline as makeDecline } from '../gateways/decline-codes';
import { callGateway, GATEWAY_RETRY_DELAYS_MS, GatewayCallOutcome } from '../gateways/gateway-call';
import { CartCustomer, GatewayEvent, PaymentResult, ProcessCartInput } from '../gateways/gateway.provider';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { isIdempotent, requireOperation } from '../gateways/gateway-operations';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { ExternallyManagedReports } from '../subscriptions/externally-managed-reports';
import { CreatePurchaseDto } from './dto/create-purchase.dto';
import { applyAfterSale } from '../refunds/after-sale';
import { PURCHASE_TRANSITIONS, PurchaseEntity, PurchaseItemRecord, PurchaseStatus } from './purchase.entity';
import { lockById } from '../common/database/row-lock';
import { returnedRows } from '../common/database/query-result';
import { backoffDelay } from '../common/polling-worker';
import { ClientRequestKey } from '../common/idempotency/idempotency.interceptor';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { isUuid } from '../common/ids/uuid';

const CAPTURED: readonly PurchaseStatus[] = ['captured', 'partially_refunded', 'refunded', 'charged_back'];
/** the ProcessCart outcome is not known yet */
const OPEN: readonly PurchaseStatus[] = ['processing', 'unknown'];

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

function itemRecords(dto: CreatePurchaseDto): PurchaseItemRecord[] {
  return dto.items.map((item) => ({
    productId: item.productId,
    quantity: item.quantity,
    ...(item.dynamicPrice
      ? { dynamicPrice: { value: item.dynamicPrice.value, currency: item.dynamicPrice.currency } }
      : {}),
    ...(item.dynamicName !== undefined ? { dynamicName: item.dynamicName } : {}),
    ...(item.additionalName !== undefined ? { additionalName: item.additionalName } : {}),
    ...(item.extraParameters ? { extraParameters: item.extraParameters } : {}),
  }));
}

/** The cart as sent: the purchase id is its key (`x-connector-attempt`) and reference. */
function cartInput(dto: CreatePurchaseDto, id: string): ProcessCartInput {
  return {
    idempotencyKey: id,
    reference: id,
    customer: customerOf(dto),
    items: itemRecords(dto).map((item) => ({
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
}

function refusedCart(code: string, message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', `Cleverbridge refused the cart: ${message}`, [
    { field: 'cart', messages: [`${code}: ${message}`] },
  ]);
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
    private readonly reports: ExternallyManagedReports,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Buys the cart. The purchase is recorded under the caller's Idempotency-Key before ProcessCart is sent: a
   * retry with that key (after a crash left the key stale) resumes this purchase instead of buying again.
   */
  async create(dto: CreatePurchaseDto, request?: ClientRequestKey): Promise<PurchaseEntity> {
    const repo = this.db.getRepository(PurchaseEntity);
    if (request) {
      const earlier = await repo.findOneBy({ requestScope: request.scope, requestKey: request.key });
      if (earlier) {
        return this.resume(earlier, dto);
      }
    }
    const id = randomUUID();
    const input = cartInput(dto, id);
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
    requireOperation(gateway, 'processCart');
    const items = itemRecords(dto);
    const priced = items.every((i) => i.dynamicPrice);
    const currency = items[0]?.dynamicPrice?.currency ?? null;
    try {
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
        requestScope: request?.scope ?? null,
        requestKey: request?.key ?? null,
        // the call in flight is this request's: nobody looks it up before it could have answered
        nextCheckAt: this.later(this.inFlightGraceMs()),
        checkAttempts: 0,
      });
    } catch (error) {
      const raced = request
        ? await repo.findOneBy({ requestScope: request.scope, requestKey: request.key })
        : null;
      if (raced) {
        return this.resume(raced, dto);
      }
      throw error;
    }
    return this.send(id, input);
  }

  /**
   * A retry of a purchase already recorded under the caller's key: what it came to, or, while its outcome is
   * not known, what the gateway's lookup says. Only a lookup that finds nothing sends the cart again (the same
   * key); a lookup that cannot be made leaves it open for the reconciler. Never a second purchase.
   */
  private async resume(earlier: PurchaseEntity, dto: CreatePurchaseDto): Promise<PurchaseEntity> {
    if (earlier.status === 'invalid') {
      throw refusedCart(earlier.decline?.rawCode ?? 'InvalidRequest', earlier.lastError ?? 'refused');
    }
    if (!OPEN.includes(earlier.status)) {
      return earlier;
    }
    const claimed = await this.claimCheck(earlier.id);
    if (!claimed) {
      // its own call may still be in flight, or another instance is looking it up: answer what it is now
      return this.get(earlier.id);
    }
    const looked = await this.lookUp(claimed);
    if (looked.kind === 'not_found') {
      this.logger.warn(
        `purchase ${claimed.id}: Cleverbridge holds nothing from it; sending it again (same key)`,
      );
      return this.send(claimed.id, cartInput(dto, claimed.id));
    }
    if (looked.kind === 'failed') {
      await this.checkLater(claimed.id, claimed.checkAttempts);
    }
    return looked.purchase;
  }

  /** ProcessCart with the purchase's key, and its answer applied. */
  private async send(id: string, input: ProcessCartInput): Promise<PurchaseEntity> {
    const gateway = this.gateways.offering('processCart');
    const processCart = requireOperation(gateway, 'processCart');
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
      throw refusedCart(outcome.error.gatewayCode ?? 'InvalidRequest', outcome.error.message);
    }
    return purchase;
  }

  /**
   * What Cleverbridge did with a purchase whose ProcessCart outcome is not known (`processing` after a crash,
   * `unknown` after a lost answer). `found`: applied as if it had answered; `not_found`: it certainly holds
   * nothing from this purchase; `failed`: the lookup could not be made (still open).
   */
  async lookUp(
    purchase: PurchaseEntity,
  ): Promise<{ kind: 'resolved' | 'not_found' | 'failed'; purchase: PurchaseEntity }> {
    const gateway = this.gateways.get(purchase.gateway);
    const lookupCall = requireOperation(gateway, 'lookupCall');
    const looked = await callGateway(
      () =>
        lookupCall({
          idempotencyKey: purchase.id,
          sentAfter: purchase.createdAt,
          ...(purchase.externalPurchaseId ? { externalPaymentId: purchase.externalPurchaseId } : {}),
        }),
      { gateway: gateway.id, operation: 'lookupCall', subject: purchase.id },
    );
    if (looked.kind !== 'ok') {
      const error =
        looked.kind === 'not_processed'
          ? looked.decline.reason
          : looked.kind === 'invalid'
            ? looked.error.message
            : looked.error;
      this.logger.warn(
        `purchase ${purchase.id}: lookup at ${gateway.id} failed (${error}); looking again later`,
      );
      return { kind: 'failed', purchase: await this.get(purchase.id) };
    }
    if (looked.value.kind === 'not_found') {
      return { kind: 'not_found', purchase };
    }
    return {
      kind: 'resolved',
      purchase: await this.applyOutcome(purchase.id, { kind: 'ok', value: looked.value.result }),
    };
  }

  /**
   * Nothing was bought (the lookup found nothing) and nobody is asking any more: rejected as not processed, so it
   * does not stay open for ever. A later PaidOrderNotification would still capture it.
   */
  async abandon(id: string): Promise<PurchaseEntity> {
    return this.db.transaction(async (manager) => {
      const purchase = await this.lock(manager, id);
      if (!purchase) {
        throw new DomainError('PURCHASE_NOT_FOUND', `purchase ${id} not found`);
      }
      if (!OPEN.includes(purchase.status)) {
        return purchase;
      }
      this.logger.warn(`purchase ${id} (${purchase.status}): Cleverbridge holds nothing from it; rejected`);
      return this.change(manager, purchase, 'rejected', {
        decline: makeDecline('GW_TIMEOUT', {
          reason: 'the cart never reached Cleverbridge; nothing was bought',
        }),
      });
    });
  }

  /**
   * Reserves an open purchase for one lookup (its next check moves past the lookup), unless its own call may be
   * in flight or another instance holds it. Returns it as it stands, or null.
   */
  async claimCheck(id: string): Promise<PurchaseEntity | null> {
    const now = this.clock.now();
    const claimed = returnedRows<{ id: string }>(
      await this.db.query(
        `UPDATE purchases SET next_check_at = $2, check_attempts = check_attempts + 1
         WHERE id = $1 AND status IN ('processing', 'unknown') AND next_check_at <= $3
         RETURNING id`,
        [id, this.later(this.inFlightGraceMs()), now],
      ),
    );
    return claimed.length === 1 ? this.get(id) : null;
  }

  /** Still open after a check: look again after a backoff. */
  async checkLater(id: string, attempts: number): Promise<void> {
    const { intervalMs, backoffMaxMs } = this.config.reconciler;
    await this.db.query(
      `UPDATE purchases SET next_check_at = $2 WHERE id = $1 AND status IN ('processing', 'unknown')`,
      [id, this.later(backoffDelay(attempts, intervalMs, backoffMaxMs))],
    );
  }

  /**
   * Longer than a ProcessCart can take (one try past the connection, plus the tries refused before it, with
   * their backoff), doubled: a purchase younger than this may still have its call in flight.
   */
  private inFlightGraceMs(): number {
    const backoff = GATEWAY_RETRY_DELAYS_MS.reduce((sum, ms) => sum + ms, 0);
    return Math.max(this.config.reconciler.unknownAfterMs, 2 * (this.config.gatewayTimeoutMs + backoff));
  }

  private later(ms: number): Date {
    return new Date(this.clock.now().getTime() + ms);
  }

  async get(id: string): Promise<PurchaseEntity> {
    const found = isUuid(id) ? await this.db.getRepository(PurchaseEntity).findOneBy({ id }) : null;
    if (!found) {
      throw new DomainError('PURCHASE_NOT_FOUND', `purchase ${id} not found`);
    }
    return found;
  }

  /**
   * The ProcessCart answer (or what a lookup found) -> purchase state; only while the outcome is open (a
   * notification that came first wins).
   */
  private async applyOutcome(
    id: string,
    outcome: GatewayCallOutcome<PaymentResult>,
  ): Promise<PurchaseEntity> {
    return this.db.transaction(async (manager) => {
      const purchase = await this.lock(manager, id);
      if (!purchase) {
        throw new DomainError('PURCHASE_NOT_FOUND', `purchase ${id} not found`);
      }
      if (!OPEN.includes(purchase.status)) {
        return purchase;
      }
      switch (outcome.kind) {
        case 'unknown': {
          this.logger.warn(`purchase ${id}: ProcessCart outcome unknown (${outcome.error})`);
          // the notification normally settles it; past RECONCILE_UNKNOWN_AFTER_MS the reconciler looks it up
          const schedule = {
            nextCheckAt: this.later(this.config.reconciler.unknownAfterMs),
            checkAttempts: 0,
          };
          return purchase.status === 'unknown'
            ? this.save(manager, purchase, { lastError: outcome.error, ...schedule })
            : this.change(manager, purchase, 'unknown', { lastError: outcome.error, ...schedule });
        }
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
    if (reference && isUuid(reference)) {
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
    const saved = await this.change(manager, purchase, result.to, {
      adjustments: [...purchase.adjustments, result.adjustment],
      ...(kind === 'refund'
        ? {
            refundedMinor: result.refundedMinor,
            ...(purchase.totalMinor === null ? { totalMinor: total } : {}),
          }
        : {}),
    });
    await this.reportAfterSale(manager, saved, kind, adjustmentId, result.adjustment.amountMinor);
    return 'done';
  }

  /** A purchase that started one of our subscriptions was reported to Cleeng: so is its refund / chargeback. */
  private async reportAfterSale(
    manager: EntityManager,
    purchase: PurchaseEntity,
    kind: 'refund' | 'chargeback',
    adjustmentId: string,
    amountMinor: number,
  ): Promise<void> {
    const { externalSubscriptionId, externalPurchaseId, currency } = purchase;
    if (!externalSubscriptionId || !externalPurchaseId || !currency) {
      return;
    }
    const found = await this.subscriptions.findByExternalId(
      manager,
      purchase.gateway,
      externalSubscriptionId,
    );
    const sub = found ? await this.subscriptions.lock(manager, found.id) : null;
    if (!sub) {
      return;
    }
    await this.reports.reportAfterSale(manager, sub, {
      externalPaymentId: externalPurchaseId,
      kind,
      adjustmentId,
      amount: Money.of(amountMinor, currency),
    });
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
    if ((await this.subscriptions.linkExternalId(manager, ours, theirs)) !== 'linked') {
      return false;
    }
    // the purchase that started the subscription: its initial payment (Cleeng creates its subscription)
    const sub = await this.subscriptions.lock(manager, ours);
    if (sub && purchase.externalPurchaseId) {
      await this.reports.reportCharge(manager, sub, {
        status: 'captured',
        amount:
          purchase.totalMinor !== null && purchase.currency
            ? Money.of(purchase.totalMinor, purchase.currency)
            : Money.of(sub.amountMinor, sub.currency),
        externalPaymentId: purchase.externalPurchaseId,
        attemptId: `purchase:${purchase.id}`,
        tryNumber: 1,
      });
    }
    return true;
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
