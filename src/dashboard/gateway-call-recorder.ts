import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { GatewayCallRecord, GatewayCallRecorder, setGatewayCallRecorder } from '../gateways/gateway-call';

/**
 * Keeps a summary of every gateway call in `gateway_calls` for the payment timeline. Written after the call,
 * outside the caller's transaction and without awaiting: a lost row only thins the timeline, while waiting
 * (or failing) here would slow or break a money flow.
 */
@Injectable()
export class GatewayCallRecorderService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(GatewayCallRecorderService.name);
  private readonly recorder: GatewayCallRecorder = (record) => {
    this.write(record).catch((err: unknown) => {
      this.logger.warn(`gateway call not recorded: ${err instanceof Error ? err.message : String(err)}`);
    });
  };

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    setGatewayCallRecorder(this.recorder);
  }

  onModuleDestroy(): void {
    setGatewayCallRecorder(undefined, this.recorder);
  }

  private async write(record: GatewayCallRecord): Promise<void> {
    if (!this.db.isInitialized) {
      return;
    }
    const external = record.response.externalPaymentId;
    await this.db.query(
      `INSERT INTO gateway_calls (gateway, operation, subject_id, external_payment_id, outcome, duration_ms,
                                  response_summary)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        record.gateway,
        record.operation,
        record.subject ?? null,
        typeof external === 'string' ? external : null,
        record.outcome,
        record.durationMs,
        JSON.stringify(record.response),
      ],
    );
  }
}
