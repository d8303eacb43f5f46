import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../clock/clock';
import { Money } from '../shared/money';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import {
  CleverbridgeErrorResponse,
  CleverbridgeExtraParameters,
  CleverbridgeNotification,
  CleverbridgeNotificationType,
  CleverbridgeProcessCartResponse,
} from './cleverbridge-wire';
import { X_ATTEMPT, X_PERIOD } from './cleverbridge-wire';
import {
  ExtraParameterMode,
  parseProcessCart,
  ParsedProcessCart,
  ProcessCartMode,
} from './cleverbridge-sandbox.parse';
import {
  catalogPrice,
  findProduct,
  MAX_RETRIES,
  parseBehaviour,
  PAYMENT_ERROR_MESSAGES,
  RETRY_DELAY_MS,
  SANDBOX_DEFAULT_CURRENCY,
  SandboxBehaviour,
  SESSION_TTL_MS,
  X_SANDBOX_BEHAVIOUR,
} from './cleverbridge-test-data';

export type SandboxPurchaseStatus =
  | 'Paid'
  | 'WaitingForOfflinePayment'
  | 'Declined'
  | 'AwaitingCustomer'
  | 'Refunded'
  | 'PartiallyRefunded'
  | 'ChargedBack';

export interface SandboxPurchaseItem {
  productId: string;
  productName: string;
  additionalName?: string;
  quantity: number;
  unitPrice: Money;
  total: Money;
  subscriptionProduct: boolean;
  extraParameters: Record<string, string>;
}

export interface SandboxRetry {
  dueAt: Date;
  ranAt?: Date;
  outcome?: 'Paid' | 'Declined' | 'Cancelled';
  code?: string;
}

export interface SandboxPurchase {
  purchaseId: string;
  customerId: string;
  status: SandboxPurchaseStatus;
  mode: ProcessCartMode;
  items: SandboxPurchaseItem[];
  total: Money;
  /** the subscription this purchase charged (rebill) or created */
  subscriptionId?: string;
  rebill: boolean;
  /** not a rebill and holds a subscription product: paying it creates a subscription */
  createsSubscription: boolean;
  extraParameterMode: ExtraParameterMode;
  /** the cart's defaultLanguageId (required on rebills) */
  languageId?: string;
  /** cart-level x-parameters as requested */
  extraParameters: Record<string, string>;
  attempt?: string;
  paymentResult?: { code: string; message: string };
  retries: SandboxRetry[];
  checkoutSessionId?: string;
  refundedMinor: number;
  createdAt: Date;
  paidAt?: Date;
}

type PurchaseDraft = Omit<SandboxPurchase, 'purchaseId'>;

export interface SandboxCustomer {
  id: string;
  customerReferenceId?: string;
}

export interface SubscriptionBehaviour {
  behaveAs: string;
  behaviour: SandboxBehaviour;
  /** charges left before the behaviour reverts to paid; undefined = until changed */
  remaining?: number;
}

export interface SandboxSubscription {
  id: string;
  customerId: string;
  productId: string;
  status: 'HandledByClient';
  /** x-parameters added to every billing event (ExtraParameterMode Default / SubscriptionOnly) */
  extraParameters: Record<string, string>;
  behaviour?: SubscriptionBehaviour;
  firstPurchaseId: string;
  createdAt: Date;
}

/** A hosted checkout link: a saved purchase to pay, or (interactive) a cart kept 72 h and not yet saved. */
interface CheckoutSession {
  id: string;
  purchaseId?: string;
  draft?: PurchaseDraft;
  /** interactive sessions only */
  expiresAt?: Date;
  completedPurchaseId?: string;
}

export type ProcessCartBody = CleverbridgeProcessCartResponse | CleverbridgeErrorResponse;

export interface SandboxReply {
  status: number;
  body: ProcessCartBody;
}

export interface ProcessCartOutcome extends SandboxReply {
  notifications: CleverbridgeNotification[];
  /** behaviour latency: hold the answer this long */
  latencyMs?: number;
}

export type OperationResult =
  | { ok: true; purchase: LedgerPurchase; notifications: CleverbridgeNotification[] }
  | { ok: false; status: 404 | 409 | 422; message: string };

export interface RetryRun {
  purchaseId: string;
  subscriptionId?: string;
  outcome: 'Paid' | 'Declined';
  code?: string;
  /** a further retry was scheduled */
  retryScheduled: boolean;
}

export interface MoneyView {
  value: number;
  currency: string;
}

export interface LedgerPurchase {
  purchaseId: string;
  status: SandboxPurchaseStatus;
  customerReferenceId?: string;
  subscriptionId?: string;
  rebill: boolean;
  createdSubscription: boolean;
  mode: ProcessCartMode;
  languageId?: string;
  items: {
    productId: string;
    productName: string;
    additionalName?: string;
    quantity: number;
    unitPrice: MoneyView;
    total: MoneyView;
  }[];
  total: MoneyView;
  attempt?: string;
  period?: string;
  extraParameters: Record<string, string>;
  paymentResult?: { code: string; message: string };
  retryScheduled: boolean;
  retries: { dueAt: string; ranAt?: string; outcome?: string; code?: string }[];
  refunded: MoneyView;
  createdAt: string;
  paidAt?: string;
}

export interface CleverbridgeLedger {
  purchases: LedgerPurchase[];
  /** ProcessCart calls that reached processing (each one processed: Cleverbridge has no idempotency key) */
  calls: number;
}

export interface SubscriptionView {
  id: string;
  customerReferenceId?: string;
  productId: string;
  status: 'HandledByClient';
  extraParameters: Record<string, string>;
  behaveAs?: string;
  remaining?: number;
  purchaseIds: string[];
  createdAt: string;
}

export interface RequestLogEntry {
  at: string;
  method: string;
  path: string;
  status: number;
  attempt?: string;
}

export interface CheckoutView {
  sessionId: string;
  state: 'open' | 'paid' | 'expired';
  purchaseId?: string;
  items: { productName: string; quantity: number; total: MoneyView }[];
  total: MoneyView;
  paymentResult?: { code: string; message: string };
  expiresAt?: string;
}

/**
 * One purchase as `GET /purchase/getpurchaselist` lists it. The documented fields (purchaseId, status/statusId,
 * creationTime, paymentArriveTime, lastModificationTime, customerReferenceNumber) plus the x-parameters the
 * purchase was made with; the rest of the real PurchaseType is not emulated.
 */
export interface PurchaseListEntry {
  purchaseId: string;
  status: SandboxPurchaseStatus;
  creationTime: string;
  paymentArriveTime?: string;
  lastModificationTime: string;
  customerReferenceNumber?: string;
  subscriptionId?: string;
  totalGross: number;
  currencyId: string;
  paymentResult?: { code: string; message: string };
  isPaymentRetryScheduled: boolean;
  extraParameters?: CleverbridgeExtraParameters;
}

const view = (m: Money): MoneyView => ({ value: m.minor, currency: m.currency });

function invalid(code: string, message: string): SandboxReply {
  return { status: 400, body: { status: 'InvalidRequest', error: { code, message } } };
}

function toExtraParameters(params: Record<string, string>): CleverbridgeExtraParameters | undefined {
  const entries = Object.entries(params);
  return entries.length > 0 ? { extraParameter: entries.map(([key, value]) => ({ key, value })) } : undefined;
}

/** Ids never reissued across restarts of the emulator (the connector's database outlives it). */
function processUniqueIds(): {
  purchase: number;
  subscription: number;
  notification: number;
  customer: number;
} {
  const base = Date.now();
  return { purchase: base * 100, subscription: base * 10, notification: base * 100, customer: base * 100 };
}

/**
 * All state of the Cleverbridge emulator, in memory. Every method is synchronous (no interleaving inside a
 * charge) and returns the notifications Cleverbridge would send; the
 * service hands them to the notifier. Time comes from the shared Clock (the sandbox test clock) unless a
 * method takes `now`.
 */
@Injectable()
export class CleverbridgeSandboxStore {
  private purchases = new Map<string, SandboxPurchase>();
  private customers = new Map<string, SandboxCustomer>();
  private customersByReference = new Map<string, string>();
  private subscriptions = new Map<string, SandboxSubscription>();
  private sessions = new Map<string, CheckoutSession>();
  /** ProcessCart calls per `x-connector-attempt` value (inspection only: nothing is deduplicated) */
  private attemptCalls = new Map<string, number>();
  private requestLog: RequestLogEntry[] = [];
  private calls = 0;
  private ids = processUniqueIds();
  private deterministic = false;

  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly config: SandboxSettings,
    private readonly clock: Clock,
  ) {}

  now(): Date {
    return this.clock.now();
  }

  /** Tests: purchases 500000001.., subscriptions S9000001.., notifications N1.., sessions cs_1... */
  useDeterministicIds(): void {
    this.deterministic = true;
    this.ids = { purchase: 500_000_000, subscription: 9_000_000, notification: 0, customer: 0 };
  }

  reset(): void {
    this.purchases.clear();
    this.customers.clear();
    this.customersByReference.clear();
    this.subscriptions.clear();
    this.sessions.clear();
    this.attemptCalls.clear();
    this.requestLog = [];
    this.calls = 0;
    if (this.deterministic) {
      this.useDeterministicIds();
    }
  }

  // ---- ProcessCart -------------------------------------------------------------------------------------

  /**
   * One authenticated, well-formed ProcessCart. Like the real API there is no idempotency key: the same
   * `x-connector-attempt` sent twice is two purchases.
   */
  processCart(cart: ParsedProcessCart): ProcessCartOutcome {
    this.calls += 1;
    const attempt = cart.extraParameters[X_ATTEMPT];
    if (attempt !== undefined) {
      this.attemptCalls.set(attempt, (this.attemptCalls.get(attempt) ?? 0) + 1);
    }
    return this.process(cart);
  }

  /** `GET /purchase/getpurchaselist`: purchases created in [start, end], optionally of some statuses. */
  purchaseList(start: Date, end: Date, statuses?: readonly string[]): PurchaseListEntry[] {
    return [...this.purchases.values()]
      .filter((p) => p.createdAt.getTime() >= start.getTime() && p.createdAt.getTime() <= end.getTime())
      .filter((p) => !statuses || statuses.includes(p.status))
      .map((p) => {
        const reference = this.customers.get(p.customerId)?.customerReferenceId;
        const params = toExtraParameters(p.extraParameters);
        const lastModified = [p.createdAt, p.paidAt, ...p.retries.map((r) => r.ranAt)]
          .filter((d): d is Date => d !== undefined)
          .reduce((a, b) => (b.getTime() > a.getTime() ? b : a));
        return {
          purchaseId: p.purchaseId,
          status: p.status,
          creationTime: p.createdAt.toISOString(),
          ...(p.paidAt ? { paymentArriveTime: p.paidAt.toISOString() } : {}),
          lastModificationTime: lastModified.toISOString(),
          ...(reference !== undefined ? { customerReferenceNumber: reference } : {}),
          ...(p.subscriptionId !== undefined ? { subscriptionId: p.subscriptionId } : {}),
          totalGross: p.total.toMajorNumber(),
          currencyId: p.total.currency,
          ...(p.paymentResult ? { paymentResult: { ...p.paymentResult } } : {}),
          isPaymentRetryScheduled: p.status === 'Declined' && p.retries.some((r) => !r.ranAt),
          ...(params ? { extraParameters: params } : {}),
        };
      });
  }

  private process(cart: ParsedProcessCart): ProcessCartOutcome {
    const now = this.now();
    const reply = (r: SandboxReply): ProcessCartOutcome => ({ ...r, notifications: [] });

    // who buys
    let customer: SandboxCustomer;
    let subscription: SandboxSubscription | undefined;
    switch (cart.customer.kind) {
      case 'subscriptionId': {
        subscription = this.subscriptions.get(cart.customer.value);
        if (!subscription) {
          return reply(invalid('SUBSCRIPTION_NOT_FOUND', `subscription ${cart.customer.value} not found`));
        }
        customer = this.customerById(subscription.customerId);
        break;
      }
      case 'logonPurchaseId': {
        const former = this.purchases.get(cart.customer.value);
        if (!former) {
          return reply(invalid('PURCHASE_NOT_FOUND', `LogonPurchaseId ${cart.customer.value} not found`));
        }
        customer = this.customerById(former.customerId);
        break;
      }
      case 'customerReferenceId':
        customer = this.customerByReference(cart.customer.value);
        break;
    }

    // what, at which price
    const dynamicCurrencies = new Set(
      cart.items.flatMap((i) => (i.dynamicPrice ? [i.dynamicPrice.currency] : [])),
    );
    if (dynamicCurrencies.size > 1) {
      return reply(invalid('CURRENCY_MISMATCH', 'all dynamic prices of a cart must use one currency'));
    }
    const currency = [...dynamicCurrencies][0] ?? SANDBOX_DEFAULT_CURRENCY;
    const items: SandboxPurchaseItem[] = [];
    for (const [i, item] of cart.items.entries()) {
      const product = findProduct(item.productId);
      if (!product) {
        return reply(invalid('PRODUCT_NOT_FOUND', `items[${i}]: product ${item.productId} not found`));
      }
      const unitPrice = item.dynamicPrice ?? catalogPrice(product, currency);
      if (!unitPrice) {
        return reply(
          invalid('PRICE_NOT_AVAILABLE', `items[${i}]: product ${product.id} has no ${currency} price`),
        );
      }
      items.push({
        productId: product.id,
        productName: item.dynamicProductName ?? product.name,
        ...(item.additionalName !== undefined ? { additionalName: item.additionalName } : {}),
        quantity: item.quantity,
        unitPrice,
        total: Money.of(unitPrice.minor * item.quantity, unitPrice.currency),
        subscriptionProduct: product.subscription,
        extraParameters: item.extraParameters,
      });
    }
    const total = items.reduce((sum, i) => sum.add(i.total), Money.zero(currency));

    // how it goes
    const chosen = this.chooseBehaviour(cart, subscription);
    if (!chosen.ok) {
      return reply(chosen.reply);
    }
    const behaviour = chosen.behaviour;
    if (behaviour.kind === 'invalid') {
      return reply(invalid('INVALID_REQUEST', `sandbox behaviour "invalid"`));
    }
    if (behaviour.kind === 'error') {
      return reply({ status: 500, body: { status: 'InternalServerError' } });
    }

    const draft: PurchaseDraft = {
      customerId: customer.id,
      status: 'AwaitingCustomer',
      mode: cart.processCartMode,
      items,
      total,
      ...(subscription ? { subscriptionId: subscription.id } : {}),
      rebill: subscription !== undefined,
      createsSubscription: subscription === undefined && items.some((i) => i.subscriptionProduct),
      extraParameterMode: cart.extraParameterMode,
      ...(cart.defaultLanguageId !== undefined ? { languageId: cart.defaultLanguageId } : {}),
      extraParameters: cart.extraParameters,
      ...(cart.extraParameters[X_ATTEMPT] !== undefined ? { attempt: cart.extraParameters[X_ATTEMPT] } : {}),
      retries: [],
      refundedMinor: 0,
      createdAt: now,
    };

    switch (behaviour.kind) {
      case 'paid':
      case 'latency': {
        const purchase = this.save(draft);
        const notifications = this.settlePaid(purchase, now);
        return {
          status: 200,
          body: {
            status: 'Paid',
            purchaseId: purchase.purchaseId,
            isPaymentRetryScheduled: false,
            ...(purchase.createsSubscription && purchase.subscriptionId
              ? { subscriptionId: purchase.subscriptionId }
              : {}),
          },
          notifications,
          ...(behaviour.kind === 'latency' ? { latencyMs: behaviour.ms } : {}),
        };
      }
      case 'offline': {
        const purchase = this.save({ ...draft, status: 'WaitingForOfflinePayment' });
        return {
          status: 200,
          body: {
            status: 'WaitingForOfflinePayment',
            purchaseId: purchase.purchaseId,
            isPaymentRetryScheduled: false,
          },
          notifications: [this.notification('NewOfflinePaymentPurchaseNotification', purchase, now)],
        };
      }
      case 'decline': {
        const paymentResult = {
          code: behaviour.code,
          message: PAYMENT_ERROR_MESSAGES[behaviour.code] ?? 'Payment declined',
        };
        const purchase = this.save({
          ...draft,
          status: 'Declined',
          paymentResult,
          retries: behaviour.retry ? [{ dueAt: new Date(now.getTime() + RETRY_DELAY_MS) }] : [],
        });
        const session = this.openSession({ purchaseId: purchase.purchaseId });
        purchase.checkoutSessionId = session.id;
        return reply({
          status: 200,
          body: {
            status: 'Pending',
            purchaseId: purchase.purchaseId,
            url: this.checkoutUrl(session.id),
            paymentResult,
            isPaymentRetryScheduled: behaviour.retry,
          },
        });
      }
      case 'action-needed': {
        if (cart.processCartMode === 'Interactive') {
          // interactive: nothing is saved; the cart waits 72 h behind the session URL
          const session = this.openSession({ draft, expiresAt: new Date(now.getTime() + SESSION_TTL_MS) });
          return reply({
            status: 200,
            body: {
              status: 'CustomerActionNeeded',
              url: this.checkoutUrl(session.id),
              isPaymentRetryScheduled: false,
            },
          });
        }
        const purchase = this.save(draft);
        const session = this.openSession({ purchaseId: purchase.purchaseId });
        purchase.checkoutSessionId = session.id;
        return reply({
          status: 200,
          body: {
            status: 'CustomerActionNeeded',
            purchaseId: purchase.purchaseId,
            url: this.checkoutUrl(session.id),
            isPaymentRetryScheduled: false,
          },
        });
      }
    }
  }

  private chooseBehaviour(
    cart: ParsedProcessCart,
    subscription: SandboxSubscription | undefined,
  ): { ok: true; behaviour: SandboxBehaviour } | { ok: false; reply: SandboxReply } {
    const requested =
      cart.extraParameters[X_SANDBOX_BEHAVIOUR] ??
      cart.items.map((i) => i.extraParameters[X_SANDBOX_BEHAVIOUR]).find((v) => v !== undefined);
    if (requested !== undefined) {
      const behaviour = parseBehaviour(requested);
      return behaviour
        ? { ok: true, behaviour }
        : {
            ok: false,
            reply: invalid(
              'INVALID_X_PARAMETER',
              `unknown ${X_SANDBOX_BEHAVIOUR} "${requested}" (see cleverbridge-test-data.ts)`,
            ),
          };
    }
    return { ok: true, behaviour: this.consumeSubscriptionBehaviour(subscription) ?? { kind: 'paid' } };
  }

  private consumeSubscriptionBehaviour(
    subscription: SandboxSubscription | undefined,
  ): SandboxBehaviour | undefined {
    const set = subscription?.behaviour;
    if (!subscription || !set) {
      return undefined;
    }
    if (set.remaining !== undefined) {
      set.remaining -= 1;
      if (set.remaining <= 0) {
        delete subscription.behaviour;
      }
    }
    return set.behaviour;
  }

  // ---- settling, subscriptions, notifications -----------------------------------------------------------

  private save(draft: PurchaseDraft): SandboxPurchase {
    this.ids.purchase += 1;
    const purchase: SandboxPurchase = { ...draft, purchaseId: String(this.ids.purchase) };
    this.purchases.set(purchase.purchaseId, purchase);
    return purchase;
  }

  /** Marks a purchase paid (creating its subscription when it is an initial subscription purchase). */
  private settlePaid(purchase: SandboxPurchase, now: Date): CleverbridgeNotification[] {
    purchase.status = 'Paid';
    purchase.paidAt = now;
    for (const retry of purchase.retries) {
      if (!retry.ranAt) {
        retry.ranAt = now;
        retry.outcome = 'Cancelled';
      }
    }
    if (purchase.createsSubscription && !purchase.subscriptionId) {
      const product = purchase.items.find((i) => i.subscriptionProduct);
      this.ids.subscription += 1;
      const subscription: SandboxSubscription = {
        id: `S${this.ids.subscription}`,
        customerId: purchase.customerId,
        productId: product?.productId ?? '',
        status: 'HandledByClient',
        extraParameters:
          purchase.extraParameterMode === 'PurchaseOnly' ? {} : { ...purchase.extraParameters },
        firstPurchaseId: purchase.purchaseId,
        createdAt: now,
      };
      this.subscriptions.set(subscription.id, subscription);
      purchase.subscriptionId = subscription.id;
    }
    return [this.notification('PaidOrderNotification', purchase, now)];
  }

  /** The cart-level x-parameters a notification about this purchase carries (ExtraParameterMode). */
  private notificationParameters(purchase: SandboxPurchase): Record<string, string> {
    if (purchase.rebill) {
      const subscription = purchase.subscriptionId
        ? this.subscriptions.get(purchase.subscriptionId)
        : undefined;
      return { ...subscription?.extraParameters, ...purchase.extraParameters };
    }
    if (purchase.createsSubscription && purchase.extraParameterMode === 'SubscriptionOnly') {
      return {};
    }
    return { ...purchase.extraParameters };
  }

  private notification(
    type: CleverbridgeNotificationType,
    purchase: SandboxPurchase,
    now: Date,
    extra: Pick<CleverbridgeNotification, 'refund' | 'chargeback'> = {},
  ): CleverbridgeNotification {
    this.ids.notification += 1;
    const customer = this.customers.get(purchase.customerId);
    const params = toExtraParameters(this.notificationParameters(purchase));
    const recurringBilling = purchase.subscriptionId
      ? { subscriptionId: purchase.subscriptionId }
      : undefined;
    return {
      meta: { type, id: `N${this.ids.notification}`, createdAt: now.toISOString() },
      purchase: {
        id: purchase.purchaseId,
        status: purchase.status,
        createdAt: purchase.createdAt.toISOString(),
        ...(purchase.paidAt ? { paidAt: purchase.paidAt.toISOString() } : {}),
        currencyId: purchase.total.currency,
        totalGross: purchase.total.toMajorNumber(),
        customer: customer?.customerReferenceId ? { customerReferenceId: customer.customerReferenceId } : {},
        items: purchase.items.map((item) => {
          const itemParams = toExtraParameters(item.extraParameters);
          return {
            productId: item.productId,
            productName: item.productName,
            quantity: item.quantity,
            unitPrice: item.unitPrice.toMajorNumber(),
            totalGross: item.total.toMajorNumber(),
            ...(recurringBilling && (purchase.rebill || item.subscriptionProduct)
              ? { recurringBilling }
              : {}),
            ...(itemParams ? { extraParameters: itemParams } : {}),
          };
        }),
        ...(params ? { extraParameters: params } : {}),
      },
      ...(recurringBilling ? { recurringBilling: { ...recurringBilling, status: 'HandledByClient' } } : {}),
      ...extra,
    };
  }

  // ---- hosted checkout ---------------------------------------------------------------------------------

  private openSession(session: Omit<CheckoutSession, 'id'>): CheckoutSession {
    const id = this.deterministic ? `cs_${this.sessions.size + 1}` : `cs_${randomBytes(12).toString('hex')}`;
    const created = { id, ...session };
    this.sessions.set(id, created);
    return created;
  }

  checkoutUrl(sessionId: string): string {
    return `${this.config.publicUrl}/sandbox/cleverbridge/checkout/${encodeURIComponent(sessionId)}`;
  }

  checkoutView(sessionId: string, now: Date = this.now()): CheckoutView | undefined {
    const session = this.sessions.get(sessionId);
    if (!session) {
      return undefined;
    }
    const purchaseId = session.purchaseId ?? session.completedPurchaseId;
    const purchase = purchaseId ? this.purchases.get(purchaseId) : undefined;
    const subject = purchase ?? session.draft;
    if (!subject) {
      return undefined;
    }
    const paid =
      purchase !== undefined && purchase.status !== 'Declined' && purchase.status !== 'AwaitingCustomer';
    const expired = !paid && session.expiresAt !== undefined && session.expiresAt.getTime() <= now.getTime();
    return {
      sessionId,
      state: paid ? 'paid' : expired ? 'expired' : 'open',
      ...(purchase ? { purchaseId: purchase.purchaseId } : {}),
      items: subject.items.map((i) => ({
        productName: i.productName,
        quantity: i.quantity,
        total: view(i.total),
      })),
      total: view(subject.total),
      ...(subject.paymentResult ? { paymentResult: subject.paymentResult } : {}),
      ...(session.expiresAt ? { expiresAt: session.expiresAt.toISOString() } : {}),
    };
  }

  /** The customer pays on the hosted page: the purchase is Paid (saved first for interactive sessions). */
  completeCheckout(sessionId: string, now: Date = this.now()): OperationResult {
    const state = this.checkoutView(sessionId, now);
    const session = this.sessions.get(sessionId);
    if (!state || !session) {
      return { ok: false, status: 404, message: `unknown checkout session ${sessionId}` };
    }
    if (state.state === 'expired') {
      return { ok: false, status: 422, message: 'the checkout session has expired (72 h)' };
    }
    if (state.state === 'paid') {
      return { ok: false, status: 409, message: `purchase ${state.purchaseId ?? ''} is already paid` };
    }
    let purchase: SandboxPurchase | undefined;
    if (session.purchaseId) {
      purchase = this.purchases.get(session.purchaseId);
    } else if (session.draft) {
      purchase = this.save({ ...session.draft, createdAt: now });
      purchase.checkoutSessionId = session.id;
      session.completedPurchaseId = purchase.purchaseId;
      delete session.draft;
    }
    if (!purchase) {
      return { ok: false, status: 404, message: `unknown checkout session ${sessionId}` };
    }
    delete purchase.paymentResult;
    const notifications = this.settlePaid(purchase, now);
    return { ok: true, purchase: this.ledgerPurchase(purchase), notifications };
  }

  // ---- retries (IsPaymentRetryScheduled) ---------------------------------------------------------------

  /**
   * Runs every scheduled retry due at `now`: the subscription's behaviour at this moment decides (a decline
   * behaviour declines again, with another retry in 1 h when it says so, at most MAX_RETRIES); anything else
   * pays and returns a PaidOrderNotification.
   */
  runDueRetries(now: Date = this.now()): { ran: RetryRun[]; notifications: CleverbridgeNotification[] } {
    const ran: RetryRun[] = [];
    const notifications: CleverbridgeNotification[] = [];
    const due = [...this.purchases.values()]
      .filter((p) => p.status === 'Declined')
      .map((p) => ({ purchase: p, retry: p.retries.find((r) => !r.ranAt) }))
      .filter((d): d is { purchase: SandboxPurchase; retry: SandboxRetry } => d.retry !== undefined)
      .filter((d) => d.retry.dueAt.getTime() <= now.getTime())
      .sort((a, b) => a.retry.dueAt.getTime() - b.retry.dueAt.getTime());
    for (const { purchase, retry } of due) {
      retry.ranAt = now;
      const subscription = purchase.subscriptionId
        ? this.subscriptions.get(purchase.subscriptionId)
        : undefined;
      const behaviour = this.consumeSubscriptionBehaviour(subscription);
      const base = {
        purchaseId: purchase.purchaseId,
        ...(purchase.subscriptionId ? { subscriptionId: purchase.subscriptionId } : {}),
      };
      if (behaviour?.kind === 'decline') {
        retry.outcome = 'Declined';
        retry.code = behaviour.code;
        purchase.paymentResult = {
          code: behaviour.code,
          message: PAYMENT_ERROR_MESSAGES[behaviour.code] ?? 'Payment declined',
        };
        const again = behaviour.retry && purchase.retries.length < MAX_RETRIES;
        if (again) {
          purchase.retries.push({ dueAt: new Date(now.getTime() + RETRY_DELAY_MS) });
        }
        ran.push({ ...base, outcome: 'Declined', code: behaviour.code, retryScheduled: again });
        continue;
      }
      delete purchase.paymentResult;
      notifications.push(...this.settlePaid(purchase, now));
      retry.outcome = 'Paid';
      ran.push({ ...base, outcome: 'Paid', retryScheduled: false });
    }
    return { ran, notifications };
  }

  // ---- after-sale events (test triggers) ---------------------------------------------------------------

  /** The offline payment arrives: WaitingForOfflinePayment -> Paid + PaidOrderNotification. */
  receiveOfflinePayment(purchaseId: string, now: Date = this.now()): OperationResult {
    const purchase = this.purchases.get(purchaseId);
    if (!purchase) {
      return { ok: false, status: 404, message: `purchase ${purchaseId} not found` };
    }
    if (purchase.status !== 'WaitingForOfflinePayment') {
      return { ok: false, status: 409, message: `purchase ${purchaseId} is ${purchase.status}` };
    }
    const notifications = this.settlePaid(purchase, now);
    return { ok: true, purchase: this.ledgerPurchase(purchase), notifications };
  }

  /** A refund made in Cleverbridge: RefundNotification (whole remainder) or PartialRefundNotification. */
  refund(purchaseId: string, amountMinor?: number, now: Date = this.now()): OperationResult {
    const purchase = this.purchases.get(purchaseId);
    if (!purchase) {
      return { ok: false, status: 404, message: `purchase ${purchaseId} not found` };
    }
    if (purchase.status !== 'Paid' && purchase.status !== 'PartiallyRefunded') {
      return { ok: false, status: 409, message: `purchase ${purchaseId} is ${purchase.status}` };
    }
    const remaining = purchase.total.minor - purchase.refundedMinor;
    const amount = amountMinor ?? remaining;
    if (!Number.isSafeInteger(amount) || amount <= 0 || amount > remaining) {
      return { ok: false, status: 422, message: `refund amount must be 1..${remaining} minor units` };
    }
    purchase.refundedMinor += amount;
    const full = purchase.refundedMinor === purchase.total.minor;
    purchase.status = full ? 'Refunded' : 'PartiallyRefunded';
    const refunded = Money.of(amount, purchase.total.currency);
    const notification = this.notification(
      amount === purchase.total.minor ? 'RefundNotification' : 'PartialRefundNotification',
      purchase,
      now,
      {
        refund: {
          id: `R${purchase.purchaseId}-${purchase.refundedMinor}`,
          amount: refunded.toMajorNumber(),
          currencyId: refunded.currency,
        },
      },
    );
    return { ok: true, purchase: this.ledgerPurchase(purchase), notifications: [notification] };
  }

  /** A chargeback: ChargebackNotification over what is left of the purchase. */
  chargeback(purchaseId: string, now: Date = this.now()): OperationResult {
    const purchase = this.purchases.get(purchaseId);
    if (!purchase) {
      return { ok: false, status: 404, message: `purchase ${purchaseId} not found` };
    }
    if (purchase.status !== 'Paid' && purchase.status !== 'PartiallyRefunded') {
      return { ok: false, status: 409, message: `purchase ${purchaseId} is ${purchase.status}` };
    }
    const amount = Money.of(purchase.total.minor - purchase.refundedMinor, purchase.total.currency);
    purchase.status = 'ChargedBack';
    const notification = this.notification('ChargebackNotification', purchase, now, {
      chargeback: {
        id: `C${purchase.purchaseId}`,
        amount: amount.toMajorNumber(),
        currencyId: amount.currency,
      },
    });
    return { ok: true, purchase: this.ledgerPurchase(purchase), notifications: [notification] };
  }

  // ---- subscriptions -----------------------------------------------------------------------------------

  /**
   * `behaveAs` decides the subscription's next charges (rebills and retries); undefined restores paid.
   * `times` limits it to the next n charges.
   */
  setSubscriptionBehaviour(
    subscriptionId: string,
    behaveAs: string | undefined,
    times?: number,
  ): 'ok' | 'not-found' | 'invalid-behaviour' {
    const subscription = this.subscriptions.get(subscriptionId);
    if (!subscription) {
      return 'not-found';
    }
    if (behaveAs === undefined) {
      delete subscription.behaviour;
      return 'ok';
    }
    const behaviour = parseBehaviour(behaveAs);
    if (!behaviour) {
      return 'invalid-behaviour';
    }
    subscription.behaviour = { behaveAs, behaviour, ...(times !== undefined ? { remaining: times } : {}) };
    return 'ok';
  }

  subscription(subscriptionId: string): SubscriptionView | undefined {
    const s = this.subscriptions.get(subscriptionId);
    return s ? this.subscriptionView(s) : undefined;
  }

  listSubscriptions(): SubscriptionView[] {
    return [...this.subscriptions.values()].map((s) => this.subscriptionView(s));
  }

  private subscriptionView(s: SandboxSubscription): SubscriptionView {
    const reference = this.customers.get(s.customerId)?.customerReferenceId;
    return {
      id: s.id,
      ...(reference !== undefined ? { customerReferenceId: reference } : {}),
      productId: s.productId,
      status: s.status,
      extraParameters: { ...s.extraParameters },
      ...(s.behaviour ? { behaveAs: s.behaviour.behaveAs } : {}),
      ...(s.behaviour?.remaining !== undefined ? { remaining: s.behaviour.remaining } : {}),
      purchaseIds: [...this.purchases.values()]
        .filter((p) => p.subscriptionId === s.id)
        .map((p) => p.purchaseId),
      createdAt: s.createdAt.toISOString(),
    };
  }

  // ---- bulk tools (benchmarks) -------------------------------------------------------------------------

  /**
   * `count` customers (references `<referencePrefix><i>`) each with one paid initial purchase of the monthly
   * product, so each has a "Handled by Client" subscription, as if bought earlier: no notification is sent.
   * The benchmark's way to put 100,000 subscriptions in a separate emulator process in seconds.
   */
  seedSubscriptions(count: number, referencePrefix: string, productId: string): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const parsed = parseProcessCart({
        processCartRequest: {
          cart: { items: [{ productId, quantity: 1 }], customerReferenceId: `${referencePrefix}${i}` },
          processCartMode: 'NonInteractive',
        },
      });
      if (!parsed.ok) {
        throw new Error(`seed cart refused: ${parsed.message}`);
      }
      const body = this.processCart(parsed.cart).body as { subscriptionId?: string };
      if (!body.subscriptionId) {
        throw new Error(`seed purchase created no subscription: ${JSON.stringify(body)}`);
      }
      ids.push(body.subscriptionId);
    }
    return ids;
  }

  /** Paid rebills of the subscriptions whose customer reference starts with `referencePrefix`: once each? */
  rebillCharges(referencePrefix: string): { subscriptions: number; charged: number; chargedTwice: number } {
    const mine = new Set<string>();
    for (const s of this.subscriptions.values()) {
      const reference = this.customers.get(s.customerId)?.customerReferenceId;
      if (reference?.startsWith(referencePrefix)) {
        mine.add(s.id);
      }
    }
    const charges = new Map<string, number>();
    for (const p of this.purchases.values()) {
      if (p.rebill && p.status === 'Paid' && p.subscriptionId && mine.has(p.subscriptionId)) {
        charges.set(p.subscriptionId, (charges.get(p.subscriptionId) ?? 0) + 1);
      }
    }
    return {
      subscriptions: mine.size,
      charged: charges.size,
      chargedTwice: [...charges.values()].filter((c) => c > 1).length,
    };
  }

  // ---- inspection --------------------------------------------------------------------------------------

  ledger(filter: { subscriptionId?: string; attempt?: string } = {}): CleverbridgeLedger {
    const purchases = [...this.purchases.values()]
      .filter((p) => filter.subscriptionId === undefined || p.subscriptionId === filter.subscriptionId)
      .filter((p) => filter.attempt === undefined || p.attempt === filter.attempt)
      .map((p) => this.ledgerPurchase(p));
    return { purchases, calls: this.calls };
  }

  purchase(purchaseId: string): LedgerPurchase | undefined {
    const p = this.purchases.get(purchaseId);
    return p ? this.ledgerPurchase(p) : undefined;
  }

  private ledgerPurchase(p: SandboxPurchase): LedgerPurchase {
    const reference = this.customers.get(p.customerId)?.customerReferenceId;
    const period = p.extraParameters[X_PERIOD];
    return {
      purchaseId: p.purchaseId,
      status: p.status,
      ...(reference !== undefined ? { customerReferenceId: reference } : {}),
      ...(p.subscriptionId !== undefined ? { subscriptionId: p.subscriptionId } : {}),
      rebill: p.rebill,
      createdSubscription: p.createsSubscription && p.subscriptionId !== undefined,
      mode: p.mode,
      ...(p.languageId !== undefined ? { languageId: p.languageId } : {}),
      items: p.items.map((i) => ({
        productId: i.productId,
        productName: i.productName,
        ...(i.additionalName !== undefined ? { additionalName: i.additionalName } : {}),
        quantity: i.quantity,
        unitPrice: view(i.unitPrice),
        total: view(i.total),
      })),
      total: view(p.total),
      ...(p.attempt !== undefined ? { attempt: p.attempt } : {}),
      ...(period !== undefined ? { period } : {}),
      extraParameters: { ...p.extraParameters },
      ...(p.paymentResult ? { paymentResult: { ...p.paymentResult } } : {}),
      retryScheduled: p.status === 'Declined' && p.retries.some((r) => !r.ranAt),
      retries: p.retries.map((r) => ({
        dueAt: r.dueAt.toISOString(),
        ...(r.ranAt ? { ranAt: r.ranAt.toISOString() } : {}),
        ...(r.outcome ? { outcome: r.outcome } : {}),
        ...(r.code ? { code: r.code } : {}),
      })),
      refunded: { value: p.refundedMinor, currency: p.total.currency },
      createdAt: p.createdAt.toISOString(),
      ...(p.paidAt ? { paidAt: p.paidAt.toISOString() } : {}),
    };
  }

  logRequest(entry: Omit<RequestLogEntry, 'at'>): void {
    this.requestLog.push({ at: this.now().toISOString(), ...entry });
  }

  requests(): RequestLogEntry[] {
    return this.requestLog.map((e) => ({ ...e }));
  }

  /** How often an `x-connector-attempt` value arrived (first call included); 0 when never. */
  attemptSeen(attempt: string): number {
    return this.attemptCalls.get(attempt) ?? 0;
  }

  // ---- customers ---------------------------------------------------------------------------------------

  private customerByReference(reference: string): SandboxCustomer {
    const id = this.customersByReference.get(reference);
    const known = id ? this.customers.get(id) : undefined;
    if (known) {
      return known;
    }
    this.ids.customer += 1;
    const customer = { id: `C${this.ids.customer}`, customerReferenceId: reference };
    this.customers.set(customer.id, customer);
    this.customersByReference.set(reference, customer.id);
    return customer;
  }

  private customerById(id: string): SandboxCustomer {
    const customer = this.customers.get(id);
    if (!customer) {
      // every purchase and subscription is created with its customer, so this is a bug in the emulator
      throw new Error(`sandbox customer ${id} missing`);
    }
    return customer;
  }
}
