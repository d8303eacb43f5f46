import { Inject, Injectable, Logger } from '@nestjs/common';
import { createPublicKey, JsonWebKey, KeyObject, verify } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { HttpClient } from '../common/http/http-client';
import { Clock } from '../common/clock/clock';

export class InvalidTokenError extends Error {}

interface JwtHeader {
  alg?: string;
  kid?: string;
}

interface JwtClaims {
  customerId?: unknown;
  exp?: unknown;
  nbf?: unknown;
}

const JWKS_TTL_MS = 5 * 60_000;
const CLOCK_SKEW_S = 30;

/** RS256 customer tokens (Cleeng MediaStore style, `customerId` claim) verified against a cached JWKS. */
@Injectable()
export class JwksVerifier {
  private readonly logger = new Logger(JwksVerifier.name);
  private readonly http = new HttpClient('jwks');
  private keys = new Map<string, KeyObject>();
  private fetchedAt = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async verifyCustomerToken(token: string): Promise<string> {
    const parts = token.split('.');
    if (parts.length !== 3) {
      throw new InvalidTokenError('malformed token');
    }
    const [h, p, s] = parts as [string, string, string];
    const header = decodeJson<JwtHeader>(h);
    if (header.alg !== 'RS256') {
      throw new InvalidTokenError('unsupported token algorithm');
    }
    const key = await this.key(header.kid);
    const ok = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
    if (!ok) {
      throw new InvalidTokenError('bad token signature');
    }
    const claims = decodeJson<JwtClaims>(p);
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_S < now) {
      throw new InvalidTokenError('token expired');
    }
    if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_S > now) {
      throw new InvalidTokenError('token not yet valid');
    }
    if (typeof claims.customerId !== 'string' && typeof claims.customerId !== 'number') {
      throw new InvalidTokenError('token has no customerId');
    }
    return String(claims.customerId);
  }

  private async key(kid: string | undefined): Promise<KeyObject> {
    const stale = this.clock.now().getTime() - this.fetchedAt > JWKS_TTL_MS;
    if (stale || (kid !== undefined && !this.keys.has(kid))) {
      await this.refresh();
    }
    const key = kid !== undefined ? this.keys.get(kid) : this.keys.values().next().value;
    if (!key) {
      throw new InvalidTokenError('unknown signing key');
    }
    return key;
  }

  private async refresh(): Promise<void> {
    try {
      const res = await this.http.request<{ keys?: (JsonWebKey & { kid?: string })[] }>({
        method: 'GET',
        url: this.config.customerJwksUrl,
        timeoutMs: 5000,
      });
      if (res.status !== 200 || !Array.isArray(res.body?.keys)) {
        throw new Error(`JWKS answered ${res.status}`);
      }
      const keys = new Map<string, KeyObject>();
      for (const jwk of res.body.keys) {
        if (jwk.kty === 'RSA') {
          keys.set(jwk.kid ?? 'default', createPublicKey({ key: jwk, format: 'jwk' }));
        }
      }
      this.keys = keys;
      this.fetchedAt = this.clock.now().getTime();
    } catch (err) {
      this.logger.warn(`could not refresh JWKS: ${err instanceof Error ? err.message : String(err)}`);
      if (this.keys.size === 0) {
        throw new InvalidTokenError('signing keys unavailable');
      }
    }
  }
}

function decodeJson<T>(part: string): T {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as T;
  } catch {
    throw new InvalidTokenError('malformed token');
  }
}
