import { Initial1763900000000 } from './1763900000000-Initial';
import { InboxRefundsRecurring1763990000000 } from './1763990000000-InboxRefundsRecurring';

/** Every migration, in order. Listed explicitly so the same list works from src (tests) and dist. */
export const MIGRATIONS = [Initial1763900000000, InboxRefundsRecurring1763990000000];
