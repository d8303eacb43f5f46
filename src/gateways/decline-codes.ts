/**
 * Normalised decline codes: Cleverbridge's vocabulary is the common language across gateways.
 * The class decides what automation may do next:
 *  - hard: never retry automatically (the customer must act)
 *  - soft: retry on the dunning schedule
 *  - technical: retry soon with backoff under the SAME idempotency key
 */
export const DECLINE_CODES = {
  PAY_CEX: { class: 'hard', reason: 'Card expired' },
  PAY_CLE: { class: 'soft', reason: 'Card limit exceeded' },
  PAY_DEC: { class: 'soft', reason: 'Payment declined' },
  PAY_REJ: { class: 'hard', reason: 'Rejected by issuer' },
  FRA_REJ: { class: 'hard', reason: 'Rejected as suspected fraud' },
  PAY_SCO: { class: 'hard', reason: 'Security code check failed' },
  CCA_EXP: { class: 'hard', reason: 'Card expired and cannot be updated' },
  GW_TIMEOUT: { class: 'technical', reason: 'Gateway did not answer in time' },
  GW_ERROR: { class: 'technical', reason: 'Gateway technical error' },
} as const satisfies Record<string, { class: DeclineClass; reason: string }>;

export type DeclineClass = 'hard' | 'soft' | 'technical';
export type DeclineCode = keyof typeof DECLINE_CODES;

export interface Decline {
  code: DeclineCode;
  class: DeclineClass;
  /** Human-readable reason, also reported to Cleeng as `rejectedReason`. */
  reason: string;
  /** The gateway's own code, kept for support and analytics. */
  rawCode?: string;
  rawReason?: string;
}

export function decline(code: DeclineCode, raw?: { code?: string; reason?: string }): Decline {
  const entry = DECLINE_CODES[code];
  return {
    code,
    class: entry.class,
    reason: entry.reason,
    ...(raw?.code !== undefined ? { rawCode: raw.code } : {}),
    ...(raw?.reason !== undefined ? { rawReason: raw.reason } : {}),
  };
}
