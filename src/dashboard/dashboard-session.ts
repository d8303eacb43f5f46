import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../common/crypto/constant-time';

export const SESSION_COOKIE = 'dashboard_session';
export const LOGIN_COOKIE = 'dashboard_login';
/** An operator session lasts a working day; signing in again is cheap. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface DashboardSession {
  /** random per sign-in: the audit log and the CSRF token name it */
  id: string;
  /** who signed in (the name typed at the login form; the operator key itself is shared) */
  operator: string;
  expiresAt: number;
}

/**
 * Stateless signed sessions: the cookie holds `{id, operator, expiresAt}` and an HMAC under a key derived from
 * ENCRYPTION_KEY and the operator key, so rotating OPERATOR_KEY ends every session at once. The CSRF token is
 * an HMAC of the session id under a separate key: a page can only post with a token it was given.
 */
export class SessionSigner {
  private readonly sessionKey: Buffer;
  private readonly csrfKey: Buffer;

  constructor(encryptionKey: Buffer, operatorKey: string) {
    const operatorKeyHash = createHash('sha256').update(operatorKey).digest('hex');
    this.sessionKey = derive(encryptionKey, `dashboard-session:${operatorKeyHash}`);
    this.csrfKey = derive(encryptionKey, `dashboard-csrf:${operatorKeyHash}`);
  }

  issue(operator: string, now: number): { session: DashboardSession; cookie: string } {
    const session = { id: randomBytes(16).toString('hex'), operator, expiresAt: now + SESSION_TTL_MS };
    const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
    return { session, cookie: `${payload}.${this.sign(payload)}` };
  }

  /** The session a cookie carries, or undefined when it is missing, forged, malformed or expired. */
  verify(cookie: string | undefined, now: number): DashboardSession | undefined {
    if (!cookie || cookie.length > 1000) {
      return undefined;
    }
    const [payload, signature, extra] = cookie.split('.');
    if (!payload || !signature || extra !== undefined || !constantTimeEqual(signature, this.sign(payload))) {
      return undefined;
    }
    try {
      const parsed = JSON.parse(
        Buffer.from(payload, 'base64url').toString('utf8'),
      ) as Partial<DashboardSession>;
      if (
        typeof parsed.id !== 'string' ||
        typeof parsed.operator !== 'string' ||
        typeof parsed.expiresAt !== 'number' ||
        parsed.expiresAt <= now
      ) {
        return undefined;
      }
      return { id: parsed.id, operator: parsed.operator, expiresAt: parsed.expiresAt };
    } catch {
      return undefined;
    }
  }

  csrfToken(session: DashboardSession): string {
    return createHmac('sha256', this.csrfKey).update(session.id).digest('base64url');
  }

  csrfValid(session: DashboardSession, presented: unknown): boolean {
    return typeof presented === 'string' && constantTimeEqual(presented, this.csrfToken(session));
  }

  /** Signs a confirmation shown after a redirect, so a crafted link cannot put its own text on a page. */
  flashSignature(session: DashboardSession, message: string): string {
    return createHmac('sha256', this.csrfKey).update(`flash:${session.id}:${message}`).digest('base64url');
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.sessionKey).update(payload).digest('base64url');
  }
}

function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `connector:${purpose}`, 32));
}

/** Cookies from a Cookie header (no dependency needed for name=value pairs). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) {
      const name = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      try {
        cookies[name] = decodeURIComponent(value);
      } catch {
        // a value we did not set: ignored
      }
    }
  }
  return cookies;
}

export function newLoginNonce(): string {
  return randomBytes(16).toString('base64url');
}
