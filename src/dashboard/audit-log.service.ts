import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface AuditEntry {
  id: string;
  operator: string;
  sessionId: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown>;
  at: Date;
}

/** Who did what from the dashboard: sign-ins (failed ones too) and every action. */
@Injectable()
export class AuditLogService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async record(entry: {
    operator: string;
    sessionId: string;
    action: string;
    target?: string;
    outcome: string;
    detail?: Record<string, unknown>;
  }): Promise<void> {
    await this.db.query(
      `INSERT INTO dashboard_audit_log (operator, session_id, action, target, outcome, detail)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        entry.operator.slice(0, 100),
        entry.sessionId,
        entry.action,
        entry.target ?? null,
        entry.outcome,
        JSON.stringify(entry.detail ?? {}),
      ],
    );
  }

  async recent(limit = 100): Promise<AuditEntry[]> {
    const rows: {
      id: string;
      operator: string;
      session_id: string;
      action: string;
      target: string | null;
      outcome: string;
      detail: Record<string, unknown>;
      at: Date;
    }[] = await this.db.query(
      `SELECT id::text AS id, operator, session_id, action, target, outcome, detail, at
         FROM dashboard_audit_log ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      id: r.id,
      operator: r.operator,
      sessionId: r.session_id,
      action: r.action,
      target: r.target,
      outcome: r.outcome,
      detail: r.detail,
      at: r.at,
    }));
  }
}
