import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { InvalidDurationError, parseDuration, parseDurationList } from '../common/time/durations';
import { checkCronExpression } from '../common/time/cron-expression';
import { AppConfig } from './app-config';
import { EnvSchema } from './env.schema';

export class ConfigError extends Error {}

// only the gateways this build implements: the registry refuses ids it does not know
const SANDBOX_PAYMENT_METHODS = 'adyen:101,cleverbridge:104';
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

/** `id:number,...` as a plain map; which ids exist is the gateway registry's business (checked at boot). */
function parsePaymentMethods(raw: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const pair of raw.split(',')) {
    const [gateway = '', id = ''] = pair.split(':');
    if (map.has(gateway)) {
      throw new ConfigError(`CLEENG_PAYMENT_METHODS: "${gateway}" is listed twice`);
    }
    map.set(gateway, Number(id));
  }
  return map;
}

/**
 * An env block owned by another module (e.g. one gateway's options): its class-validator schema, whose
 * property names are the variable names, so a failure names the variable.
 */
export interface ConfigSection {
  name: string;
  schema: ClassConstructor<object>;
  /**
   * SANDBOX-FALLBACK (removed when the sandbox env overlay lands): values for unset variables, used only
   * when SANDBOX is true.
   */
  sandboxFallback?: (urls: { publicUrl: string; sandboxUrl: string }) => Record<string, string>;
}

/** Validates one env block against its schema; throws ConfigError naming every bad variable. */
export function validateSection<T extends object>(
  name: string,
  schema: ClassConstructor<T>,
  source: Record<string, string | undefined>,
): T {
  const values = plainToInstance(schema, source, { exposeDefaultValues: true });
  const errors = validateSync(values, { whitelist: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new ConfigError(`Invalid configuration (${name}):\n  ${flatten(errors).join('\n  ')}`);
  }
  return values;
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

/**
 * Validates process.env (or the given record) and resolves defaults; `sections` are the env blocks of
 * other modules (bootstrap passes every gateway's), validated here the same way. Throws ConfigError naming
 * the bad variable.
 */
export function loadConfig(
  source: Record<string, string | undefined> = process.env,
  sections: readonly ConfigSection[] = [],
): AppConfig {
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
    sections: validateSections(sections, source, sandbox, { publicUrl, sandboxUrl }),
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

function validateSections(
  sections: readonly ConfigSection[],
  source: Record<string, string | undefined>,
  sandbox: boolean,
  urls: { publicUrl: string; sandboxUrl: string },
): Map<string, object> {
  const validated = new Map<string, object>();
  for (const section of sections) {
    if (validated.has(section.name)) {
      throw new ConfigError(`config section "${section.name}" is declared twice`);
    }
    const fallback = sandbox && section.sandboxFallback ? section.sandboxFallback(urls) : {};
    const present = Object.fromEntries(
      Object.entries(source).filter(([, value]) => value !== undefined && value !== ''),
    );
    validated.set(section.name, validateSection(section.name, section.schema, { ...fallback, ...present }));
  }
  return validated;
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
