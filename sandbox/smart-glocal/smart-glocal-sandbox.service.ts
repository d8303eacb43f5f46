import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { createPublicKey, createSign, createVerify, KeyObject, randomBytes } from 'node:crypto';
import { SandboxClockService } from '../clock/sandbox-clock.service';
import { SandboxFaults } from '../faults/sandbox-faults';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import { DeliveryRecord, WebhookAnswer, WebhookDispatcher } from '../webhooks/webhook-dispatcher';

/** What Smart Glocal answers: `{status: 'ok', session}` or `{status: 'error', error: {code, description}}`. */
export interface SgAnswer {
  httpStatus: number;
  body:
    | { status: 'ok'; session: SgSessionView }
    | { status: 'error'; error: { code: string; description: string } };
}

interface Amount {
  amount: number;
  currency: string;
}

interface Refund {
  id: string;
  status: 'in_progress' | 'accepted';
  created_at: string;
  amount_details: Amount;
  metadata?: Record<string, unknown>;
}

type Behaviour = 'approve' | 'threeDS' | { decline: string; description: string };

interface Session {
  id: string;
  status: 'in_progress' | 'accepted' | 'canceled';
  createdAt: Date;
  updatedAt: Date;
  metadata?: Record<string, unknown>;
  customer: { reference: string };
  returnUrl?: string;
  /** `payment_options.recurrent: true`: a token is made when the payment succeeds */
  wantsToken: boolean;
  amount: Amount;
  /** the moment ready_to_confirm went out (auto-cancel 240 min later) */
  readyAt?: Date;
  /** the moment action_required went out (auto-cancel 60 min later) */
  actionAt?: Date;
  stage: 'confirm' | 'action' | 'processing' | 'finished';
  behaviour: Behaviour;
  needs3ds: boolean;
  payment: {
    id: string;
    status: 'in_progress' | 'pending' | 'succeeded' | 'failed';
    createdAt: Date;
    finishedAt?: Date;
    details: Record<string, unknown>;
    error?: { code: string; description: string };
    recurrent?: { token: string; created_at: string; is_active: boolean; type: 'recurrent_token' };
    refunds: Refund[];
  };
}

export interface SgSessionView {
  id: string;
  status: string;
  created_at: string;
  updated_at: string;
  next_action?: string;
  metadata?: Record<string, unknown>;
  acquiring_payments: Record<string, unknown>[];
}

export interface SgWebhookMeta {
  type: string;
  sessionId: string;
  body: unknown;
}

/** Same outcomes as the Adyen sandbox's test cards (DESIGN §7), in codes an acquirer would send. */
const TEST_CARDS: Readonly<Record<string, Behaviour>> = {
  '4111111111111111': 'approve',
  '4000000000000002': { decline: 'card_declined', description: 'Card declined' },
  '4000000000009995': { decline: 'insufficient_funds', description: 'Insufficient funds' },
  '4000000000000069': { decline: 'expired_card', description: 'Card expired' },
  '4000000000000127': { decline: 'incorrect_cvc', description: 'Incorrect security code' },
  '4100000000000019': { decline: 'fraud_suspected', description: 'Suspected fraud' },
  '4000000000003220': 'threeDS',
};

const CONFIRM_TTL_MS = 240 * 60_000;
const ACTION_TTL_MS = 60 * 60_000;

const error = (httpStatus: number, code: string, description: string): SgAnswer => ({
  httpStatus,
  body: { status: 'error', error: { code, description } },
});

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Smart Glocal's session API as the docs describe it (external-apis.md §4): every request must carry the
 * project and an RSA-SHA256 signature of its exact body; `session/init/payment` is deduplicated by its
 * idempotency key (the only call the docs give one); every payment waits for `session/confirm` after a signed
 * `ready_to_confirm` webhook, may need the shopper's 3DS (`action_required`), ends with `payment_finished`;
 * refunds end with `payment_refunded`. On the test clock a session waiting for confirmation is cancelled after
 * 240 minutes, one waiting for the shopper after 60.
 */
@Injectable()
export class SmartGlocalSandboxService implements OnModuleInit, OnModuleDestroy {
  readonly dispatcher: WebhookDispatcher<SgWebhookMeta>;
  private readonly sessions = new Map<string, Session>();
  private readonly idempotency = new Map<string, string>();
  /** token -> the behaviour of the card it was made from */
  private readonly tokens = new Map<string, Behaviour>();
  private readonly merchantKey: KeyObject;
  private readonly signingKey: string;
  private sequence = 0;
  /** test hook: the next ready_to_confirm reports this much more than the payment's amount */
  private confirmAmountDelta = 0;
  readonly requests: { path: string; signatureValid: boolean; at: string; body: unknown }[] = [];
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly settings: SandboxSettings,
    private readonly faults: SandboxFaults,
    private readonly clock: SandboxClockService,
  ) {
    this.merchantKey = createPublicKey(settings.smartGlocal.merchantPrivateKey.replace(/\\n/g, '\n'));
    this.signingKey = settings.smartGlocal.privateKey;
    this.dispatcher = new WebhookDispatcher('smart-glocal', () => clock.now());
  }

  onModuleInit(): void {
    this.unsubscribe = this.clock.onAdvance((now) => Promise.resolve(this.expire(now)), 'smart-glocal');
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.dispatcher.close();
  }

  /** Verifies project and signature, then runs the method. */
  handle(
    method: string,
    rawBody: Buffer | undefined,
    headers: Record<string, string | string[] | undefined>,
  ): SgAnswer {
    const header = (name: string): string | undefined => {
      const v = headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const raw = rawBody ?? Buffer.alloc(0);
    const signature = header('x-partner-sign') ?? '';
    const signatureValid = signature !== '' && this.verify(raw, signature);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    this.requests.push({
      path: method,
      signatureValid,
      at: this.clock.now().toISOString(),
      body: redact(body),
    });
    if (header('x-partner-project') !== this.settings.smartGlocal.project) {
      return error(401, 'unknown_project', 'X-PARTNER-PROJECT is missing or unknown');
    }
    if (!signatureValid) {
      return error(401, 'invalid_signature', 'X-PARTNER-SIGN does not verify against the partner public key');
    }
    if (!isObject(body)) {
      return error(400, 'invalid_request', 'body must be a JSON object');
    }
    switch (method) {
      case 'session/init/payment':
        return this.initPayment(body, header('idempotency-key'));
      case 'session/status':
        return this.withSession(body, (s) => this.ok(s));
      case 'session/confirm':
        return this.withSession(body, (s) => this.confirm(s));
      case 'session/cancel':
        return this.withSession(body, (s) => this.cancel(s, 'canceled', 'Cancelled by the partner'));
      case 'session/refund':
        return this.withSession(body, (s) => this.refund(s, body));
      default:
        return error(404, 'invalid_request', `unknown method ${method}`);
    }
  }

  /** The 3DS page's session, if it waits for the shopper. */
  challenge(id: string): Session | undefined {
    const s = this.sessions.get(id);
    return s?.stage === 'action' ? s : undefined;
  }

  /** The shopper's answer on the 3DS page; returns where the browser goes next. */
  decide(id: string, approve: boolean): string | undefined {
    const s = this.challenge(id);
    if (!s) {
      return undefined;
    }
    this.finish(s, approve ? undefined : { code: 'authentication_failed', description: '3-D Secure failed' });
    return s.returnUrl;
  }

  list(): SgSessionView[] {
    return [...this.sessions.values()].map((s) => this.view(s));
  }

  find(id: string): SgSessionView | undefined {
    const s = this.sessions.get(id);
    return s ? this.view(s) : undefined;
  }

  nextConfirmAmountDelta(delta: number): void {
    this.confirmAmountDelta = delta;
  }

  /** Sends one webhook of `type` about a session now (tests: resends, out of order, bad signatures). */
  sendOnce(
    id: string,
    type: string,
    signature: 'valid' | 'invalid' | 'missing',
  ): Promise<WebhookAnswer> | undefined {
    const s = this.sessions.get(id);
    if (!s) {
      return undefined;
    }
    const body = JSON.stringify({ type, session: this.view(s) });
    const headers: Record<string, string> =
      signature === 'missing'
        ? {}
        : { 'X-PARTNER-SIGN': signature === 'valid' ? this.sign(body) : this.sign(`${body} `) };
    return this.dispatcher.sendOnce(
      { type, sessionId: id, body: JSON.parse(body) as unknown },
      { url: this.webhookUrl(), headers, body },
    );
  }

  deliveries(): DeliveryRecord<SgWebhookMeta>[] {
    return this.dispatcher.deliveries();
  }

  private initPayment(body: Record<string, unknown>, key: string | undefined): SgAnswer {
    if (key) {
      const earlier = this.idempotency.get(key);
      const session = earlier ? this.sessions.get(earlier) : undefined;
      if (session) {
        return this.ok(session);
      }
    }
    const amount = body.amount_details;
    const details = body.payment_details;
    const customer = body.customer;
    const options = isObject(body.payment_options) ? body.payment_options : {};
    if (
      !isObject(amount) ||
      !Number.isSafeInteger(amount.amount) ||
      (amount.amount as number) < 0 ||
      typeof amount.currency !== 'string' ||
      !/^[a-z]{3}$/i.test(amount.currency)
    ) {
      return error(
        400,
        'invalid_request',
        'amount_details {amount: integer minor units, currency} is required',
      );
    }
    if (!isObject(customer) || typeof customer.reference !== 'string' || customer.reference === '') {
      return error(400, 'invalid_request', 'customer.reference is required');
    }
    if (!isObject(details)) {
      return error(400, 'invalid_request', 'payment_details is required');
    }
    const wantsToken = options.recurrent === true;
    if (amount.amount === 0 && !wantsToken) {
      return error(400, 'invalid_request', 'a zero amount is only accepted with payment_options.recurrent');
    }
    const resolved = this.resolveDetails(details, options);
    if ('code' in resolved) {
      return error(400, resolved.code, resolved.description);
    }
    const now = this.clock.now();
    const session: Session = {
      id: this.nextId('ps'),
      status: 'in_progress',
      createdAt: now,
      updatedAt: now,
      ...(isObject(body.metadata) ? { metadata: body.metadata } : {}),
      customer: { reference: customer.reference },
      ...(typeof options.return_url === 'string' ? { returnUrl: options.return_url } : {}),
      wantsToken,
      amount: { amount: amount.amount as number, currency: amount.currency.toLowerCase() },
      stage: 'confirm',
      behaviour: resolved.behaviour,
      needs3ds: resolved.needs3ds,
      payment: {
        id: this.nextId('pm'),
        status: 'in_progress',
        createdAt: now,
        details: resolved.shown,
        refunds: [],
      },
    };
    this.sessions.set(session.id, session);
    if (key) {
      this.idempotency.set(key, session.id);
    }
    const answer = this.ok(session);
    session.readyAt = now;
    this.emit(session, 'ready_to_confirm');
    return answer;
  }

  private resolveDetails(
    details: Record<string, unknown>,
    options: Record<string, unknown>,
  ):
    | { behaviour: Behaviour; needs3ds: boolean; shown: Record<string, unknown> }
    | { code: string; description: string } {
    if (details.type === 'card') {
      const card = isObject(details.card) ? details.card : {};
      const bank = isObject(card.bank_card) ? card.bank_card : undefined;
      if (card.type !== 'bank_card' || !bank) {
        return { code: 'invalid_request', description: 'payment_details.card.bank_card is required' };
      }
      const number = typeof bank.number === 'string' ? bank.number.replace(/\s/g, '') : '';
      const month = typeof bank.expiration_month === 'string' ? bank.expiration_month : '';
      const year = typeof bank.expiration_year === 'string' ? bank.expiration_year : '';
      if (!/^\d{12,19}$/.test(number) || !/^\d{2}$/.test(month) || !/^\d{2,4}$/.test(year)) {
        return {
          code: 'invalid_request',
          description: 'bank_card number, expiration_month, expiration_year',
        };
      }
      if (typeof bank.security_code !== 'string' || !/^\d{3,4}$/.test(bank.security_code)) {
        return { code: 'invalid_request', description: 'bank_card.security_code is required' };
      }
      const behaviour = TEST_CARDS[number] ?? 'approve';
      return {
        behaviour,
        needs3ds: behaviour === 'threeDS',
        shown: {
          type: 'card',
          card: {
            brand: number.startsWith('4') ? 'visa' : 'mastercard',
            last4: number.slice(-4),
            expiration_month: month,
            expiration_year: year,
            ...(typeof bank.holder_name === 'string' ? { holder_name: bank.holder_name } : {}),
          },
        },
      };
    }
    if (details.type === 'recurrent') {
      const recurrent = isObject(details.recurrent) ? details.recurrent : {};
      const token = recurrent.token;
      const behaviour = typeof token === 'string' ? this.tokens.get(token) : undefined;
      if (!behaviour) {
        return { code: 'invalid_request', description: 'recurrent.token is unknown' };
      }
      const initiator = recurrent.initiator ?? 'merchant';
      if (initiator !== 'client' && initiator !== 'merchant') {
        return { code: 'invalid_request', description: "recurrent.initiator must be 'client' or 'merchant'" };
      }
      if (initiator === 'client' && typeof options.return_url !== 'string') {
        return { code: 'invalid_request', description: 'a CIT needs payment_options.return_url' };
      }
      return {
        // a CIT is verified with 3DS again (seed: "an additional 3DS verification"); a MIT never is
        behaviour: behaviour === 'threeDS' ? 'approve' : behaviour,
        needs3ds: initiator === 'client',
        shown: { type: 'recurrent', recurrent: { token, initiator } },
      };
    }
    return { code: 'invalid_request', description: "payment_details.type must be 'card' or 'recurrent'" };
  }

  private confirm(s: Session): SgAnswer {
    if (s.stage !== 'confirm') {
      return error(400, 'invalid_session_status', `session ${s.id} is not waiting for confirmation`);
    }
    s.updatedAt = this.clock.now();
    delete s.readyAt;
    if (s.needs3ds) {
      s.stage = 'action';
      s.payment.status = 'pending';
      s.actionAt = this.clock.now();
      const answer = this.ok(s);
      this.emit(s, 'action_required');
      return answer;
    }
    s.stage = 'processing';
    const answer = this.ok(s);
    const b = s.behaviour;
    this.finish(s, typeof b === 'object' ? { code: b.decline, description: b.description } : undefined);
    return answer;
  }

  private cancel(s: Session, code: string, description: string): SgAnswer {
    if (s.stage !== 'confirm' && s.stage !== 'action') {
      return error(400, 'invalid_session_status', `session ${s.id} cannot be cancelled now`);
    }
    s.status = 'canceled';
    this.finish(s, { code, description });
    return this.ok(s);
  }

  private refund(s: Session, body: Record<string, unknown>): SgAnswer {
    if (s.payment.status !== 'succeeded') {
      return error(400, 'invalid_session_status', `session ${s.id} has no successful payment`);
    }
    const refunded = s.payment.refunds.reduce((sum, r) => sum + r.amount_details.amount, 0);
    const left = s.amount.amount - refunded;
    let amount = left;
    if (body.amount_details !== undefined) {
      const a = body.amount_details;
      if (!isObject(a) || !Number.isSafeInteger(a.amount) || (a.amount as number) <= 0) {
        return error(400, 'invalid_request', 'amount_details.amount must be a positive integer');
      }
      if (typeof a.currency === 'string' && a.currency.toLowerCase() !== s.amount.currency) {
        return error(400, 'invalid_request', 'amount_details.currency differs from the payment');
      }
      amount = a.amount as number;
    }
    if (amount <= 0 || amount > left) {
      return error(400, 'refund_amount_exceeded', `at most ${left} can be refunded`);
    }
    const refund: Refund = {
      id: this.nextId('rf'),
      status: 'in_progress',
      created_at: this.clock.now().toISOString(),
      amount_details: { amount, currency: s.amount.currency },
      ...(isObject(body.metadata) ? { metadata: body.metadata } : {}),
    };
    s.payment.refunds.push(refund);
    const answer = this.ok(s);
    refund.status = 'accepted';
    this.emit(s, 'payment_refunded');
    return answer;
  }

  private finish(s: Session, failure?: { code: string; description: string }): void {
    const now = this.clock.now();
    s.stage = 'finished';
    s.updatedAt = now;
    s.payment.finishedAt = now;
    delete s.readyAt;
    delete s.actionAt;
    if (failure) {
      s.payment.status = 'failed';
      s.payment.error = failure;
      if (s.status !== 'canceled') {
        s.status = 'canceled';
      }
    } else {
      s.payment.status = 'succeeded';
      s.status = 'accepted';
      if (s.wantsToken) {
        const token = randomBytes(32).toString('hex');
        this.tokens.set(token, s.behaviour === 'threeDS' ? 'threeDS' : s.behaviour);
        s.payment.recurrent = {
          token,
          created_at: now.toISOString(),
          is_active: true,
          type: 'recurrent_token',
        };
      }
    }
    this.emit(s, 'payment_finished');
  }

  /** The vendor's own deadlines, on the test clock. */
  private expire(now: Date): void {
    for (const s of this.sessions.values()) {
      if (s.stage === 'confirm' && s.readyAt && now.getTime() - s.readyAt.getTime() >= CONFIRM_TTL_MS) {
        s.status = 'canceled';
        this.finish(s, { code: 'confirmation_timeout', description: 'not confirmed within 240 minutes' });
      } else if (
        s.stage === 'action' &&
        s.actionAt &&
        now.getTime() - s.actionAt.getTime() >= ACTION_TTL_MS
      ) {
        s.status = 'canceled';
        this.finish(s, { code: 'action_timeout', description: 'the customer did not act within 60 minutes' });
      }
    }
  }

  private withSession(body: Record<string, unknown>, run: (s: Session) => SgAnswer): SgAnswer {
    const id = body.session_id;
    const s = typeof id === 'string' ? this.sessions.get(id) : undefined;
    return s ? run(s) : error(404, 'session_not_found', `session ${String(id)} not found`);
  }

  private ok(s: Session): SgAnswer {
    return { httpStatus: 200, body: { status: 'ok', session: this.view(s) } };
  }

  private view(s: Session, amountDelta = 0): SgSessionView {
    const p = s.payment;
    return {
      id: s.id,
      status: s.status,
      created_at: s.createdAt.toISOString(),
      updated_at: s.updatedAt.toISOString(),
      ...(s.stage === 'confirm' ? { next_action: 'confirm' } : {}),
      ...(s.metadata ? { metadata: s.metadata } : {}),
      acquiring_payments: [
        {
          id: p.id,
          status: p.status,
          created_at: p.createdAt.toISOString(),
          ...(p.finishedAt ? { finished_at: p.finishedAt.toISOString() } : {}),
          customer: s.customer,
          payment_details: p.details,
          amount_details: { amount: s.amount.amount + amountDelta, currency: s.amount.currency },
          ...(p.recurrent ? { recurrent: p.recurrent } : {}),
          ...(p.error ? { error: p.error } : {}),
          ...(s.stage === 'action'
            ? {
                customer_interaction: {
                  type: 'redirect',
                  redirect: {
                    url: `${this.settings.publicUrl}/sandbox/smart-glocal/3ds/${s.id}?lang=en`,
                    base_url: `${this.settings.publicUrl}/sandbox/smart-glocal/3ds/${s.id}`,
                    method: 'GET',
                    qs: { lang: 'en' },
                    params: {},
                  },
                },
              }
            : {}),
          ...(p.refunds.length > 0 ? { refunds: p.refunds.map((r) => ({ ...r })) } : {}),
        },
      ],
    };
  }

  private emit(s: Session, type: string): void {
    let delta = 0;
    if (type === 'ready_to_confirm' && this.confirmAmountDelta !== 0) {
      delta = this.confirmAmountDelta;
      this.confirmAmountDelta = 0;
    }
    const payload = { type, session: this.view(s, delta) };
    const body = JSON.stringify(payload);
    this.dispatcher.dispatch(
      { type, sessionId: s.id, body: payload },
      { url: this.webhookUrl(), headers: { 'X-PARTNER-SIGN': this.sign(body) }, body },
      this.faults.webhookCopies('smart-glocal'),
    );
  }

  private webhookUrl(): string {
    return `${this.settings.publicUrl}/webhooks/smart-glocal`;
  }

  private sign(body: string): string {
    return createSign('RSA-SHA256').update(body).sign(this.signingKey, 'base64');
  }

  private verify(body: Buffer, signature: string): boolean {
    try {
      return createVerify('RSA-SHA256').update(body).verify(this.merchantKey, signature, 'base64');
    } catch {
      return false;
    }
  }

  private nextId(prefix: string): string {
    this.sequence += 1;
    return `${prefix}_${Date.now().toString(36)}${this.sequence}`;
  }
}

/** The request log keeps no card number, CVC or token. */
function redact(body: unknown): unknown {
  if (!isObject(body)) {
    return body;
  }
  return JSON.parse(
    JSON.stringify(body, (key, value: unknown) =>
      ['number', 'security_code', 'token'].includes(key) ? '[redacted]' : value,
    ),
  ) as unknown;
}
