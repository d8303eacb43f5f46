import { Initial1763900000000 } from './1763900000000-Initial';
import { InboxRefundsRecurring1763990000000 } from './1763990000000-InboxRefundsRecurring';
import { ConnectorSubscriptions1764200000000 } from './1764200000000-ConnectorSubscriptions';
import { SubscriptionPaymentDetails1764300000000 } from './1764300000000-SubscriptionPaymentDetails';
import { ReconcileSchedule1764400000000 } from './1764400000000-ReconcileSchedule';
import { InboxLeaseToken1764450000000 } from './1764450000000-InboxLeaseToken';
import { OutboxFailureReason1764700000000 } from './1764700000000-OutboxFailureReason';
import { ResumableRequests1764810000000 } from './1764810000000-ResumableRequests';
import { GatewaySubscriptions1764820000000 } from './1764820000000-GatewaySubscriptions';
import { DashboardTimeline1764860000000 } from './1764860000000-DashboardTimeline';
import { ExternallyManagedCleeng1764910000000 } from './1764910000000-ExternallyManagedCleeng';
import { OutboxPendingIndex1764990000000 } from './1764990000000-OutboxPendingIndex';
import { InboxLanes1765000000000 } from './1765000000000-InboxLanes';
import { PaymentsExternalIndexDropped1765100000000 } from './1765100000000-PaymentsExternalIndexDropped';

/** Every migration, in order. Listed explicitly so the same list works from src (tests) and dist. */
export const MIGRATIONS = [
  Initial1763900000000,
  InboxRefundsRecurring1763990000000,
  ConnectorSubscriptions1764200000000,
  SubscriptionPaymentDetails1764300000000,
  ReconcileSchedule1764400000000,
  InboxLeaseToken1764450000000,
  OutboxFailureReason1764700000000,
  ResumableRequests1764810000000,
  GatewaySubscriptions1764820000000,
  DashboardTimeline1764860000000,
  ExternallyManagedCleeng1764910000000,
  OutboxPendingIndex1764990000000,
  InboxLanes1765000000000,
  PaymentsExternalIndexDropped1765100000000,
];
