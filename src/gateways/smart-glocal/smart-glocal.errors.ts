import { Decline, decline, DeclineCode } from '../decline-codes';
import type { SgError } from './smart-glocal.types';

/**
 * Smart Glocal's error codes in our words. Its catalogue is not public (external-apis.md §4): these are the
 * codes the sandbox answers with, named as a card acquirer names them; anything else is PAY_DEC with the raw
 * code kept, so support can read it and the table can grow.
 */
const DECLINES: Readonly<Record<string, DeclineCode>> = {
  card_declined: 'PAY_DEC',
  do_not_honor: 'PAY_DEC',
  authentication_failed: 'PAY_DEC',
  insufficient_funds: 'PAY_CLE',
  limit_exceeded: 'PAY_CLE',
  expired_card: 'PAY_CEX',
  incorrect_cvc: 'PAY_SCO',
  card_restricted: 'PAY_REJ',
  card_blocked: 'PAY_REJ',
  fraud_suspected: 'FRA_REJ',
  provider_unavailable: 'GW_ERROR',
};

/** Errors that say our request itself was wrong (a bug, bad input): never a decline to report. */
const REQUEST_ERRORS = new Set([
  'invalid_request',
  'invalid_signature',
  'unknown_project',
  'session_not_found',
  'invalid_session_status',
]);

export function isRequestError(error: SgError | undefined): boolean {
  return error?.code !== undefined && REQUEST_ERRORS.has(error.code);
}

export function mapSgDecline(error: SgError | undefined): Decline {
  const code = error?.code;
  return decline((code !== undefined ? DECLINES[code] : undefined) ?? 'PAY_DEC', {
    ...(code !== undefined ? { code } : {}),
    ...(error?.description !== undefined ? { reason: error.description } : {}),
  });
}
