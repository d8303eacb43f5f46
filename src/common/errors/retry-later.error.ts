/**
 * The work cannot be done *yet*: an event arrived before the local row it refers to, or an upstream
 * is briefly unavailable. Background workers retry it with backoff; it is not a bug.
 */
export class RetryLaterError extends Error {}
