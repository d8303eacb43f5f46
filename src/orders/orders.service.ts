import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { callerScopedKey, Principal, restrictedCustomer } from '../auth/principal';
import { CleengClient } from '../cleeng/cleeng.client';
import { isUniqueViolation } from '../common/database/column-transformers';
import { DomainError, NotFoundError } from '../common/errors/domain-error';
import { InvalidMoneyError, Money } from '../common/money/money';
import { assertTransition } from '../common/state-machine';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { GatewayRegistry } from '../gateways/gateway.registry';
import { GatewayId } from '../gateways/gateway-ids';
import { CreateOrderDto } from './dto/create-order.dto';
import { ORDER_TRANSITIONS, OrderEntity, OrderStatus, PaymentOperation } from './order.entity';
import { CleengOrder } from '../cleeng/cleeng.types';
import { returnedRows } from '../common/database/query-result';
import { rowToEntity } from '../common/database/row-lock';
import { isUuid } from '../common/ids/uuid';

/** How a mirrored Cleeng order is tied to our side. */
interface OrderLink {
  gateway: GatewayId;
  paymentMethodId: number;
  paymentOperation: PaymentOperation;
  cleengSubscriptionId?: string;
  sourceEventId?: string;
}

@Injectable()
export class OrdersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cleeng: CleengClient,
    private readonly gateways: GatewayRegistry,
  ) {}

  /** Creates the Cleeng order (POST /3.1/orders) and mirrors it: the amount to charge comes from Cleeng. */
  async create(principal: Principal, dto: CreateOrderDto, idempotencyKey?: string): Promise<OrderEntity> {
    const customer = restrictedCustomer(principal);
    if (customer !== undefined && customer !== dto.customerId) {
      throw new DomainError('FORBIDDEN', 'a customer can only create orders for itself');
    }
    const { gateway, paymentMethodId } = this.resolveGateway(dto);
    this.gateways.get(gateway); // refuses gateways not enabled here before Cleeng hears of the order

    const order = await this.cleeng.createOrder(
      {
        customerId: Number(dto.customerId),
        offerId: dto.offerId,
        currency: dto.currency,
        country: dto.country,
        paymentMethodId,
        ...(dto.couponCode ? { couponCode: dto.couponCode } : {}),
      },
      // Cleeng's replay cache is shared by every caller: scope the key so callers never collide
      idempotencyKey ? `order:${callerScopedKey(principal, idempotencyKey)}` : undefined,
    );
    return this.mirror(order, { gateway, paymentMethodId, paymentOperation: 'initial-payment' });
  }

  /**
   * Keeps a local copy of a Cleeng order: what must be charged, in minor units. A replayed create
   * (same Cleeng id) returns the copy we have — for renewals, the one made for the same inbox event.
   */
  async mirror(order: CleengOrder, link: OrderLink): Promise<OrderEntity> {
    return (await this.mirrorNoting(order, link)).order;
  }

  /** `mirror`, and whether this call inserted the row (then nothing can refer to it yet, e.g. no payment). */
  async mirrorNoting(
    order: CleengOrder,
    link: OrderLink,
  ): Promise<{ order: OrderEntity; inserted: boolean }> {
    let amount: Money;
    try {
      amount = Money.fromMajor(order.totalPrice, order.currency);
    } catch (err) {
      if (err instanceof InvalidMoneyError) {
        throw new DomainError(
          'UPSTREAM_REJECTED',
          `Cleeng order ${order.id} has an unusable price: ${err.message}`,
        );
      }
      throw err;
    }
    const entity = {
      cleengOrderId: String(order.id),
      customerId: String(order.customerId),
      offerId: order.offerId,
      gateway: link.gateway,
      paymentMethodId: link.paymentMethodId,
      amountMinor: amount.minor,
      currency: amount.currency,
      country: order.country,
      paymentOperation: link.paymentOperation,
      cleengSubscriptionId: link.cleengSubscriptionId ?? null,
      sourceEventId: link.sourceEventId ?? null,
      status: 'open' as const,
      expiresAt: order.expirationDate ? new Date(order.expirationDate) : null,
    };
    try {
      // one plain statement (no transaction around it, no reload): the row as inserted comes back
      const rows = returnedRows<Record<string, unknown>>(
        await this.db.query(
          `INSERT INTO orders (cleeng_order_id, customer_id, offer_id, gateway, payment_method_id, amount_minor,
             currency, country, payment_operation, cleeng_subscription_id, source_event_id, status, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *`,
          [
            entity.cleengOrderId,
            entity.customerId,
            entity.offerId,
            entity.gateway,
            entity.paymentMethodId,
            entity.amountMinor,
            entity.currency,
            entity.country,
            entity.paymentOperation,
            entity.cleengSubscriptionId,
            entity.sourceEventId,
            entity.status,
            entity.expiresAt,
          ],
        ),
      );
      return { order: this.toEntity(rows[0]), inserted: true };
    } catch (err) {
      if (!isUniqueViolation(err)) {
        throw err;
      }
      const repo = this.db.getRepository(OrderEntity);
      const existing = link.sourceEventId
        ? await repo.findOneBy({ sourceEventId: link.sourceEventId })
        : await repo.findOneBy({ cleengOrderId: String(order.id) });
      if (!existing || existing.customerId !== entity.customerId || existing.offerId !== entity.offerId) {
        throw new DomainError(
          'UPSTREAM_UNAVAILABLE',
          `Cleeng reissued order id ${order.id} for another purchase`,
        );
      }
      return { order: existing, inserted: false };
    }
  }

  /** The order made for this inbox event (a renewal webhook), if any. */
  async findBySourceEvent(eventId: string): Promise<OrderEntity | null> {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT * FROM orders WHERE source_event_id = $1`,
      [eventId],
    );
    return rows[0] ? this.toEntity(rows[0]) : null;
  }

  private toEntity(row: Record<string, unknown> | undefined): OrderEntity {
    if (!row) {
      throw new Error('no order row returned');
    }
    return rowToEntity<OrderEntity>(this.db.getMetadata(OrderEntity), row);
  }

  /** The order if this principal may see it; 404 otherwise (never reveal other customers' orders). */
  async findForPrincipal(principal: Principal, id: string): Promise<OrderEntity> {
    const customer = restrictedCustomer(principal);
    const rows: Record<string, unknown>[] = isUuid(id)
      ? await this.db.query(`SELECT * FROM orders WHERE id = $1 AND ($2::text IS NULL OR customer_id = $2)`, [
          id,
          customer ?? null,
        ])
      : [];
    if (!rows[0]) {
      throw new NotFoundError('ORDER_NOT_FOUND', id);
    }
    return this.toEntity(rows[0]);
  }

  /** The order, in the caller's transaction. */
  get(manager: EntityManager, orderId: string): Promise<OrderEntity> {
    return manager.findOneByOrFail(OrderEntity, { id: orderId });
  }

  async markPaid(manager: EntityManager, orderId: string): Promise<void> {
    await this.move(manager, await this.lock(manager, orderId), 'paid');
  }

  /** A capture that failed after it was reported (e.g. Adyen CAPTURE_FAILED): the order can be paid again. */
  async reopenIfPaid(manager: EntityManager, orderId: string): Promise<void> {
    const order = await this.lock(manager, orderId);
    if (order.status === 'paid') {
      await this.move(manager, order, 'open');
    }
  }

  private lock(manager: EntityManager, orderId: string): Promise<OrderEntity> {
    return manager.findOneOrFail(OrderEntity, {
      where: { id: orderId },
      lock: { mode: 'pessimistic_write' },
    });
  }

  /** Through ORDER_TRANSITIONS; the caller holds the row lock. */
  private async move(manager: EntityManager, order: OrderEntity, to: OrderStatus): Promise<void> {
    assertTransition('order', ORDER_TRANSITIONS, order.status, to);
    await manager.update(OrderEntity, { id: order.id }, { status: to });
  }

  private resolveGateway(dto: CreateOrderDto): { gateway: GatewayId; paymentMethodId: number } {
    const methods = this.config.cleeng.paymentMethods;
    if (dto.gateway !== undefined) {
      const configured = methods.get(dto.gateway);
      if (configured === undefined) {
        throw new DomainError(
          'GATEWAY_NOT_AVAILABLE',
          `no Cleeng paymentMethodId configured for gateway ${dto.gateway}`,
        );
      }
      if (dto.paymentMethodId !== undefined && dto.paymentMethodId !== configured) {
        throw new DomainError(
          'GATEWAY_MISMATCH',
          `paymentMethodId ${dto.paymentMethodId} is not gateway ${dto.gateway}`,
          [
            {
              field: 'paymentMethodId',
              messages: [`gateway ${dto.gateway} uses paymentMethodId ${configured}`],
            },
          ],
        );
      }
      return { gateway: dto.gateway, paymentMethodId: configured };
    }
    for (const [gateway, id] of methods) {
      if (id === dto.paymentMethodId) {
        return { gateway, paymentMethodId: id };
      }
    }
    throw new DomainError('VALIDATION_FAILED', `paymentMethodId ${dto.paymentMethodId} is not configured`, [
      { field: 'paymentMethodId', messages: ['is not one of CLEENG_PAYMENT_METHODS'] },
    ]);
  }
}
