/** A refund or chargeback made at the gateway after the sale (e.g. in Cleverbridge's UI), applied once per id. */
export interface AfterSale {
  kind: 'refund' | 'chargeback';
  /** the gateway's id for it: a redelivery of the same id is applied once */
  id: string;
  /** what the gateway says it took back; unknown means all that is left */
  amountMinor: number | undefined;
  at: Date;
}

export type AfterSaleStatus = 'captured' | 'partially_refunded' | 'refunded' | 'charged_back';

/** The record of one applied refund or chargeback, kept on the sale (its id makes a redelivery a no-op). */
export interface AfterSaleAdjustment {
  type: 'refund' | 'chargeback';
  id: string;
  amountMinor: number;
  at: string;
}

/** What a sale looks like to the bookkeeping: its state, what was charged and what was already taken back. */
export interface SaleBalance<S extends string> {
  status: S;
  chargedMinor: number;
  refundedMinor: number;
  adjustments: readonly { type: string; id: string }[];
}

export type AfterSaleResult =
  /** a redelivery, or nothing left to take back */
  | { kind: 'ignored' }
  /** not captured (yet): the notification of the payment has not been applied */
  | { kind: 'not_yet' }
  | {
      kind: 'apply';
      to: AfterSaleStatus;
      /** to append to the sale's adjustments; its amount is never more than was left */
      adjustment: AfterSaleAdjustment;
      /** the new refunded total (unchanged by a chargeback) */
      refundedMinor: number;
    };

const CAPTURED: readonly string[] = ['captured', 'partially_refunded', 'refunded', 'charged_back'];

/**
 * Refund/chargeback bookkeeping shared by everything sold outside the order flow (rebill attempts, one-off
 * purchases): the caller locks its row, applies the result through its own transition table and writes it.
 */
export function applyAfterSale<S extends string>(sale: SaleBalance<S>, event: AfterSale): AfterSaleResult {
  const seen = sale.adjustments.some((a) => a.type === event.kind && a.id === event.id);
  if (seen || sale.status === 'refunded' || sale.status === 'charged_back') {
    return { kind: 'ignored' };
  }
  if (!CAPTURED.includes(sale.status)) {
    return { kind: 'not_yet' };
  }
  const left = Math.max(sale.chargedMinor - sale.refundedMinor, 0);
  const amountMinor = Math.min(event.amountMinor ?? left, left);
  const adjustment = { type: event.kind, id: event.id, amountMinor, at: event.at.toISOString() };
  if (event.kind === 'chargeback') {
    return { kind: 'apply', to: 'charged_back', adjustment, refundedMinor: sale.refundedMinor };
  }
  const refundedMinor = sale.refundedMinor + amountMinor;
  return {
    kind: 'apply',
    to: refundedMinor >= sale.chargedMinor ? 'refunded' : 'partially_refunded',
    adjustment,
    refundedMinor,
  };
}
