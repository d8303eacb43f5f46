import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { InvalidDurationError, parseDuration, parseDurationList } from '../common/time/durations';
import { checkCronExpression } from '../common/time/cron-expression';
import { AppConfig } from './app-config';
import { EnvSchema } from './env.schema';

export class ConfigError extends Error {}

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

function validateSections(
  sections: readonly ConfigSection[],
  source: Record<string, string | undefined>,
): Map<string, object> {
  const present = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value !== ''),
  );
  const validated = new Map<string, object>();
  for (const section of sections) {
    if (validated.has(section.name)) {
      throw new ConfigError(`config section "${section.name}" is declared twice`);
    }
    validated.set(section.name, validateSection(section.name, section.schema, present));
  }
  return validated;
}

function required(value: string | undefined, name: string): string {
  if (value !== undefined && value !== '') {
    return value;
  }
  throw new ConfigError(`${name} is required`);
}

function validatedEnv(source: Record<string, string | undefined>): EnvSchema {
  const env = plainToInstance(EnvSchema, source, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${flatten(errors).join('\n  ')}`);
  }
  return env;
}

/** What must be known before the rest of the configuration: whether the sandbox is loaded, and where the app is. */
export interface RuntimeMode {
  production: boolean;
  sandbox: boolean;
  port: number;
  publicUrl: string;
  dataDir: string;
  /** unset: the embedded database in dataDir */
  databaseUrl?: string;
}

/**
 * Resolves SANDBOX (default: on unless NODE_ENV=production), PORT, PUBLIC_URL and DATA_DIR. Refuses the
 * sandbox in production: its keys and secrets are public.
 */
export function resolveRuntimeMode(source: Record<string, string | undefined> = process.env): RuntimeMode {
  return runtimeMode(validatedEnv(source));
}

function runtimeMode(env: EnvSchema): RuntimeMode {
  const production = env.NODE_ENV === 'production';
  const sandbox = env.SANDBOX ?? !production;
  if (production && sandbox) {
    throw new ConfigError(
      'SANDBOX=true is refused with NODE_ENV=production: the sandbox emulators and their public keys must never ' +
        'serve real traffic. Set SANDBOX=false and every vendor variable, or run the sandbox outside production.',
    );
  }
  return {
    production,
    sandbox,
    port: env.PORT,
    publicUrl: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ''),
    dataDir: env.DATA_DIR,
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
  };
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
  // every variable is explicit here: with SANDBOX=true, bootstrap has overlaid the sandbox's own defaults
  const env = validatedEnv(source);
  const { sandbox, publicUrl, production } = runtimeMode(env);
  const encryptionKey = Buffer.from(required(env.ENCRYPTION_KEY, 'ENCRYPTION_KEY'), 'base64');
  const apiKeys = required(env.API_KEYS, 'API_KEYS')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);

  return {
    env: env.NODE_ENV,
    port: env.PORT,
    publicUrl,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    databaseStatementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
    databaseConnectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
    databasePreparedStatements: env.DATABASE_PREPARED_STATEMENTS,
    dataDir: env.DATA_DIR,
    sandbox,
    rateLimit: {
      perMinute: env.RATE_LIMIT_PER_MINUTE,
      tokenisePerHour: env.TOKENISE_RATE_LIMIT_PER_HOUR,
    },
    docsEnabled: env.DOCS_ENABLED ?? !production,
    apiKeys,
    operatorKey: required(env.OPERATOR_KEY, 'OPERATOR_KEY'),
    customerJwksUrl: required(env.CUSTOMER_JWKS_URL, 'CUSTOMER_JWKS_URL'),
    customerJwtIssuer: env.CUSTOMER_JWT_ISSUER,
    customerJwtAudience: env.CUSTOMER_JWT_AUDIENCE,
    encryptionKey,
    logLevel: env.LOG_LEVEL,
    logRequestContext: env.LOG_REQUEST_CONTEXT,
    cleeng: {
      apiUrl: required(env.CLEENG_API_URL, 'CLEENG_API_URL').replace(/\/$/, ''),
      publisherToken: required(env.CLEENG_PUBLISHER_TOKEN, 'CLEENG_PUBLISHER_TOKEN'),
      webhookSecret: required(env.CLEENG_WEBHOOK_SECRET, 'CLEENG_WEBHOOK_SECRET'),
      webhookSignatureHeader: env.CLEENG_WEBHOOK_SIGNATURE_HEADER.toLowerCase(),
      timeoutMs: env.CLEENG_TIMEOUT_MS,
      paymentMethods: parsePaymentMethods(required(env.CLEENG_PAYMENT_METHODS, 'CLEENG_PAYMENT_METHODS')),
    },
    sections: validateSections(sections, source),
    gatewayTimeoutMs: env.GATEWAY_TIMEOUT_MS,
    gatewayRateLimits: gatewayValues('GATEWAY_RATE_LIMITS', 'calls-per-second', env.GATEWAY_RATE_LIMITS),
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
      leaseMs: env.INBOX_LEASE_MS,
      concurrency: env.INBOX_CONCURRENCY,
      gatewayConcurrency: Math.min(env.INBOX_GATEWAY_CONCURRENCY, env.INBOX_CONCURRENCY),
      gatewayConcurrencyByGateway: new Map(
        [
          ...gatewayValues(
            'INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY',
            'events',
            env.INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY,
          ),
        ].map(([gateway, n]) => [gateway, Math.min(n, env.INBOX_CONCURRENCY)]),
      ),
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    rebill: rebillSettings(env),
    reconciler: {
      intervalMs: env.RECONCILE_INTERVAL_MS,
      unknownAfterMs: env.RECONCILE_UNKNOWN_AFTER_MS,
      cancelAfterMs: env.RECONCILE_CANCEL_AFTER_MS,
      batchSize: env.RECONCILE_BATCH_SIZE,
      backoffMaxMs: env.RECONCILE_BACKOFF_MAX_MS,
      actionExpiryMs: env.PAYMENT_ACTION_EXPIRY_MS,
    },
    ...(env.SHOPPER_RETURN_URL ? { shopperReturnUrl: env.SHOPPER_RETURN_URL } : {}),
  };
}

/** `gateway=value,...` with whole values of at least 1, each gateway once (`unit` names the value in errors). */
function parseGatewayValues(raw: string, unit: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const entry of raw.split(',').map((e) => e.trim())) {
    if (entry === '') {
      continue;
    }
    const match = /^([a-z0-9-]+)=(\d+)$/.exec(entry);
    const value = match ? Number(match[2]) : NaN;
    if (!match || !Number.isSafeInteger(value) || value < 1) {
      throw new Error(`"${entry}" is not gateway=${unit} with a whole number of at least 1`);
    }
    if (values.has(match[1]!)) {
      throw new Error(`"${match[1]}" is listed twice`);
    }
    values.set(match[1]!, value);
  }
  return values;
}

function gatewayValues(variable: string, unit: string, raw: string | undefined): Map<string, number> {
  try {
    return parseGatewayValues(raw ?? '', unit);
  } catch (err) {
    throw new ConfigError(`${variable}: ${(err as Error).message}`);
  }
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
