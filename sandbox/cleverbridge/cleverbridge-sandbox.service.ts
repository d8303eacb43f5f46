import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Clock } from '../clock/clock';
import { SandboxClockService } from '../clock/sandbox-clock.service';
import { CleverbridgeNotifier } from './cleverbridge-notifier';
import { parseProcessCart } from './cleverbridge-sandbox.parse';
import {
  CleverbridgeSandboxStore,
  OperationResult,
  ProcessCartOutcome,
  RetryRun,
} from './cleverbridge-sandbox.store';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The emulator's behaviour around the store: parses requests, sends the notifications the store produced,
 * holds answers for the `latency:<ms>` behaviour. Every sandbox clock advance runs the scheduled payment
 * retries that became due (`runDueRetries`).
 */
@Injectable()
export class CleverbridgeSandboxService implements OnModuleInit, OnModuleDestroy {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: CleverbridgeSandboxStore,
    private readonly notifier: CleverbridgeNotifier,
    private readonly clock: Clock,
    private readonly clockService: SandboxClockService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.clockService.onAdvance((now) => {
      this.runDueRetries(now);
      return Promise.resolve();
    }, 'cleverbridge-retries');
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** An authenticated `POST /cart/processcart` body -> the emulated answer. */
  async processCart(body: unknown): Promise<ProcessCartOutcome> {
    const parsed = parseProcessCart(body);
    if (!parsed.ok) {
      return {
        status: 400,
        body: { status: 'InvalidRequest', error: { code: parsed.code, message: parsed.message } },
        notifications: [],
      };
    }
    const outcome = this.store.processCart(parsed.cart);
    this.notifier.send(outcome.notifications);
    if (outcome.latencyMs) {
      await sleep(outcome.latencyMs);
    }
    return outcome;
  }

  /**
   * Cleverbridge's scheduled payment retries (IsPaymentRetryScheduled) due at `now` (default: the shared
   * Clock); sends a PaidOrderNotification for each retry that pays.
   */
  runDueRetries(now: Date = this.clock.now()): RetryRun[] {
    const { ran, notifications } = this.store.runDueRetries(now);
    this.notifier.send(notifications);
    return ran;
  }

  completeCheckout(sessionId: string): OperationResult {
    return this.notify(this.store.completeCheckout(sessionId));
  }

  receiveOfflinePayment(purchaseId: string): OperationResult {
    return this.notify(this.store.receiveOfflinePayment(purchaseId));
  }

  refund(purchaseId: string, amountMinor?: number): OperationResult {
    return this.notify(this.store.refund(purchaseId, amountMinor));
  }

  chargeback(purchaseId: string): OperationResult {
    return this.notify(this.store.chargeback(purchaseId));
  }

  reset(): void {
    this.store.reset();
    this.notifier.reset();
  }

  private notify(result: OperationResult): OperationResult {
    if (result.ok) {
      this.notifier.send(result.notifications);
    }
    return result;
  }
}
