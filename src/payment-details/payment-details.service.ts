import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, Not } from 'typeorm';
import { Principal, restrictedCustomer } from '../auth/principal';
import { TokenCipher } from '../common/crypto/token-cipher';
import { DomainError } from '../common/errors/domain-error';
import { assertTransition } from '../common/state-machine';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { CardMetadata, PaymentMethodData } from '../gateways/gateway.provider';
import { requireOperation } from '../gateways/gateway-operations';
import { GatewayRegistry } from '../gateways/gateway.registry';
import type { GatewayId } from '../gateways/gateway-ids';
import {
  CLEENG_DETAILS_CREATE,
  paymentDetailsCreateReport,
  paymentDetailsDeleteReport,
  remotePaymentDetailsDeleteReport,
} from '../cleeng/cleeng-reports';
import { OutboxService } from '../outbox/outbox.service';
import { callGateway } from '../gateways/gateway-call';
import { shopperReference } from './shopper-reference';
import { ClientRequestKey } from '../common/idempotency/idempotency.interceptor';
import { PaymentDetailsAttemptEntity } from './payment-details-attempt.entity';
import {
  PAYMENT_DETAILS_TRANSITIONS,
  PaymentDetailsEntity,
  PaymentDetailsStatus,
} from './payment-details.entity';

export interface NewPaymentDetails {
  customerId: string;
  gateway: GatewayId;
  shopperReference: string;
  token: string;
  card: CardMetadata;
  cleengPaymentDetailsId?: string;
}

/** Recurring tokens: sealed at rest, revealed only to make a gateway call or a Cleeng report. */
@Injectable()
export class PaymentDetailsService implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cipher: TokenCipher,
    private readonly gateways: GatewayRegistry,
    private readonly outbox: OutboxService,
  ) {}

  onModuleInit(): void {
    this.outbox.registerResultHandler(CLEENG_DETAILS_CREATE, async (manager, message, result) => {
      const id = (result as { data?: { id?: unknown } } | undefined)?.data?.id;
      if (typeof id === 'number' || typeof id === 'string') {
        await this.linkCleengId(manager, message.aggregateId, String(id));
      }
    });
    this.outbox.registerPathParam('cleengPaymentDetailsId', async (detailsId) => {
      const details = await this.db.getRepository(PaymentDetailsEntity).findOneBy({ id: detailsId });
      return details?.cleengPaymentDetailsId ?? null;
    });
  }

  async create(manager: EntityManager, input: NewPaymentDetails): Promise<PaymentDetailsEntity> {
    return manager.save(
      manager.create(PaymentDetailsEntity, {
        customerId: input.customerId,
        gateway: input.gateway,
        shopperReference: input.shopperReference,
        tokenSealed: this.cipher.encrypt(input.token),
        card: input.card,
        cleengPaymentDetailsId: input.cleengPaymentDetailsId ?? null,
        status: 'active',
      }),
    );
  }

  /**
   * A new active details row as parameters for an INSERT written elsewhere (e.g. in the statement that moves the
   * payment the token came with): its id chosen here, the token sealed.
   */
  sealedRow(input: NewPaymentDetails): {
    id: string;
    customerId: string;
    gateway: GatewayId;
    shopperReference: string;
    tokenSealed: string;
    card: CardMetadata;
  } {
    return {
      id: randomUUID(),
      customerId: input.customerId,
      gateway: input.gateway,
      shopperReference: input.shopperReference,
      tokenSealed: this.cipher.encrypt(input.token),
      card: input.card,
    };
  }

  async linkCleengId(manager: EntityManager, id: string, cleengPaymentDetailsId: string): Promise<void> {
    await manager.update(PaymentDetailsEntity, { id }, { cleengPaymentDetailsId });
  }

  revealToken(details: PaymentDetailsEntity): string {
    return this.cipher.decrypt(details.tokenSealed);
  }

  /**
   * "Update payment details" (new details connector): tokenise the new card without charging
   * (zero-value auth or the gateway's tokenisation) and create the Cleeng payment details. Cleeng
   * then deactivates the old details and tells their connector (paymentDetailsDeactivated).
   */
  async register(
    principal: Principal,
    input: {
      customerId: string;
      gateway: GatewayId;
      paymentMethod: PaymentMethodData;
      returnUrl?: string;
      currency?: string;
    },
    request?: ClientRequestKey,
  ): Promise<PaymentDetailsEntity> {
    const customer = restrictedCustomer(principal);
    if (customer !== undefined && customer !== input.customerId) {
      throw new DomainError('FORBIDDEN', 'a customer can only add payment details for itself');
    }
    const gateway = this.gateways.get(input.gateway);
    const paymentMethodId = this.config.cleeng.paymentMethods.get(input.gateway);
    if (paymentMethodId === undefined) {
      throw new DomainError(
        'GATEWAY_NOT_AVAILABLE',
        `no Cleeng paymentMethodId configured for gateway ${input.gateway}`,
      );
    }
    const resumed = request ? await this.recordAttempt(request, input) : undefined;
    if (resumed?.paymentDetailsId) {
      // the first request stored them and died before answering
      return this.db.getRepository(PaymentDetailsEntity).findOneByOrFail({ id: resumed.paymentDetailsId });
    }
    // a retry of a recorded attempt repeats its gateway idempotency key: the gateway answers with the first
    // tokenisation instead of making a second
    const attempt = resumed?.id ?? randomUUID();
    const reference = shopperReference(input.customerId);
    const outcome = await callGateway(
      () =>
        requireOperation(
          gateway,
          'tokenise',
        )({
          idempotencyKey: `details:${attempt}:tokenise`,
          reference: `details-${attempt}`,
          currency: input.currency ?? 'USD',
          customer: { reference },
          source: { kind: 'customer', paymentMethod: input.paymentMethod },
          returnUrl: input.returnUrl ?? `${this.config.publicUrl}/health`,
        }),
      { gateway: gateway.id, operation: 'tokenise' },
    );
    if (outcome.kind === 'invalid') {
      throw new DomainError(
        'GATEWAY_REQUEST_INVALID',
        `the gateway refused the card: ${outcome.error.message}`,
      );
    }
    if (outcome.kind !== 'ok') {
      throw new DomainError(
        'UPSTREAM_UNAVAILABLE',
        'the gateway did not confirm the card; nothing was stored, try again',
      );
    }
    const result = outcome.value;
    if (result.status === 'rejected') {
      throw new DomainError(
        'PAYMENT_DETAILS_DECLINED',
        `card declined: ${result.decline?.reason ?? 'declined'}`,
        {
          ...(result.decline ? { decline: result.decline } : {}),
        },
      );
    }
    if (result.status !== 'authorised' || !result.recurringToken) {
      throw new DomainError(
        'GATEWAY_OPERATION_UNSUPPORTED',
        `card verification needs a shopper step (${result.status}); use a card without 3DS challenge for updates`,
      );
    }
    const token = result.recurringToken;
    const saved = await this.db.transaction(async (manager) => {
      const recorded = resumed
        ? await manager.findOne(PaymentDetailsAttemptEntity, {
            where: { id: resumed.id },
            lock: { mode: 'pessimistic_write' },
          })
        : null;
      if (recorded?.paymentDetailsId) {
        return manager.findOneByOrFail(PaymentDetailsEntity, { id: recorded.paymentDetailsId });
      }
      const details = await this.create(manager, {
        customerId: input.customerId,
        gateway: input.gateway,
        shopperReference: reference,
        token,
        card: result.card ?? {},
      });
      await this.outbox.enqueue(
        manager,
        paymentDetailsCreateReport({
          detailsId: details.id,
          customerId: input.customerId,
          paymentMethodId,
          card: { ...result.card },
          token,
        }),
      );
      if (recorded) {
        await manager.update(
          PaymentDetailsAttemptEntity,
          { id: recorded.id },
          { paymentDetailsId: details.id },
        );
      }
      return details;
    });
    this.outbox.notify();
    return saved;
  }

  /**
   * The tokenisation attempt of this caller-scoped Idempotency-Key: recorded before the gateway call, or the one
   * an earlier request (that died) recorded.
   */
  private async recordAttempt(
    request: ClientRequestKey,
    input: { customerId: string; gateway: GatewayId },
  ): Promise<PaymentDetailsAttemptEntity> {
    const repo = this.db.getRepository(PaymentDetailsAttemptEntity);
    await repo
      .createQueryBuilder()
      .insert()
      .values({
        id: randomUUID(),
        requestScope: request.scope,
        requestKey: request.key,
        customerId: input.customerId,
        gateway: input.gateway,
        paymentDetailsId: null,
      })
      .orIgnore()
      .execute();
    return repo.findOneByOrFail({ requestScope: request.scope, requestKey: request.key });
  }

  async list(principal: Principal, customerId: string): Promise<PaymentDetailsEntity[]> {
    const customer = restrictedCustomer(principal);
    if (customer !== undefined && customer !== customerId) {
      return [];
    }
    return this.db.getRepository(PaymentDetailsEntity).find({
      where: { customerId, status: Not('deleted') },
      order: { createdAt: 'DESC' },
    });
  }

  /** Active details of this customer at this gateway, e.g. to rebill a subscription with their token. */
  async findActive(id: string, customerId: string, gateway: string): Promise<PaymentDetailsEntity | null> {
    return this.db
      .getRepository(PaymentDetailsEntity)
      .findOneBy({ id, customerId, gateway: gateway, status: 'active' });
  }

  /**
   * The token in the clear with the shopper it belongs to, only to make a gateway call now; undefined when
   * the details are no longer active.
   */
  async activeToken(id: string): Promise<{ token: string; shopperReference: string } | undefined> {
    const details = await this.db.getRepository(PaymentDetailsEntity).findOneBy({ id, status: 'active' });
    return details
      ? { token: this.cipher.decrypt(details.tokenSealed), shopperReference: details.shopperReference }
      : undefined;
  }

  async findForPrincipal(principal: Principal, id: string): Promise<PaymentDetailsEntity> {
    const customer = restrictedCustomer(principal);
    const details = await this.db
      .getRepository(PaymentDetailsEntity)
      .findOneBy(customer === undefined ? { id } : { id, customerId: customer });
    if (!details || details.status === 'deleted') {
      throw new DomainError('PAYMENT_DETAILS_NOT_FOUND', `payment details ${id} not found`);
    }
    return details;
  }

  /** Deletes ours and Cleeng's copy (DELETE /3.1/payment_details/{id}). */
  async delete(principal: Principal, id: string): Promise<void> {
    const details = await this.findForPrincipal(principal, id);
    await this.db.transaction(async (manager) => {
      await this.move(manager, details.id, 'deleted');
      await this.enqueueCleengDelete(manager, details.id);
    });
    this.outbox.notify();
  }

  /** The old details connector's side of a deactivation: forget the token, delete it in Cleeng. */
  async deactivateByCleengId(cleengPaymentDetailsId: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      const details = await manager.findOneBy(PaymentDetailsEntity, { cleengPaymentDetailsId });
      if (details && details.status !== 'deleted') {
        await this.move(manager, details.id, 'deleted');
      }
      await this.outbox.enqueue(
        manager,
        remotePaymentDetailsDeleteReport(cleengPaymentDetailsId, details?.id),
      );
    });
    this.outbox.notify();
  }

  private async enqueueCleengDelete(manager: EntityManager, detailsId: string): Promise<void> {
    await this.outbox.enqueue(manager, paymentDetailsDeleteReport(detailsId));
  }

  private async move(manager: EntityManager, id: string, to: PaymentDetailsStatus): Promise<void> {
    const current = await manager.findOneOrFail(PaymentDetailsEntity, {
      where: { id },
      lock: { mode: 'pessimistic_write' },
    });
    assertTransition('payment details', PAYMENT_DETAILS_TRANSITIONS, current.status, to);
    await manager.update(PaymentDetailsEntity, { id }, { status: to });
  }
}
