import { GatewayId } from '../gateways/gateway-ids';

/** Resolved configuration: the only shape the rest of the code sees. */
export interface AppConfig {
  env: 'development' | 'test' | 'production';
  port: number;
  publicUrl: string;
  databaseUrl?: string;
  /** unset: 10 for PostgreSQL, 1 for the embedded database (see docs/embedded-database.md) */
  databasePoolSize?: number;
  dataDir: string;
  sandbox: boolean;
  apiKeys: string[];
  operatorKey: string;
  customerJwksUrl: string;
  /** required `iss` of customer JWTs; unchecked when unset */
  customerJwtIssuer?: string;
  /** required `aud` of customer JWTs; unchecked when unset */
  customerJwtAudience?: string;
  encryptionKey: Buffer;
  /** True when ENCRYPTION_KEY was not given and a sandbox key was generated/persisted. */
  encryptionKeyGenerated: boolean;
  logLevel: string;
  cleeng: {
    apiUrl: string;
    publisherToken: string;
    webhookSecret: string;
    webhookSignatureHeader: string;
    timeoutMs: number;
    /** gateway id -> Cleeng paymentMethodId */
    paymentMethods: Map<GatewayId, number>;
  };
  adyen: {
    apiUrl: string;
    apiKey: string;
    merchantAccount: string;
    hmacKey: string;
    /** zero-value auth for free trials; false -> tokenise with /storedPaymentMethods */
    zeroAuth: boolean;
  };
  cleverbridge: {
    apiUrl: string;
    username: string;
    password: string;
    notifyUsername: string;
    notifyPassword: string;
  };
  gatewayTimeoutMs: number;
  outbox: { pollIntervalMs: number; backoffBaseMs: number; backoffMaxMs: number };
  inbox: { pollIntervalMs: number; maxAttempts: number; backoffBaseMs: number; backoffMaxMs: number };
  /** connector-managed rebilling (billing mode 3): REBILL_*, DUNNING_SCHEDULE */
  rebill: {
    /** cron expression of the rebilling tick (seconds field optional), or `off` */
    cron: string;
    batchSize: number;
    concurrency: number;
    /** retry offsets from a period's first failed try */
    dunningScheduleMs: number[];
    /** wait for the gateway's own scheduled retry this long before resuming our dunning */
    retryGraceMs: number;
    /** how long a claimed subscription stays reserved for one instance */
    leaseMs: number;
  };
  reconciler: {
    intervalMs: number;
    /** an `unknown` payment is re-asked once it has been unknown this long */
    unknownAfterMs: number;
    /** a customer-initiated payment still unknown after this is cancelled by reference and reported rejected */
    cancelAfterMs: number;
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
