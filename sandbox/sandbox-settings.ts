import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SANDBOX_MERCHANT_PRIVATE_KEY,
  SANDBOX_SMART_GLOCAL_PRIVATE_KEY,
  SANDBOX_SMART_GLOCAL_PUBLIC_KEY,
} from './smart-glocal/smart-glocal-test-keys';

/**
 * The sandbox's own secrets. The emulators sign and verify with them, and the app is pointed at them
 * through environment defaults (`sandboxEnv`), never through a fallback in the production config.
 */
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
  smartGlocalProject: 'sandbox-project',
  smartpayMerchantKey: 'sandbox-smartpay-merchant-key',
  smartpayAuthKey: 'sandbox-smartpay-auth-key',
  smartpayNotifyUsername: 'sandbox-smartpay-notify',
  smartpayNotifyPassword: 'sandbox-smartpay-notify-password',
} as const;

export const SANDBOX_PAYMENT_METHODS = 'adyen:101,smart-glocal:102,smartpay:103,cleverbridge:104';
/** The app is given only the gateways it implements: its registry refuses ids it does not know. */
const APP_PAYMENT_METHODS = SANDBOX_PAYMENT_METHODS;
const DEFAULT_CLEENG_SIGNATURE_HEADER = 'X-Cleeng-Signature';

/** What the emulators need to know: where the app is and the secrets it was given (env wins over defaults). */
export interface SandboxSettings {
  publicUrl: string;
  cleeng: {
    publisherToken: string;
    webhookSecret: string;
    /** lower case: a Node header name */
    webhookSignatureHeader: string;
    /** gateway id -> Cleeng paymentMethodId */
    paymentMethods: ReadonlyMap<string, number>;
  };
  adyen: { apiKey: string; merchantAccount: string; hmacKey: string };
  cleverbridge: {
    username: string;
    password: string;
    notifyUsername: string;
    notifyPassword: string;
    /** REST requests per second it accepts before answering 429 (Cleverbridge documents 150 per IP) */
    requestsPerSecond: number;
  };
  /** PEM: the merchant's key the emulator verifies requests with (derived from the app's private key), its own to sign */
  smartGlocal: { project: string; merchantPrivateKey: string; privateKey: string };
  smartpay: { merchantKey: string; authKey: string; notifyUsername: string; notifyPassword: string };
}

export const SANDBOX_SETTINGS = Symbol('SANDBOX_SETTINGS');

export interface SandboxEnvOptions {
  publicUrl: string;
  dataDir: string;
}

/**
 * A default for every variable the sandbox emulates: the app's *_API_URL point at the emulators and every
 * secret is the emulator's. ENCRYPTION_KEY is generated once and kept in DATA_DIR (`generatedKeyFile`).
 */
export function sandboxEnv(options: SandboxEnvOptions): Record<string, string> {
  const sandboxUrl = `${options.publicUrl}/sandbox`;
  return {
    API_KEYS: SANDBOX_SECRETS.apiKey,
    OPERATOR_KEY: SANDBOX_SECRETS.operatorKey,
    CUSTOMER_JWKS_URL: `${sandboxUrl}/auth/.well-known/jwks.json`,
    CLEENG_API_URL: `${sandboxUrl}/cleeng/3.1`,
    CLEENG_PUBLISHER_TOKEN: SANDBOX_SECRETS.cleengPublisherToken,
    CLEENG_WEBHOOK_SECRET: SANDBOX_SECRETS.cleengWebhookSecret,
    CLEENG_PAYMENT_METHODS: APP_PAYMENT_METHODS,
    ADYEN_API_URL: `${sandboxUrl}/adyen/v71`,
    ADYEN_API_KEY: SANDBOX_SECRETS.adyenApiKey,
    ADYEN_MERCHANT_ACCOUNT: SANDBOX_SECRETS.adyenMerchantAccount,
    ADYEN_HMAC_KEY: SANDBOX_SECRETS.adyenHmacKey,
    CLEVERBRIDGE_API_URL: `${sandboxUrl}/cleverbridge`,
    CLEVERBRIDGE_USERNAME: SANDBOX_SECRETS.cleverbridgeUsername,
    CLEVERBRIDGE_PASSWORD: SANDBOX_SECRETS.cleverbridgePassword,
    CLEVERBRIDGE_NOTIFY_USERNAME: SANDBOX_SECRETS.cleverbridgeNotifyUsername,
    CLEVERBRIDGE_NOTIFY_PASSWORD: SANDBOX_SECRETS.cleverbridgeNotifyPassword,
    SMART_GLOCAL_API_URL: `${sandboxUrl}/smart-glocal`,
    SMART_GLOCAL_PROJECT: SANDBOX_SECRETS.smartGlocalProject,
    SMART_GLOCAL_PRIVATE_KEY: SANDBOX_MERCHANT_PRIVATE_KEY,
    SMART_GLOCAL_PUBLIC_KEY: SANDBOX_SMART_GLOCAL_PUBLIC_KEY,
    SMARTPAY_API_URL: `${sandboxUrl}/smartpay`,
    SMARTPAY_MERCHANT_KEY: SANDBOX_SECRETS.smartpayMerchantKey,
    SMARTPAY_AUTH_KEY: SANDBOX_SECRETS.smartpayAuthKey,
    SMARTPAY_NOTIFY_USERNAME: SANDBOX_SECRETS.smartpayNotifyUsername,
    SMARTPAY_NOTIFY_PASSWORD: SANDBOX_SECRETS.smartpayNotifyPassword,
    SMARTPAY_WIDGET_URL: `${sandboxUrl}/smartpay/widget`,
  };
}

/** The file that keeps the generated sandbox ENCRYPTION_KEY, so stored tokens stay readable across restarts. */
export function generatedKeyFile(dataDir: string): string {
  return join(dataDir, 'sandbox-encryption.key');
}

/** Reads or creates (0600) the sandbox's ENCRYPTION_KEY in DATA_DIR; base64 of 32 random bytes. */
export function sandboxEncryptionKey(dataDir: string): string {
  const file = generatedKeyFile(dataDir);
  if (existsSync(file)) {
    return readFileSync(file, 'utf8').trim();
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

const nonEmpty = (value: string | undefined, fallback: string): string =>
  value !== undefined && value !== '' ? value : fallback;

/** `gateway:id,...` as the app reads CLEENG_PAYMENT_METHODS; pairs that do not parse are skipped (the app rejects them). */
/** Cleverbridge's REST APIs: "maximum of 150 requests per second from an IP address or range". */
const CLEVERBRIDGE_REQUESTS_PER_SECOND = 150;

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value.trim() === '') {
    return fallback;
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Error(`${name} must be a whole number of at least 1, got ${value}`);
  }
  return n;
}

function parsePaymentMethods(raw: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const pair of raw.split(',')) {
    const [gateway, id] = pair.split(':');
    if (gateway && id && Number.isSafeInteger(Number(id))) {
      map.set(gateway.trim(), Number(id));
    }
  }
  return map;
}

/** The emulators' view of the effective environment (sandbox defaults overlaid with what was set explicitly). */
export function sandboxSettings(env: Record<string, string | undefined>, publicUrl: string): SandboxSettings {
  const d = SANDBOX_SECRETS;
  return {
    publicUrl,
    cleeng: {
      publisherToken: nonEmpty(env.CLEENG_PUBLISHER_TOKEN, d.cleengPublisherToken),
      webhookSecret: nonEmpty(env.CLEENG_WEBHOOK_SECRET, d.cleengWebhookSecret),
      webhookSignatureHeader: nonEmpty(
        env.CLEENG_WEBHOOK_SIGNATURE_HEADER,
        DEFAULT_CLEENG_SIGNATURE_HEADER,
      ).toLowerCase(),
      paymentMethods: parsePaymentMethods(nonEmpty(env.CLEENG_PAYMENT_METHODS, SANDBOX_PAYMENT_METHODS)),
    },
    adyen: {
      apiKey: nonEmpty(env.ADYEN_API_KEY, d.adyenApiKey),
      merchantAccount: nonEmpty(env.ADYEN_MERCHANT_ACCOUNT, d.adyenMerchantAccount),
      hmacKey: nonEmpty(env.ADYEN_HMAC_KEY, d.adyenHmacKey),
    },
    cleverbridge: {
      username: nonEmpty(env.CLEVERBRIDGE_USERNAME, d.cleverbridgeUsername),
      password: nonEmpty(env.CLEVERBRIDGE_PASSWORD, d.cleverbridgePassword),
      notifyUsername: nonEmpty(env.CLEVERBRIDGE_NOTIFY_USERNAME, d.cleverbridgeNotifyUsername),
      notifyPassword: nonEmpty(env.CLEVERBRIDGE_NOTIFY_PASSWORD, d.cleverbridgeNotifyPassword),
      requestsPerSecond: positiveInt(
        env.SANDBOX_CLEVERBRIDGE_REQUESTS_PER_SECOND,
        CLEVERBRIDGE_REQUESTS_PER_SECOND,
        'SANDBOX_CLEVERBRIDGE_REQUESTS_PER_SECOND',
      ),
    },
    smartGlocal: {
      project: nonEmpty(env.SMART_GLOCAL_PROJECT, d.smartGlocalProject),
      merchantPrivateKey: nonEmpty(env.SMART_GLOCAL_PRIVATE_KEY, SANDBOX_MERCHANT_PRIVATE_KEY),
      privateKey: SANDBOX_SMART_GLOCAL_PRIVATE_KEY,
    },
    smartpay: {
      merchantKey: nonEmpty(env.SMARTPAY_MERCHANT_KEY, d.smartpayMerchantKey),
      authKey: nonEmpty(env.SMARTPAY_AUTH_KEY, d.smartpayAuthKey),
      notifyUsername: nonEmpty(env.SMARTPAY_NOTIFY_USERNAME, d.smartpayNotifyUsername),
      notifyPassword: nonEmpty(env.SMARTPAY_NOTIFY_PASSWORD, d.smartpayNotifyPassword),
    },
  };
}
