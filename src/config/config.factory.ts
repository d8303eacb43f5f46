import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { GATEWAY_IDS, GatewayId, isGatewayId } from '../gateways/gateway-ids';
import { InvalidDurationError, parseDuration, parseDurationList } from '../common/time/durations';
import { checkCronExpression } from '../common/time/cron-expression';
import { AppConfig } from './app-config';
import { EnvSchema } from './env.schema';

export class ConfigError extends Error {}

const SANDBOX_PAYMENT_METHODS = 'adyen:101,smart-glocal:102,smartpay:103,cleverbridge:104';
/** Fixed sandbox secrets: the emulators sign and verify with the same values. */
export const SANDBOX_SECRETS = {
  apiKey: 'sandbox-key',
  operatorKey: 'sandbox-operator',
  cleengPublisherToken: 'sandbox-publisher-token',
  cleengWebhookSecret: 'sandbox-cleeng-webhook-secret',
  adyenApiKey: 'sandbox-adyen-api-key',
  adyenMerchantAccount: 'SandboxMerchantECOM',
  adyenHmacKey: '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056',
  cleverbridgeUsername: 'sandbox-cleverbridge-user',
  cleverbridgePassword: 'sandbox-cleverbridge-password',
  cleverbridgeNotifyUsername: 'sandbox-cleverbridge-notify',
  cleverbridgeNotifyPassword: 'sandbox-cleverbridge-notify-password',
} as const;

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `${e.property}: ${m}`));
}

function parsePaymentMethods(raw: string): Map<GatewayId, number> {
  const map = new Map<GatewayId, number>();
  for (const pair of raw.split(',')) {
    const [gateway, id] = pair.split(':');
    if (!gateway || !isGatewayId(gateway)) {
      throw new ConfigError(
        `CLEENG_PAYMENT_METHODS: unknown gateway "${gateway ?? ''}" (known: ${GATEWAY_IDS.join(', ')})`,
      );
    }
    map.set(gateway, Number(id));
  }
  return map;
}

/** Sandbox only: a key generated once and kept in DATA_DIR so tokens stay readable across restarts. */
function sandboxEncryptionKey(dataDir: string): Buffer {
  const file = join(dataDir, 'sandbox-encryption.key');
  if (existsSync(file)) {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600 });
  return key;
}

function required<T>(value: T | undefined, name: string, sandbox: boolean, fallback: T): T {
  if (value !== undefined && value !== '') {
    return value;
  }
  if (sandbox) {
    return fallback;
  }
  throw new ConfigError(`${name} is required when SANDBOX is false`);
}

/** Validates process.env (or the given record) and resolves defaults. Throws ConfigError naming the bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): AppConfig {
  const env = plainToInstance(EnvSchema, source, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${flatten(errors).join('\n  ')}`);
  }
  const production = env.NODE_ENV === 'production';
  const sandbox = env.SANDBOX ?? !production;
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '');
  const sandboxUrl = `${publicUrl}/sandbox`;

  let encryptionKey: Buffer;
  let encryptionKeyGenerated = false;
  if (env.ENCRYPTION_KEY) {
    encryptionKey = Buffer.from(env.ENCRYPTION_KEY, 'base64');
  } else if (sandbox && !production) {
    encryptionKey = sandboxEncryptionKey(env.DATA_DIR);
    encryptionKeyGenerated = true;
  } else {
    throw new ConfigError('ENCRYPTION_KEY is required outside the sandbox (32 bytes, base64)');
  }

  const apiKeys = required(env.API_KEYS, 'API_KEYS', sandbox, SANDBOX_SECRETS.apiKey)
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);

  return {
    env: env.NODE_ENV,
    port: env.PORT,
    publicUrl,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    dataDir: env.DATA_DIR,
    sandbox,
    apiKeys,
    operatorKey: required(env.OPERATOR_KEY, 'OPERATOR_KEY', sandbox, SANDBOX_SECRETS.operatorKey),
    customerJwksUrl: required(
      env.CUSTOMER_JWKS_URL,
      'CUSTOMER_JWKS_URL',
      sandbox,
      `${sandboxUrl}/auth/.well-known/jwks.json`,
    ),
    customerJwtIssuer: env.CUSTOMER_JWT_ISSUER,
    customerJwtAudience: env.CUSTOMER_JWT_AUDIENCE,
    encryptionKey,
    encryptionKeyGenerated,
    logLevel: env.LOG_LEVEL,
    cleeng: {
      apiUrl: required(env.CLEENG_API_URL, 'CLEENG_API_URL', sandbox, `${sandboxUrl}/cleeng/3.1`).replace(
        /\/$/,
        '',
      ),
      publisherToken: required(
        env.CLEENG_PUBLISHER_TOKEN,
        'CLEENG_PUBLISHER_TOKEN',
        sandbox,
        SANDBOX_SECRETS.cleengPublisherToken,
      ),
      webhookSecret: required(
        env.CLEENG_WEBHOOK_SECRET,
        'CLEENG_WEBHOOK_SECRET',
        sandbox,
        SANDBOX_SECRETS.cleengWebhookSecret,
      ),
      webhookSignatureHeader: env.CLEENG_WEBHOOK_SIGNATURE_HEADER.toLowerCase(),
      timeoutMs: env.CLEENG_TIMEOUT_MS,
      paymentMethods: parsePaymentMethods(
        required(env.CLEENG_PAYMENT_METHODS, 'CLEENG_PAYMENT_METHODS', sandbox, SANDBOX_PAYMENT_METHODS),
      ),
    },
    adyen: {
      apiUrl: required(env.ADYEN_API_URL, 'ADYEN_API_URL', sandbox, `${sandboxUrl}/adyen/v71`).replace(
        /\/$/,
        '',
      ),
      apiKey: required(env.ADYEN_API_KEY, 'ADYEN_API_KEY', sandbox, SANDBOX_SECRETS.adyenApiKey),
      merchantAccount: required(
        env.ADYEN_MERCHANT_ACCOUNT,
        'ADYEN_MERCHANT_ACCOUNT',
        sandbox,
        SANDBOX_SECRETS.adyenMerchantAccount,
      ),
      hmacKey: required(env.ADYEN_HMAC_KEY, 'ADYEN_HMAC_KEY', sandbox, SANDBOX_SECRETS.adyenHmacKey),
      zeroAuth: env.ADYEN_ZERO_AUTH,
    },
    cleverbridge: {
      apiUrl: required(
        env.CLEVERBRIDGE_API_URL,
        'CLEVERBRIDGE_API_URL',
        sandbox,
        `${sandboxUrl}/cleverbridge`,
      ).replace(/\/$/, ''),
      username: required(
        env.CLEVERBRIDGE_USERNAME,
        'CLEVERBRIDGE_USERNAME',
        sandbox,
        SANDBOX_SECRETS.cleverbridgeUsername,
      ),
      password: required(
        env.CLEVERBRIDGE_PASSWORD,
        'CLEVERBRIDGE_PASSWORD',
        sandbox,
        SANDBOX_SECRETS.cleverbridgePassword,
      ),
      notifyUsername: required(
        env.CLEVERBRIDGE_NOTIFY_USERNAME,
        'CLEVERBRIDGE_NOTIFY_USERNAME',
        sandbox,
        SANDBOX_SECRETS.cleverbridgeNotifyUsername,
      ),
      notifyPassword: required(
        env.CLEVERBRIDGE_NOTIFY_PASSWORD,
        'CLEVERBRIDGE_NOTIFY_PASSWORD',
        sandbox,
        SANDBOX_SECRETS.cleverbridgeNotifyPassword,
      ),
    },
    gatewayTimeoutMs: env.GATEWAY_TIMEOUT_MS,
    outbox: {
      pollIntervalMs: env.OUTBOX_POLL_INTERVAL_MS,
      backoffBaseMs: env.OUTBOX_BACKOFF_BASE_MS,
      backoffMaxMs: env.OUTBOX_BACKOFF_MAX_MS,
    },
    inbox: {
      pollIntervalMs: env.INBOX_POLL_INTERVAL_MS,
      maxAttempts: env.INBOX_MAX_ATTEMPTS,
      backoffBaseMs: env.INBOX_BACKOFF_BASE_MS,
      backoffMaxMs: env.INBOX_BACKOFF_MAX_MS,
    },
    rebill: rebillSettings(env),
    reconciler: {
      intervalMs: env.RECONCILE_INTERVAL_MS,
      unknownAfterMs: env.RECONCILE_UNKNOWN_AFTER_MS,
      cancelAfterMs: env.RECONCILE_CANCEL_AFTER_MS,
    },
  };
}

function rebillSettings(env: EnvSchema): AppConfig['rebill'] {
  const cron = env.REBILL_CRON.trim();
  const cronProblem = cron === 'off' ? undefined : checkCronExpression(cron);
  if (cronProblem) {
    throw new ConfigError(`REBILL_CRON: ${cronProblem} (or "off")`);
  }
  try {
    const leaseMs = parseDuration(env.REBILL_LEASE, 'REBILL_LEASE');
    if (leaseMs < 1_000) {
      throw new InvalidDurationError('REBILL_LEASE: must be at least 1s');
    }
    return {
      cron,
      batchSize: env.REBILL_BATCH_SIZE,
      concurrency: env.REBILL_CONCURRENCY,
      dunningScheduleMs: parseDurationList(env.DUNNING_SCHEDULE, 'DUNNING_SCHEDULE'),
      retryGraceMs: parseDuration(env.REBILL_RETRY_GRACE, 'REBILL_RETRY_GRACE'),
      leaseMs,
    };
  } catch (err) {
    if (err instanceof InvalidDurationError) {
      throw new ConfigError(err.message);
    }
    throw err;
  }
}
