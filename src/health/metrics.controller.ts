import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { NoRateLimit } from '../rate-limit/rate-limit.decorators';

interface Gauge {
  name: string;
  help: string;
  sql: string;
  /** the label the query's `label` column fills */
  label: string;
}

/** Counts by state, read from the database at scrape time, so every instance reports the same truth. */
const GAUGES: Gauge[] = [
  {
    name: 'connector_payments',
    help: 'Payments by status',
    label: 'status',
    sql: `SELECT status AS label, count(*)::int AS n FROM payments GROUP BY status`,
  },
  {
    name: 'connector_refunds',
    help: 'Refunds by status',
    label: 'status',
    sql: `SELECT status AS label, count(*)::int AS n FROM refunds GROUP BY status`,
  },
  {
    name: 'connector_outbox_messages',
    help: 'Reports to Cleeng by delivery status',
    label: 'status',
    sql: `SELECT status AS label, count(*)::int AS n FROM outbox_messages GROUP BY status`,
  },
  {
    // alert on reason="auth" (publisher token rotated) and on any value that stays up
    name: 'connector_outbox_retrying',
    help: 'Reports to Cleeng waiting for another attempt, by why the last one failed',
    label: 'reason',
    sql: `SELECT failure_reason AS label, count(*)::int AS n FROM outbox_messages WHERE status = 'pending' AND failure_reason IS NOT NULL GROUP BY failure_reason`,
  },
  {
    name: 'connector_inbox_events',
    help: 'Received webhooks by source and status',
    label: 'source_status',
    sql: `SELECT source || ':' || status AS label, count(*)::int AS n FROM inbox_events GROUP BY source, status`,
  },
];

@ApiTags('operations')
@NoRateLimit()
@Controller('metrics')
export class MetricsController {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  @ApiOperation({
    summary: 'Prometheus metrics: payments, refunds, outbox and inbox by state; process memory',
  })
  async metrics(): Promise<string> {
    const lines: string[] = [];
    for (const gauge of GAUGES) {
      const rows: { label: string; n: number }[] = await this.db.query(gauge.sql);
      lines.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`);
      for (const row of rows) {
        if (gauge.label === 'source_status') {
          const [source, status] = row.label.split(':');
          lines.push(`${gauge.name}{source="${source ?? ''}",status="${status ?? ''}"} ${row.n}`);
        } else {
          lines.push(`${gauge.name}{${gauge.label}="${row.label}"} ${row.n}`);
        }
      }
    }
    const oldest: { age: number | null }[] = await this.db.query(
      `SELECT extract(epoch FROM (now() - min(created_at)))::float AS age FROM outbox_messages WHERE status = 'pending'`,
    );
    lines.push(
      '# HELP connector_outbox_oldest_pending_seconds Age of the oldest undelivered report to Cleeng',
      '# TYPE connector_outbox_oldest_pending_seconds gauge',
      `connector_outbox_oldest_pending_seconds ${oldest[0]?.age ?? 0}`,
      '# HELP process_resident_memory_bytes Resident memory size in bytes',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    );
    return `${lines.join('\n')}\n`;
  }
}
