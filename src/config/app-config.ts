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
  cleverbridge: { apiUrl: string; username: string; password: string; notifyUsername: string; notifyPassword: string };
  gatewayTimeoutMs: number;
  outbox: { pollIntervalMs: number; backoffBaseMs: number; backoffMaxMs: number };
  inbox: { pollIntervalMs: number; maxAttempts: number; backoffBaseMs: number; backoffMaxMs: number };
  reconciler: {
    intervalMs: number;
    /** an `unknown` payment is re-asked once it has been unknown this long */
    unknownAfterMs: number;
    /** a customer-initiated payment still unknown after this is cancelled by reference and reported rejected */
    cancelAfterMs: number;
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
