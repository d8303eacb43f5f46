import { Injectable } from '@nestjs/common';

/** Where the rebill engine can be made to fail in tests ("the process dies here"). */
export interface RebillFaults {
  /** between the gateway's answer and the database write */
  afterGatewayCall?: (call: {
    subscriptionId: string;
    attemptId: string;
    idempotencyKey: string;
  }) => Promise<void>;
}

/**
 * Fault injection points of the rebill engine: nothing is armed in production, so each point is a no-op.
 * Tests arm a point through the DI container (`app.get(RebillFaultPoints).arm({...})`) and disarm it after.
 */
@Injectable()
export class RebillFaultPoints {
  private armed: RebillFaults = {};

  arm(faults: RebillFaults): void {
    this.armed = { ...faults };
  }

  disarm(): void {
    this.armed = {};
  }

  async afterGatewayCall(call: {
    subscriptionId: string;
    attemptId: string;
    idempotencyKey: string;
  }): Promise<void> {
    await this.armed.afterGatewayCall?.(call);
  }
}
