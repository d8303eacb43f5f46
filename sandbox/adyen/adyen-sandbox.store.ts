import { Injectable, Logger } from '@nestjs/common';
import { randomBytes, randomInt } from 'node:crypto';
import { AdyenAmount, AdyenApiResponse, AdyenPaymentResponse, AdyenResultCode } from './adyen-api.types';

export type SandboxPaymentStatus =
  'authorised' | 'refused' | 'captured' | 'cancelled' | 'refunded' | 'partially_refunded' | 'pending_3ds';

/** Card data kept in memory only, so token payments can be decided by the original PAN. Never exposed. */
export interface SandboxCard {
  pan: string;
  brand: string;
  last4: string;
  expiryMonth?: string;
  expiryYear?: string;
  holderName?: string;
}

export type TokenOperation = 'created' | 'updated' | 'alreadyExisting';

export interface SandboxStoredPaymentMethod {
  id: string;
  shopperReference: string;
  card: SandboxCard;
  createdAt: string;
  /** Test hook: later payments with this token behave as if made with this test PAN (e.g. to force declines). */
  behaveAs?: string;
}

export type SandboxModificationType = 'capture' | 'cancel' | 'refund' | 'reversal';

export interface SandboxModification {
  type: SandboxModificationType;
  pspReference: string;
  reference?: string;
  amount?: AdyenAmount;
  merchantRefundReason?: string;
  /** The async outcome Adyen would report by webhook; API-level rejections (422) are not recorded. */
  success: boolean;
  /** set when a test hook turned the modification into CAPTURE_FAILED / REFUND_FAILED */
  failedAt?: string;
  createdAt: string;
}

export interface SandboxPayment {
  pspReference: string;
  merchantAccount: string;
  merchantReference: string;
  amount: AdyenAmount;
  status: SandboxPaymentStatus;
  resultCode: AdyenResultCode;
  refusalReasonCode?: string;
  capturedValue: number;
  refundedValue: number;
  card: SandboxCard;
  /** The token used to pay, or the one this payment created. */
  storedPaymentMethodId?: string;
  tokenOperation?: TokenOperation | 'used';
  shopperReference?: string;
  shopperInteraction: string;
  recurringProcessingModel?: string;
  storePaymentMethod: boolean;
  returnUrl: string;
  captureDelayHours?: number;
  modifications: SandboxModification[];
  createdAt: string;
}

export interface SandboxChallenge {
  id: string;
  pspReference: string;
  returnUrl: string;
  decision?: 'approved' | 'denied';
  redirectResult?: string;
  /** The /payments/details answer, repeated if the same redirectResult is submitted again. */
  finalResponse?: AdyenPaymentResponse;
}

export interface SandboxIdempotencyRecord {
  key: string;
  path: string;
  fingerprint: string;
  response: AdyenApiResponse;
  /** Times the key arrived, the first one included. */
  seen: number;
  /** Replays whose path or body differed from the first request (Adyen still returns the first response). */
  mismatches: number;
  firstSeenAt: string;
}

export type AdyenEventCode =
  | 'AUTHORISATION'
  | 'CAPTURE'
  | 'CAPTURE_FAILED'
  | 'REFUND_FAILED'
  | 'CANCELLATION'
  | 'REFUND'
  | 'CANCEL_OR_REFUND'
  | 'TECHNICAL_CANCEL'
  | 'RECURRING_CONTRACT';

/** Shaped like a NotificationRequestItem so a webhook emitter only has to sign and send it. */
export interface AdyenSandboxEvent {
  eventCode: AdyenEventCode;
  pspReference: string;
  originalReference?: string;
  merchantAccountCode: string;
  merchantReference: string;
  amount: AdyenAmount;
  success: boolean;
  reason?: string;
  paymentMethod?: string;
  additionalData?: Record<string, string>;
  eventDate: string;
}

export type AdyenSandboxEventListener = (event: AdyenSandboxEvent) => void;

export interface AdyenLedgerPayment {
  pspReference: string;
  merchantReference: string;
  amount: AdyenAmount;
  status: SandboxPaymentStatus;
  resultCode: AdyenResultCode;
  refusalReasonCode?: string;
  capturedValue: number;
  refundedValue: number;
  card: { brand: string; last4: string };
  storedPaymentMethodId?: string;
  tokenOperation?: TokenOperation | 'used';
  shopperReference?: string;
  shopperInteraction: string;
  recurringProcessingModel?: string;
  modifications: SandboxModification[];
  createdAt: string;
}

/** One call that reached the emulated Checkout API, whatever its answer (faults and 401s included). */
export interface AdyenRequestLogEntry {
  at: string;
  method: string;
  path: string;
  status: number;
  idempotencyKey?: string;
}

export interface AdyenLedger {
  payments: AdyenLedgerPayment[];
  /** `/payments` calls that passed authentication and validation, idempotent replays included. */
  requests: number;
}

const REFERENCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** 16 uppercase alphanumerics, the shape of Adyen pspReferences and storedPaymentMethodIds. */
export function newAdyenReference(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const byte of bytes) {
    out += REFERENCE_ALPHABET[byte % REFERENCE_ALPHABET.length] ?? 'X';
  }
  return out;
}

export function newAuthCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/**
 * All state of the Adyen emulator, in memory. Behaviour lives in AdyenSandboxService; this class only keeps
 * records, so the (future) webhook emitter can read payments and subscribe to `events`.
 */
@Injectable()
export class AdyenSandboxStore {
  readonly payments = new Map<string, SandboxPayment>();
  readonly storedPaymentMethods = new Map<string, SandboxStoredPaymentMethod>();
  /** shopperReference -> card number -> token: every authorisation that stores a card looks here */
  private readonly tokensByShopper = new Map<string, Map<string, SandboxStoredPaymentMethod>>();
  readonly challenges = new Map<string, SandboxChallenge>();
  /** redirectResult -> challenge id */
  readonly redirectResults = new Map<string, string>();
  readonly idempotency = new Map<string, SandboxIdempotencyRecord>();
  /** merchantReference -> number of /payments calls */
  readonly paymentRequests = new Map<string, number>();
  /** Everything Adyen would notify by webhook, in order. Seam for the webhook emitter. */
  readonly events: AdyenSandboxEvent[] = [];
  private readonly listeners = new Set<AdyenSandboxEventListener>();
  private requestLog: AdyenRequestLogEntry[] = [];
  private readonly logger = new Logger(AdyenSandboxStore.name);

  now(): Date {
    return new Date();
  }

  addPayment(payment: SandboxPayment): void {
    this.payments.set(payment.pspReference, payment);
  }

  /** Payments with this merchantReference, oldest first. */
  paymentsByReference(merchantReference: string): SandboxPayment[] {
    return [...this.payments.values()].filter((p) => p.merchantReference === merchantReference);
  }

  countPaymentRequest(merchantReference: string): void {
    this.paymentRequests.set(merchantReference, (this.paymentRequests.get(merchantReference) ?? 0) + 1);
  }

  findStoredPaymentMethod(shopperReference: string, pan: string): SandboxStoredPaymentMethod | undefined {
    return this.tokensByShopper.get(shopperReference)?.get(pan);
  }

  addStoredPaymentMethod(token: SandboxStoredPaymentMethod): void {
    this.storedPaymentMethods.set(token.id, token);
    const cards =
      this.tokensByShopper.get(token.shopperReference) ?? new Map<string, SandboxStoredPaymentMethod>();
    cards.set(token.card.pan, token);
    this.tokensByShopper.set(token.shopperReference, cards);
  }

  addChallenge(challenge: SandboxChallenge): void {
    this.challenges.set(challenge.id, challenge);
  }

  emit(event: AdyenSandboxEvent): void {
    this.events.push(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error: unknown) {
        // a broken listener (webhook emitter) must not undo an emulated payment that already happened
        this.logger.error(
          `event listener failed for ${event.eventCode} ${event.pspReference}: ${String(error)}`,
        );
      }
    }
  }

  /** Subscribes to emitted events; returns the unsubscribe function. Listeners survive reset(). */
  onEvent(listener: AdyenSandboxEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  logRequest(entry: Omit<AdyenRequestLogEntry, 'at'>): void {
    this.requestLog.push({ ...entry, at: this.now().toISOString() });
  }

  requests(): AdyenRequestLogEntry[] {
    return [...this.requestLog];
  }

  ledger(merchantReference?: string): AdyenLedger {
    const payments =
      merchantReference === undefined
        ? [...this.payments.values()]
        : this.paymentsByReference(merchantReference);
    const requests =
      merchantReference === undefined
        ? [...this.paymentRequests.values()].reduce((a, b) => a + b, 0)
        : (this.paymentRequests.get(merchantReference) ?? 0);
    return { payments: payments.map(toLedgerPayment), requests };
  }

  reset(): void {
    this.payments.clear();
    this.storedPaymentMethods.clear();
    this.tokensByShopper.clear();
    this.challenges.clear();
    this.redirectResults.clear();
    this.idempotency.clear();
    this.paymentRequests.clear();
    this.events.length = 0;
    this.requestLog = [];
  }
}

function toLedgerPayment(p: SandboxPayment): AdyenLedgerPayment {
  return {
    pspReference: p.pspReference,
    merchantReference: p.merchantReference,
    amount: { ...p.amount },
    status: p.status,
    resultCode: p.resultCode,
    ...(p.refusalReasonCode ? { refusalReasonCode: p.refusalReasonCode } : {}),
    capturedValue: p.capturedValue,
    refundedValue: p.refundedValue,
    card: { brand: p.card.brand, last4: p.card.last4 },
    ...(p.storedPaymentMethodId ? { storedPaymentMethodId: p.storedPaymentMethodId } : {}),
    ...(p.tokenOperation ? { tokenOperation: p.tokenOperation } : {}),
    ...(p.shopperReference ? { shopperReference: p.shopperReference } : {}),
    shopperInteraction: p.shopperInteraction,
    ...(p.recurringProcessingModel ? { recurringProcessingModel: p.recurringProcessingModel } : {}),
    modifications: p.modifications.map((m) => ({ ...m })),
    createdAt: p.createdAt,
  };
}
