import type { AppConfig } from '../config/app-config';
import { CleengClient, CleengRejectedError, CleengUnavailableError } from './cleeng.client';

/** The topics a payment connector subscribes to (Cleeng's payments pre-configuration). */
export const CONNECTOR_TOPICS = [
  'subscriptionReadyForPaymentAuthorisation',
  'subscriptionReadyForPaymentCapture',
  'subscriptionReadyForTermination',
  'paymentDetailsDeactivated',
  'refundPayment',
  'capturePayment',
] as const;

/** Cleeng's billing cycles, each with its own dunning actions per payment method. */
const DUNNING_CYCLES = ['weekly', 'monthly', '3-months', '6-months', 'annual', 'seasonal'] as const;

/** Cleeng: the HMAC shared secret is 16 to 64 bytes. */
const SECRET_BYTES = { min: 16, max: 64 };

export interface WebhookEndpoint {
  url: string;
  filters?: { name: string; options: { value: number } }[];
  verification?: { name: string; options: { hashAlg: string; sharedSecret: string } };
  [field: string]: unknown;
}

export interface TopicPlan {
  topic: string;
  /** what Cleeng holds now */
  current: WebhookEndpoint[];
  /** what the PUT will hold: every other endpoint unchanged, ours replaced */
  next: WebhookEndpoint[];
  change: 'add' | 'update' | 'unchanged';
}

export interface SetupTarget {
  /** this deployment's Cleeng webhook route */
  url: string;
  /** Cleeng payment method ids of this deployment's gateways */
  paymentMethodIds: number[];
  secret: string;
}

export class CleengSetupError extends Error {}

/** Our endpoints: one per payment method id (a single filter each, so an event matches at most one). */
export function ourEndpoints(target: SetupTarget): WebhookEndpoint[] {
  return target.paymentMethodIds.map((value) => ({
    url: target.url,
    filters: [{ name: 'paymentMethodId', options: { value } }],
    verification: { name: 'HMAC', options: { hashAlg: 'SHA256', sharedSecret: target.secret } },
  }));
}

/**
 * PUT replaces a topic's whole list, so the new list keeps every endpoint that is not ours (other connectors,
 * other deployments) as it is and replaces ours (same URL) with the current configuration.
 */
export function planTopic(topic: string, current: WebhookEndpoint[], target: SetupTarget): TopicPlan {
  const others = current.filter((e) => e.url !== target.url);
  const mine = current.filter((e) => e.url === target.url);
  const wanted = ourEndpoints(target);
  const next = [...others, ...wanted];
  const same = JSON.stringify(canonical(mine)) === JSON.stringify(canonical(wanted));
  return { topic, current, next, change: mine.length === 0 ? 'add' : same ? 'unchanged' : 'update' };
}

function canonical(endpoints: WebhookEndpoint[]): string[] {
  return endpoints.map((e) => JSON.stringify(sortKeys(e))).sort();
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

/** `GET /3.1/webhook_subscriptions` -> endpoints by topic (`data: [{topic, endpoints}]`). */
export function currentSubscriptions(answer: unknown): Map<string, WebhookEndpoint[]> {
  const data = (answer as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data)) {
    throw new CleengSetupError('Cleeng answered GET /webhook_subscriptions without a data list');
  }
  const byTopic = new Map<string, WebhookEndpoint[]>();
  for (const entry of data as { topic?: unknown; endpoints?: unknown }[]) {
    if (typeof entry?.topic === 'string' && Array.isArray(entry.endpoints)) {
      byTopic.set(entry.topic, entry.endpoints as WebhookEndpoint[]);
    }
  }
  return byTopic;
}

/** The endpoint as printed: never the shared secret. */
function describe(endpoint: WebhookEndpoint): string {
  const filters = (endpoint.filters ?? []).map((f) => `${f.name}=${f.options.value}`).join(',');
  const hmac = endpoint.verification
    ? ` ${endpoint.verification.name}/${endpoint.verification.options.hashAlg}`
    : '';
  return `${endpoint.url}${filters ? ` [${filters}]` : ' [no filter]'}${hmac}`;
}

export interface SetupOptions {
  dryRun: boolean;
  print: (line: string) => void;
}

export interface SetupResult {
  plans: TopicPlan[];
  /** topics written (none on a dry run) */
  written: string[];
}

/** What this deployment registers, from the validated configuration. */
export function setupTarget(config: AppConfig): SetupTarget {
  const secret = config.cleeng.webhookSecret;
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < SECRET_BYTES.min || bytes > SECRET_BYTES.max) {
    throw new CleengSetupError(
      `CLEENG_WEBHOOK_SECRET is ${bytes} bytes; Cleeng's HMAC verification takes a shared secret of ` +
        `${SECRET_BYTES.min} to ${SECRET_BYTES.max} bytes (32 or more recommended)`,
    );
  }
  const paymentMethodIds = [...new Set(config.cleeng.paymentMethods.values())].sort((a, b) => a - b);
  if (paymentMethodIds.length === 0) {
    throw new CleengSetupError('CLEENG_PAYMENT_METHODS names no payment method: nothing to filter on');
  }
  return { url: `${config.publicUrl}/webhooks/cleeng`, paymentMethodIds, secret };
}

/**
 * The Cleeng configuration steps of the connector checklist: subscribe this deployment's webhook route to the six
 * topics (merged with what is registered), filtered by our payment method ids and verified by HMAC with our
 * secret; then show the dunning actions the connector expects. `dryRun` prints the plan and changes nothing.
 */
export async function runCleengSetup(
  config: AppConfig,
  cleeng: CleengClient,
  options: SetupOptions,
): Promise<SetupResult> {
  const { print } = options;
  const target = setupTarget(config);
  print(`Cleeng API: ${config.cleeng.apiUrl}`);
  print(
    `webhook endpoint: ${target.url} (payment methods ${target.paymentMethodIds.join(', ')}, HMAC-SHA256)`,
  );
  print('reading the current webhook subscriptions (GET /webhook_subscriptions) ...');
  const call = <T>(fn: () => Promise<T>): Promise<T> => explained(fn, config.sandbox);
  const current = currentSubscriptions(await call(() => cleeng.send('GET', '/webhook_subscriptions')));
  const plans = CONNECTOR_TOPICS.map((topic) => planTopic(topic, current.get(topic) ?? [], target));
  print(options.dryRun ? 'plan (dry run: nothing is changed):' : 'plan:');
  for (const plan of plans) {
    print(`  ${plan.topic}: ${plan.change}`);
    for (const endpoint of plan.next) {
      print(`    ${endpoint.url === target.url ? '+' : '='} ${describe(endpoint)}`);
    }
  }
  const written: string[] = [];
  if (!options.dryRun) {
    const todo = plans.filter((p) => p.change !== 'unchanged');
    for (const [index, plan] of todo.entries()) {
      print(
        `[${index + 1}/${todo.length}] PUT /webhook_subscriptions/${plan.topic} (${plan.next.length} endpoints)`,
      );
      await call(() =>
        cleeng.send('PUT', `/webhook_subscriptions/${encodeURIComponent(plan.topic)}`, plan.next),
      );
      written.push(plan.topic);
    }
    print(
      todo.length === 0
        ? 'webhook subscriptions already up to date'
        : `done: ${todo.length} topic(s) written, ${plans.length - todo.length} unchanged`,
    );
  }
  printDunning(target, print);
  return { plans, written };
}

function printDunning(target: SetupTarget, print: (line: string) => void): void {
  print(
    'dunning actions (set by Cleeng for every payment method and cycle; Cleeng API 3.1 documents no read):',
  );
  print(`  payment methods: ${target.paymentMethodIds.join(', ')}; cycles: ${DUNNING_CYCLES.join(', ')}`);
  print('  authorisation first (true): subscriptionReadyForPaymentAuthorisation at each attempt, then ');
  print(
    '    subscriptionReadyForPaymentCapture with the paymentId on the due date (handled: authorise, then capture)',
  );
  print(
    '  authorisation first (false): subscriptionReadyForPaymentCapture at each attempt (handled: charge, report)',
  );
  print(
    '  check or adjust them in the Cleeng Dashboard (Admin & Tools, Dunning Actions); this command changes none',
  );
}

/** Cleeng's refusal or absence, in words an operator can act on. */
async function explained<T>(fn: () => Promise<T>, sandbox: boolean): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CleengRejectedError) {
      const hint =
        err.status === 401 || err.status === 403 ? ' (check CLEENG_PUBLISHER_TOKEN and CLEENG_API_URL)' : '';
      throw new CleengSetupError(`Cleeng refused the request: HTTP ${err.status}: ${err.message}${hint}`);
    }
    if (err instanceof CleengUnavailableError) {
      const hint = sandbox ? ' (the Cleeng emulator runs inside the app: start it first, npm start)' : '';
      throw new CleengSetupError(`Cleeng is unreachable or failing: ${err.message}${hint}`);
    }
    throw err;
  }
}
