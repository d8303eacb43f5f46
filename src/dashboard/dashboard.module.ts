import { Module } from '@nestjs/common';
import { InboxModule } from '../inbox/inbox.module';
import { OutboxModule } from '../outbox/outbox.module';
import { AuditLogService } from './audit-log.service';
import { DashboardSessionGuard, SessionSignerProvider } from './dashboard-auth';
import { DashboardController } from './dashboard.controller';
import { DashboardQueries } from './dashboard.queries';
import { GatewayCallRecorderService } from './gateway-call-recorder';

/** The operator dashboard (/dashboard) and the gateway-call summaries its payment timeline reads. */
@Module({
  imports: [InboxModule, OutboxModule],
  controllers: [DashboardController],
  providers: [
    SessionSignerProvider,
    DashboardSessionGuard,
    DashboardQueries,
    AuditLogService,
    GatewayCallRecorderService,
  ],
})
export class DashboardModule {}
