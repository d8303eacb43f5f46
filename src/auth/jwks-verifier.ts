import { Injectable, Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  JWTVerifyGetKey,
  JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import { APP_CONFIG, AppConfig } from '../config/app-config';

export class InvalidTokenError extends Error {}

export interface JwksVerifierOptions {
  jwksUrl: string;
  /** `iss` the token must carry; unchecked when unset */
  issuer?: string;
  /** `aud` the token must carry; unchecked when unset */
  audience?: string;
  /** an unknown `kid` refetches the JWKS at most once per this long */
  cooldownMs: number;
  /** cached keys are trusted this long; after that they must be refetched (or verification fails) */
  cacheMaxAgeMs: number;
  /** after a failed fetch, requests that would fetch fail fast for this long instead of waiting on the JWKS */
  failureBackoffMs: number;
  timeoutMs: number;
}

export const DEFAULT_JWKS_TIMINGS = {
  cooldownMs: 30_000,
  cacheMaxAgeMs: 10 * 60_000,
  failureBackoffMs: 5_000,
  timeoutMs: 5_000,
} as const;

const CLOCK_TOLERANCE_S = 30;

/** jose errors that mean "the token names no usable key", as opposed to "the JWKS could not be fetched". */
const KEY_SELECTION_ERRORS = [
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JOSENotSupported,
  errors.JOSEAlgNotAllowed,
];

/**
 * RS256 customer tokens (Cleeng MediaStore style, `customerId` claim) verified with `jose` against a
 * remote JWKS. jose caches the set (cacheMaxAge), refetches on an unknown `kid` at most once per
 * cooldown and coalesces concurrent fetches; it does not remember a failed fetch, so that part is here.
 */
@Injectable()
export class JwksVerifier {
  private readonly logger = new Logger(JwksVerifier.name);
  private readonly remote: ReturnType<typeof createRemoteJWKSet>;
  private readonly verifyOptions: JWTVerifyOptions;
  private failedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: JwksVerifierOptions) {
    this.remote = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: options.cooldownMs,
      cacheMaxAge: options.cacheMaxAgeMs,
      timeoutDuration: options.timeoutMs,
    });
    this.verifyOptions = {
      algorithms: ['RS256'],
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp'],
      ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
      ...(options.audience !== undefined ? { audience: options.audience } : {}),
    };
  }

  async verifyCustomerToken(token: string): Promise<string> {
    let customerId: unknown;
    try {
      const { payload } = await jwtVerify(token, this.key, this.verifyOptions);
      customerId = payload.customerId;
    } catch (err) {
      throw err instanceof InvalidTokenError ? err : new InvalidTokenError(describe(err));
    }
    if (typeof customerId !== 'string' && typeof customerId !== 'number') {
      throw new InvalidTokenError('token has no customerId');
    }
    return String(customerId);
  }

  private readonly key: JWTVerifyGetKey = async (header, token) => {
    if (Date.now() - this.failedAt < this.options.failureBackoffMs) {
      // the JWKS just failed: answer from fresh cached keys only, never queue behind another fetch
      const cached = this.remote.fresh ? this.remote.jwks() : undefined;
      if (cached === undefined) {
        throw new InvalidTokenError('signing keys unavailable');
      }
      return createLocalJWKSet(cached)(header, token);
    }
    try {
      return await this.remote(header, token);
    } catch (err) {
      if (KEY_SELECTION_ERRORS.some((type) => err instanceof type)) {
        throw err;
      }
      this.failedAt = Date.now();
      this.logger.warn(`could not fetch JWKS: ${err instanceof Error ? err.message : String(err)}`);
      throw new InvalidTokenError('signing keys unavailable');
    }
  };
}

export function jwksVerifierFactory(config: AppConfig): JwksVerifier {
  return new JwksVerifier({
    jwksUrl: config.customerJwksUrl,
    issuer: config.customerJwtIssuer,
    audience: config.customerJwtAudience,
    ...DEFAULT_JWKS_TIMINGS,
  });
}

export const jwksVerifierProvider = {
  provide: JwksVerifier,
  useFactory: jwksVerifierFactory,
  inject: [APP_CONFIG],
};

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) {
    return 'token expired';
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    return `claim ${err.claim} rejected: ${err.reason}`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return 'bad token signature';
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return 'unknown signing key';
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return 'unsupported token algorithm';
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return 'malformed token';
  }
  return 'token rejected';
}
