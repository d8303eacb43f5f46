import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { GatewayCallRecord, GatewayCallRecorder, gatewayCallRecorder } from '../gateways/gateway-call';

/** Calls are written in batches: one INSERT per interval however many calls a rebill batch makes. */
const FLUSH_INTERVAL_MS = 250;
/** Beyond this many unwritten rows new ones are dropped (and counted in the log) rather than held in memory. */
const MAX_BUFFERED = 5000;

/**
 * Keeps a summary of every gateway call in `gateway_calls` for the payment timeline. Buffered and written after
 * the call, outside the caller's transaction and never awaited by it: a lost row only thins the timeline, while
 * waiting (or failing, or taking a pool connection per call) here would slow or break a money flow.
 */
@Injectable()
export class GatewayCallRecorderService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(GatewayCallRecorderService.name);
  private buffer: GatewayCallRecord[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly recorder: GatewayCallRecorder = (record) => {
    if (this.buffer.length >= MAX_BUFFERED) {
      this.dropped += 1;
      return;
    }
    this.buffer.push(record);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_INTERVAL_MS).unref();
  };

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    gatewayCallRecorder.install(this.recorder);
  }

  async onModuleDestroy(): Promise<void> {
    gatewayCallRecorder.remove(this.recorder);
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Writes what is buffered (one statement); errors are logged, never thrown. */
  flush(): Promise<void> {
    this.flushing = (this.flushing ?? Promise.resolve()).then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    if (this.dropped > 0) {
      this.logger.warn(`${this.dropped} gateway calls not recorded (buffer full)`);
      this.dropped = 0;
    }
    if (batch.length === 0 || !this.db.isInitialized) {
      return;
    }
    const rows = batch.map((r) => ({
      gateway: r.gateway,
      operation: r.operation,
      subject_id: r.subject ?? null,
      external_payment_id:
        typeof r.response.externalPaymentId === 'string' ? r.response.externalPaymentId : null,
      outcome: r.outcome,
      duration_ms: r.durationMs,
      response_summary: r.response,
    }));
    try {
      await this.db.query(
        `INSERT INTO gateway_calls (gateway, operation, subject_id, external_payment_id, outcome, duration_ms,
                                    response_summary)
         SELECT gateway, operation, subject_id, external_payment_id, outcome, duration_ms, response_summary
           FROM jsonb_to_recordset($1::jsonb) AS r(gateway text, operation text, subject_id text,
                external_payment_id text, outcome text, duration_ms integer, response_summary jsonb)`,
        [JSON.stringify(rows)],
      );
    } catch (err) {
      this.logger.warn(
        `${batch.length} gateway calls not recorded: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
