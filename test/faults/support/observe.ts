import { World } from './world';

/** What the emulators saw: their state endpoints, the ground truth for charges and reports. */
export interface AdyenLedgerPayment {
  pspReference: string;
  merchantReference: string;
  status: string;
  amount: { value: number; currency: string };
  capturedValue: number;
  refundedValue: number;
  shopperReference?: string;
}

export interface CleengPayment {
  id: number;
  orderId: number;
  status: string;
  paymentOperation: string;
  externalPaymentId?: string | null;
  subscriptionId?: number | string | null;
  refundedAmount?: number;
}

export interface CleengState {
  payments: CleengPayment[];
  paymentDetails: { id: number; customerId: number; active: boolean }[];
  subscriptions: {
    subscriptionId: number;
    customerId: number;
    offerId: string;
    paymentDetailsId: number | null;
  }[];
}

export interface CleverbridgePurchase {
  purchaseId: string;
  status: string;
  rebill: boolean;
  attempt?: string;
  period?: string;
}

/** The gateway holds or took the customer's money (a refunded or cancelled payment gave it back). */
const MONEY_TAKEN = new Set(['authorised', 'captured', 'partially_refunded']);

export async function adyenPayments(world: World): Promise<AdyenLedgerPayment[]> {
  return (await world.emulator<{ payments: AdyenLedgerPayment[] }>('GET', '/adyen/ledger')).payments;
}

/** Gateway payments created since `before` that keep the customer's money. */
export async function newCharges(world: World, before: AdyenLedgerPayment[]): Promise<AdyenLedgerPayment[]> {
  const known = new Set(before.map((p) => p.pspReference));
  return (await adyenPayments(world)).filter((p) => !known.has(p.pspReference) && MONEY_TAKEN.has(p.status));
}

export function cleengState(world: World): Promise<CleengState> {
  return world.emulator<CleengState>('GET', '/cleeng/state');
}

export async function cleverbridgeRebills(
  world: World,
  subscriptionId: string,
): Promise<CleverbridgePurchase[]> {
  const ledger = await world.emulator<{ purchases: CleverbridgePurchase[] }>(
    'GET',
    `/cleverbridge/ledger?subscriptionId=${encodeURIComponent(subscriptionId)}`,
  );
  return ledger.purchases.filter((p) => p.rebill);
}

/** Reports to Cleeng the app queued since `since` that are not delivered (pending, or dead = lost). */
export async function undeliveredReports(
  world: World,
  since: Date,
): Promise<{ kind: string; status: string }[]> {
  return world.sql<{ kind: string; status: string }>(
    `SELECT kind, status FROM outbox_messages WHERE created_at >= $1 AND status <> 'delivered'`,
    [since],
  );
}

export async function dbNow(world: World): Promise<Date> {
  const [row] = await world.sql<{ now: Date }>('SELECT now() AS now');
  if (!row) {
    throw new Error('no database time');
  }
  return row.now;
}

/** ProcessCart calls the emulator answered from its `x-connector-attempt` cache: re-sends of a possible charge. */
export async function cleverbridgeReplays(world: World): Promise<number> {
  // the emulator no longer deduplicates (the real API does not): a re-send is a second purchase, counted as a charge
  return (await world.emulator<{ replays?: number }>('GET', '/cleverbridge/ledger')).replays ?? 0;
}
