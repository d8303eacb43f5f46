import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  CLEENG_EMS_PAYMENT_CREATE,
  CLEENG_SUBSCRIPTION_LINK,
  EMS_PAYMENT_PARAM,
  EMS_SUBSCRIPTION_PARAM,
  emsAfterSaleReport,
  emsPaymentReport,
  emsSubscriptionLinkReport,
} from '../cleeng/cleeng-reports';
import { CleengUnavailableError } from '../cleeng/cleeng.client';
import { Money } from '../common/money/money';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { Decline } from '../gateways/decline-codes';
import { OutboxMessageInput, OutboxService } from '../outbox/outbox.service';
import { ConnectorSubscriptionEntity } from './subscription.entity';

/** A charge made outside Cleeng (connector- or gateway-managed schedule, merchant of record). */
export interface ExternallyManagedCharge {
  status: 'captured' | 'rejected';
  amount: Money;
  /** the gateway's payment id (Cleeng `externalPaymentId`) */
  externalPaymentId: string;
  /** what made the charge, once per outcome: a rebill attempt and its try, or e.g. `purchase:<id>` and 1 */
  attemptId: string;
  tryNumber: number;
  decline?: Decline;
}

/** A refund or chargeback made at the gateway of a charge reported earlier. */
export interface ExternallyManagedAfterSale {
  externalPaymentId: string;
  kind: 'refund' | 'chargeback';
  /** the gateway's id of the refund or chargeback */
  adjustmentId: string;
  amount: Money;
  reason?: string | null;
}

interface ListedSubscription {
  subscriptionId?: number | string;
  offerId?: string;
  latestPaymentExternalId?: string | null;
  isExternallyManaged?: boolean;
}

/**
 * Our subscriptions are externally managed subscriptions in Cleeng's eyes: whoever runs the schedule (the
 * connector's rebilling, a gateway's own billing cycles) charges outside Cleeng, and every outcome is reported
 * with the externally managed variant of `POST /3.1/payments`. Seed 000: a payment with its externalPaymentId
 * "will guarantee payment and subscription creation at Cleeng", so:
 * - without a Cleeng subscription, the first captured charge is reported without `subscriptionId` (Cleeng
 *   creates the subscription), then `GET /3.1/subscriptions` finds it by that payment's externalPaymentId and
 *   links it (`cleengSubscriptionId`); reports written meanwhile name it when sent;
 * - every later charge names the subscription; a decline before any capture creates nothing;
 * - refunds and chargebacks made at the gateway are `PATCH /3.1/payments/{id}` refunded on that payment.
 * Nothing here names a gateway: callers are the rebilling outcome writer, the purchase that starts a
 * subscription, and the after-sale notification handlers. The caller holds the subscription's row lock.
 */
@Injectable()
export class ExternallyManagedReports implements OnModuleInit {
  private readonly logger = new Logger(ExternallyManagedReports.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outbox: OutboxService,
  ) {}

  onModuleInit(): void {
    this.outbox.registerPathParam(EMS_SUBSCRIPTION_PARAM, async (subscriptionId) => {
      const sub = await this.db.getRepository(ConnectorSubscriptionEntity).findOneBy({ id: subscriptionId });
      return sub?.cleengSubscriptionId ?? null;
    });
    // the Cleeng payment id of a reported charge: from Cleeng's answer to its report (kept with the message)
    this.outbox.registerPathParam(EMS_PAYMENT_PARAM, async (subscriptionId, externalPaymentId) => {
      if (!externalPaymentId) {
        return null;
      }
      const rows: { id: string | null }[] = await this.db.query(
        `SELECT result->'payment'->>'id' AS id FROM outbox_messages
          WHERE kind = $1 AND aggregate_id = $2 AND status = 'delivered'
            AND payload->'body'->>'externalPaymentId' = $3 AND payload->'body'->>'status' = 'captured'
          ORDER BY id DESC LIMIT 1`,
        [CLEENG_EMS_PAYMENT_CREATE, subscriptionId, externalPaymentId],
      );
      return rows[0]?.id ?? null;
    });
    this.outbox.registerResultHandler(CLEENG_SUBSCRIPTION_LINK, async (manager, message, result) => {
      await this.link(manager, message.aggregateId, message.payload.ref, result);
    });
  }

  /** Reports one charge outcome (once: the outbox dedupes on attempt, try and status). */
  async reportCharge(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    charge: ExternallyManagedCharge,
  ): Promise<void> {
    const report = this.chargeReport(sub, charge);
    if (!report) {
      return;
    }
    await this.outbox.enqueue(manager, report.message);
    if (!report.creates || !sub.offerId) {
      return;
    }
    await manager.update(
      ConnectorSubscriptionEntity,
      { id: sub.id },
      { cleengLinkPaymentId: charge.externalPaymentId },
    );
    sub.cleengLinkPaymentId = charge.externalPaymentId;
    await this.outbox.enqueue(
      manager,
      emsSubscriptionLinkReport({
        subscriptionId: sub.id,
        customerId: sub.customerId,
        offerId: sub.offerId,
        externalPaymentId: charge.externalPaymentId,
      }),
    );
  }

  /** Reports a refund or chargeback of a charge this subscription reported as captured (else nothing). */
  async reportAfterSale(
    manager: EntityManager,
    sub: ConnectorSubscriptionEntity,
    afterSale: ExternallyManagedAfterSale,
  ): Promise<void> {
    if (this.reportable(sub) === undefined) {
      return;
    }
    const reported: unknown[] = await manager.query(
      `SELECT 1 FROM outbox_messages
        WHERE kind = $1 AND aggregate_id = $2
          AND payload->'body'->>'externalPaymentId' = $3 AND payload->'body'->>'status' = 'captured'
        LIMIT 1`,
      [CLEENG_EMS_PAYMENT_CREATE, sub.id, afterSale.externalPaymentId],
    );
    if (reported.length === 0) {
      this.logger.warn(
        `subscription ${sub.id}: ${afterSale.kind} of ${afterSale.externalPaymentId} not reported to Cleeng ` +
          '(the payment itself was never reported)',
      );
      return;
    }
    await this.outbox.enqueue(
      manager,
      emsAfterSaleReport({
        subscriptionId: sub.id,
        externalPaymentId: afterSale.externalPaymentId,
        paymentOperation:
          !sub.cleengLinkPaymentId || sub.cleengLinkPaymentId !== afterSale.externalPaymentId
            ? 'recurring-payment'
            : 'initial-payment',
        kind: afterSale.kind,
        adjustmentId: afterSale.adjustmentId,
        amount: afterSale.amount,
        reason: afterSale.reason ?? null,
      }),
    );
  }

  /**
   * The Cleeng report of a charge, if the subscription's charges are reported; `creates`: this captured charge
   * creates the Cleeng subscription, which `reportCharge` also links (a second message and a column).
   */
  chargeReport(
    sub: ConnectorSubscriptionEntity,
    charge: ExternallyManagedCharge,
  ): { message: OutboxMessageInput; creates: boolean } | undefined {
    const paymentMethodId = this.reportable(sub);
    if (paymentMethodId === undefined || !sub.offerId) {
      return undefined;
    }
    return {
      message: emsPaymentReport({
        subscriptionId: sub.id,
        customerId: sub.customerId,
        offerId: sub.offerId,
        cleengSubscriptionId: sub.cleengSubscriptionId,
        cleengSubscriptionAtSend: !sub.cleengSubscriptionId && sub.cleengLinkPaymentId !== null,
        paymentMethodId,
        amount: charge.amount,
        attemptId: charge.attemptId,
        tryNumber: charge.tryNumber,
        status: charge.status,
        externalPaymentId: charge.externalPaymentId,
        ...(charge.decline ? { decline: charge.decline } : {}),
      }),
      creates: !sub.cleengSubscriptionId && !sub.cleengLinkPaymentId && charge.status === 'captured',
    };
  }

  /** Cleeng's payment method for the gateway, when the subscription's charges are reported at all. */
  private reportable(sub: ConnectorSubscriptionEntity): number | undefined {
    if (!sub.offerId || !/^\d{1,18}$/.test(sub.customerId)) {
      return undefined;
    }
    return this.config.cleeng.paymentMethods.get(sub.gateway);
  }

  /**
   * The answer to the link lookup: the customer's externally managed subscription to the offer whose latest
   * payment is the one that created it. Not listed yet: thrown, so the outbox asks again later.
   */
  private async link(
    manager: EntityManager,
    subscriptionId: string,
    externalPaymentId: string | undefined,
    result: unknown,
  ): Promise<void> {
    const listed = (result as { data?: unknown } | undefined)?.data;
    const candidates = (Array.isArray(listed) ? (listed as ListedSubscription[]) : []).filter(
      (s) =>
        s.subscriptionId !== undefined &&
        s.latestPaymentExternalId === externalPaymentId &&
        s.isExternallyManaged !== false,
    );
    const found = candidates.map((s) => String(s.subscriptionId)).sort((a, b) => Number(b) - Number(a))[0];
    if (!found) {
      throw new CleengUnavailableError(
        `Cleeng lists no subscription created by payment ${externalPaymentId ?? '?'} yet`,
      );
    }
    const rows: { cleeng_subscription_id: string | null }[] = await manager.query(
      `SELECT cleeng_subscription_id FROM connector_subscriptions WHERE id = $1 FOR UPDATE`,
      [subscriptionId],
    );
    const current = rows[0]?.cleeng_subscription_id ?? null;
    if (current !== null) {
      if (current !== found) {
        this.logger.warn(
          `subscription ${subscriptionId}: already linked to Cleeng subscription ${current}, not ${found}`,
        );
      }
      return;
    }
    await manager.update(
      ConnectorSubscriptionEntity,
      { id: subscriptionId },
      { cleengSubscriptionId: found },
    );
    this.logger.log(`subscription ${subscriptionId}: linked to Cleeng subscription ${found}`);
  }
}
