import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';

/** `1|true|yes` (any case) -> true; for boolean variables, also in gateway option schemas. */
export const toBool = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? ['1', 'true', 'yes'].includes(value.toLowerCase()) : value;

/** http(s) URL with a protocol; hosts without a TLD allowed (localhost, service names). */
export const urlOpts = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/**
 * Raw environment as validated at boot. Every variable the core reads is declared here; each gateway
 * declares its own block (its options schema) and hands it to `loadConfig` as a ConfigSection.
 * Defaults that depend on other variables are resolved in config.factory.ts.
 */
export class EnvSchema {
  @IsIn(['development', 'test', 'production'])
  NODE_ENV: 'development' | 'test' | 'production' = 'development';

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsOptional()
  @IsUrl(urlOpts)
  PUBLIC_URL?: string;

  /** where the default 3DS return route sends the shopper's browser (`?paymentId=` appended) */
  @IsOptional()
  @IsUrl(urlOpts)
  SHOPPER_RETURN_URL?: string;

  @ValidateIf((e: EnvSchema) => e.NODE_ENV === 'production' || e.DATABASE_URL !== undefined)
  @Matches(/^postgres(ql)?:\/\//, {
    message: 'DATABASE_URL must be a postgres:// URL (required in production)',
  })
  DATABASE_URL?: string;

  @IsString()
  DATA_DIR = './.data';

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE?: number;

  /** server-side cap per statement; 0 = none (not enforced by the embedded PGlite) */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  DATABASE_STATEMENT_TIMEOUT_MS = 30000;

  /** how long to wait for a new connection or a free pooled one; 0 = forever */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  DATABASE_CONNECT_TIMEOUT_MS = 10000;

  /** statements with parameters as named prepared statements (off for the embedded PGlite; turn off behind a
   * transaction-mode pooler that cannot keep them) */
  @Transform(toBool)
  @IsBoolean()
  DATABASE_PREPARED_STATEMENTS = true;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  SANDBOX?: boolean;

  /** requests per minute per caller (API key, else customer, else IP) on public routes */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_PER_MINUTE = 1200;

  /** zero-amount tokenisations (POST /v1/payment-details) per hour per caller: card testing */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  TOKENISE_RATE_LIMIT_PER_HOUR = 60;

  /** OpenAPI UI and JSON at /docs; default on except in production */
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  DOCS_ENABLED?: boolean;

  @IsOptional()
  @IsString()
  API_KEYS?: string;

  @IsOptional()
  @IsString()
  OPERATOR_KEY?: string;

  @IsOptional()
  @IsUrl(urlOpts)
  CUSTOMER_JWKS_URL?: string;

  @IsOptional()
  @IsString()
  CUSTOMER_JWT_ISSUER?: string;

  @IsOptional()
  @IsString()
  CUSTOMER_JWT_AUDIENCE?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'ENCRYPTION_KEY must be 32 bytes, base64-encoded' })
  ENCRYPTION_KEY?: string;

  @IsOptional()
  @IsUrl(urlOpts)
  CLEENG_API_URL?: string;

  @IsOptional()
  @IsString()
  CLEENG_PUBLISHER_TOKEN?: string;

  @IsOptional()
  @IsString()
  CLEENG_WEBHOOK_SECRET?: string;

  @IsString()
  CLEENG_WEBHOOK_SIGNATURE_HEADER = 'X-Cleeng-Signature';

  @IsOptional()
  @Matches(/^[a-z][a-z0-9-]*:\d+(,[a-z][a-z0-9-]*:\d+)*$/, {
    message: 'CLEENG_PAYMENT_METHODS must look like adyen:101,smart-glocal:102',
  })
  CLEENG_PAYMENT_METHODS?: string;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  GATEWAY_TIMEOUT_MS = 15000;

  /** `gateway=calls-per-second,...` over each gateway's default ceiling; checked in config.factory.ts */
  @IsOptional()
  @IsString()
  GATEWAY_RATE_LIMITS?: string;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  CLEENG_TIMEOUT_MS = 10000;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  OUTBOX_POLL_INTERVAL_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  OUTBOX_BACKOFF_BASE_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  OUTBOX_BACKOFF_MAX_MS = 300000;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  INBOX_POLL_INTERVAL_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  INBOX_MAX_ATTEMPTS = 12;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  INBOX_BACKOFF_BASE_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  INBOX_BACKOFF_MAX_MS = 600000;

  /** how long a claimed inbox event stays reserved without a heartbeat (renewed while its handler runs) */
  @Type(() => Number)
  @IsInt()
  @Min(300)
  INBOX_LEASE_MS = 120000;

  /** webhook events processed at once per instance (their handlers mostly wait on gateways and Cleeng) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  INBOX_CONCURRENCY = 16;

  /** of those, at most this many whose handling calls the same gateway (one slow gateway cannot take every slot) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  INBOX_GATEWAY_CONCURRENCY = 8;

  /** `gateway=events,...` over INBOX_GATEWAY_CONCURRENCY for gateways of another latency; checked in config.factory.ts */
  @IsOptional()
  @IsString()
  INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY?: string;

  /** on SIGTERM: how long in-flight work may take to finish before the pool closes */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  SHUTDOWN_TIMEOUT_MS = 25000;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  RECONCILE_INTERVAL_MS = 30000;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  RECONCILE_UNKNOWN_AFTER_MS = 10000;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  RECONCILE_CANCEL_AFTER_MS = 900000;

  /** how many open payments / refunds one reconciler pass checks */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  RECONCILE_BATCH_SIZE = 50;

  /** cap of the backoff between two checks of a row the reconciler could not resolve */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  RECONCILE_BACKOFF_MAX_MS = 600000;

  /** an `action_required` payment (3DS / redirect) the shopper did not complete is voided after this */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  PAYMENT_ACTION_EXPIRY_MS = 3600000;

  /** cron expression (5 or 6 fields) or `off`; checked in config.factory.ts */
  @IsString()
  REBILL_CRON = '* * * * *';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  REBILL_BATCH_SIZE = 100;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  REBILL_CONCURRENCY = 10;

  /** comma-separated offsets like `1d,3d,7d`; checked in config.factory.ts */
  @IsString()
  DUNNING_SCHEDULE = '1d,3d,7d';

  @IsString()
  REBILL_RETRY_GRACE = '2h';

  @IsString()
  REBILL_LEASE = '5m';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** bind the services' lines written inside an API request to that request's id (Node 20's promise hooks for the
   * whole process: ~9 % more CPU per purchase, docs/decisions.md) */
  @Transform(toBool)
  @IsBoolean()
  LOG_REQUEST_CONTEXT = false;
}
