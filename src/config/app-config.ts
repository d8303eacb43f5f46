/** Resolved configuration: the only shape the rest of the code sees. */
export interface AppConfig {
  env: 'development' | 'test' | 'production';
  port: number;
  publicUrl: string;
  databaseUrl?: string;
  /** unset: 10 for PostgreSQL, 1 for the embedded database (see docs/embedded-database.md) */
  databasePoolSize?: number;
  /** 0 = none; PGlite does not enforce it */
  databaseStatementTimeoutMs: number;
  /** wait for a connection (new or from the pool); 0 = forever */
  databaseConnectTimeoutMs: number;
  /** named prepared statements (src/database/preparing-client.ts); never with the embedded database */
  databasePreparedStatements: boolean;
  dataDir: string;
  sandbox: boolean;
  /** per caller: API key id, else customer id, else IP */
  rateLimit: { perMinute: number; tokenisePerHour: number };
  docsEnabled: boolean;
  apiKeys: string[];
  operatorKey: string;
  customerJwksUrl: string;
  /** required `iss` of customer JWTs; unchecked when unset */
  customerJwtIssuer?: string;
  /** required `aud` of customer JWTs; unchecked when unset */
  customerJwtAudience?: string;
  encryptionKey: Buffer;
  logLevel: string;
  /** the services' lines inside an API request carry its `req` binding (LOG_REQUEST_CONTEXT) */
  logRequestContext: boolean;
  cleeng: {
    apiUrl: string;
    publisherToken: string;
    webhookSecret: string;
    webhookSignatureHeader: string;
    timeoutMs: number;
    /** gateway id -> Cleeng paymentMethodId (ids are checked against the gateway registry at boot) */
    paymentMethods: Map<string, number>;
  };
  /**
   * Validated env blocks contributed by other modules (each gateway's options schema), by section name.
   * Config knows only their schemas, never their meaning; the owner resolves its typed options.
   */
  sections: ReadonlyMap<string, object>;
  gatewayTimeoutMs: number;
  /** calls-per-second ceilings set by GATEWAY_RATE_LIMITS, by gateway id (the rest keep their definition's default) */
  gatewayRateLimits: ReadonlyMap<string, number>;
  outbox: { pollIntervalMs: number; backoffBaseMs: number; backoffMaxMs: number };
  inbox: {
    pollIntervalMs: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    /** a claimed event's lease; renewed by a heartbeat while its handler runs */
    leaseMs: number;
    /** events processed at once per instance */
    concurrency: number;
    /** of those, at most this many bound for the same gateway (never more than `concurrency`) */
    gatewayConcurrency: number;
    /** INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: that bound for the gateways named (each capped at `concurrency`) */
    gatewayConcurrencyByGateway: ReadonlyMap<string, number>;
  };
  /** on SIGTERM: the bound on draining in-flight work (readiness 503, claims stop, unstarted claims released) */
  shutdownTimeoutMs: number;
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
    /** rows checked per pass (ordered by their next check time) */
    batchSize: number;
    /** cap of the backoff between checks of a row that could not be resolved yet */
    backoffMaxMs: number;
    /** an `action_required` payment is voided (cancel by reference) and rejected after this */
    actionExpiryMs: number;
  };
  /** where the default 3DS return route redirects the shopper (unset: a neutral "you can close this page") */
  shopperReturnUrl?: string;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
