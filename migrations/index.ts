import { Initial1763900000000 } from './1763900000000-Initial';

/** Every migration, in order. Listed explicitly so the same list works from src (tests) and dist. */
export const MIGRATIONS = [Initial1763900000000];
