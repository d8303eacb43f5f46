import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
  UnprocessableEntityException,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { constantTimeEqual } from '../shared/constant-time';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import { X_ATTEMPT } from './cleverbridge-wire';
import { InjectedFault, SandboxFaults } from '../faults/sandbox-faults';
import { IdleResult, WebhookAnswer } from '../webhooks/webhook-dispatcher';
import {
  CleverbridgeNotificationDelivery,
  CleverbridgeNotifier,
  NotifyAuthMode,
} from './cleverbridge-notifier';
import { CleverbridgeSandboxService } from './cleverbridge-sandbox.service';
import {
  CheckoutView,
  CleverbridgeLedger,
  CleverbridgeSandboxStore,
  LedgerPurchase,
  OperationResult,
  ProcessCartBody,
  PurchaseListEntry,
  RequestLogEntry,
  RetryRun,
  SubscriptionView,
} from './cleverbridge-sandbox.store';
import { SandboxErrorFilter } from '../shared/sandbox-error';
import { answerThrough } from '../shared/express-answer';

function isObj(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The cart-level `x-connector-attempt` of a raw body, for the request log only. */
function attemptOf(body: unknown): string | undefined {
  const request = isObj(body) ? body.processCartRequest : undefined;
  const extra = isObj(request) ? request.extraParameters : undefined;
  const list = isObj(extra) ? extra.extraParameter : undefined;
  const found = Array.isArray(list)
    ? (list as unknown[]).find((e) => isObj(e) && e.key === X_ATTEMPT && typeof e.value === 'string')
    : undefined;
  return isObj(found) && typeof found.value === 'string' ? found.value : undefined;
}

function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match?.[1]) {
    return undefined;
  }
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The parts of a REST request the emulated API looks at. */
export interface CleverbridgeCall {
  method: string;
  /** without the query string */
  path: string;
  authorization: string | undefined;
}

export interface CleverbridgeAnswer {
  status: number;
  body: ProcessCartBody;
}

const UNAUTHORIZED: ProcessCartBody = {
  status: 'Unauthorized',
  error: { code: 'UNAUTHORIZED', message: 'invalid API user credentials' },
};

/** Requests admitted per wall-clock second (a fixed window, as per-second API limits usually are). */
export class RequestWindow {
  private second = 0;
  private count = 0;

  constructor(private readonly perSecond: number) {}

  admit(nowMs: number): boolean {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.count = 0;
    }
    this.count += 1;
    return this.count <= this.perSecond;
  }
}

/** Cleverbridge REST as the connector calls it: `POST /sandbox/cleverbridge/cart/processcart`. */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/cleverbridge')
export class CleverbridgeSandboxController {
  private readonly window: RequestWindow;

  constructor(
    private readonly service: CleverbridgeSandboxService,
    private readonly store: CleverbridgeSandboxStore,
    private readonly faults: SandboxFaults,
    @Inject(SANDBOX_SETTINGS) private readonly config: SandboxSettings,
  ) {
    this.window = new RequestWindow(config.cleverbridge.requestsPerSecond);
  }

  /**
   * Over Cleverbridge's documented rate limit, a REST request is refused with 429 before anything else. The body
   * Cleverbridge sends then is undocumented; the status is what a caller can rely on.
   */
  private rateLimited(method: string, path: string): CleverbridgeAnswer | undefined {
    if (this.window.admit(Date.now())) {
      return undefined;
    }
    this.store.logRequest({ method, path, status: 429 });
    return {
      status: 429,
      body: {
        status: 'TooManyRequests',
        error: {
          code: 'RATE_LIMITED',
          message: `more than ${this.config.cleverbridge.requestsPerSecond} requests per second`,
        },
      },
    };
  }

  /** Rate limit, then faults (nothing processed), Basic auth, processing, the request log, a possibly held answer. */
  @Post('cart/processcart')
  async processCart(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: unknown,
  ): Promise<ProcessCartBody> {
    const path = req.originalUrl.split('?')[0] ?? req.originalUrl;
    return answerThrough(
      res,
      await this.answerProcessCart(
        { method: req.method, path, authorization: req.header('authorization') },
        body,
      ),
    );
  }

  /**
   * `POST cart/processcart` without HTTP framework objects: the route above, and the standalone emulators' bare
   * route (bare-json-route.ts) that the benchmarks go through, answer the same way.
   */
  async answerProcessCart(call: CleverbridgeCall, body: unknown): Promise<CleverbridgeAnswer> {
    const { method, path } = call;
    const attempt = attemptOf(body);
    const entry = { method, path, ...(attempt !== undefined ? { attempt } : {}) };
    const refused = this.rateLimited(method, path);
    if (refused) {
      return refused;
    }
    try {
      await this.faults.beforeRequest('cleverbridge');
    } catch (error) {
      if (error instanceof InjectedFault) {
        this.store.logRequest({ ...entry, status: error.status });
        return {
          status: error.status,
          body:
            error.status >= 500
              ? { status: 'InternalServerError' }
              : { status: 'InvalidRequest', error: { code: 'SANDBOX_FAULT', message: error.message } },
        };
      }
      throw error;
    }
    if (!this.authorised(call.authorization)) {
      this.store.logRequest({ ...entry, status: 401 });
      return { status: 401, body: UNAUTHORIZED };
    }
    const outcome = await this.service.processCart(body);
    const lostAnswer = this.faults.failAfterProcessing('cleverbridge');
    this.store.logRequest({ ...entry, status: lostAnswer ?? outcome.status });
    await this.faults.afterRequest('cleverbridge', `${method} ${path}`);
    if (lostAnswer !== undefined) {
      // processed (charged, notifications on their way), but the caller only sees an error
      return { status: lostAnswer, body: { status: 'InternalServerError' } };
    }
    return { status: outcome.status, body: outcome.body };
  }

  /**
   * Purchase API: `GET /purchase/getpurchaselist?startdatetime=&enddatetime=&purchasestatusids=` (Basic auth),
   * the purchases created in the window. What a caller uses to learn whether a ProcessCart whose answer was
   * lost created a purchase (filtering by the x-parameters it sent).
   */
  @Get('purchase/getpurchaselist')
  async purchaseList(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Query('startdatetime') startRaw: unknown,
    @Query('enddatetime') endRaw: unknown,
    @Query('purchasestatusids') statusesRaw: unknown,
  ): Promise<{ purchases: PurchaseListEntry[] } | ProcessCartBody> {
    const path = req.originalUrl.split('?')[0] ?? req.originalUrl;
    const refused = this.rateLimited(req.method, path);
    if (refused) {
      res.status(refused.status);
      return refused.body;
    }
    try {
      await this.faults.beforeRequest('cleverbridge');
    } catch (error) {
      if (error instanceof InjectedFault) {
        this.store.logRequest({ method: req.method, path, status: error.status });
        res.status(error.status);
        return { status: 'InternalServerError' };
      }
      throw error;
    }
    if (!this.authorised(req.header('authorization'))) {
      this.store.logRequest({ method: req.method, path, status: 401 });
      res.status(401);
      return UNAUTHORIZED;
    }
    const start = typeof startRaw === 'string' ? new Date(startRaw) : undefined;
    const end = typeof endRaw === 'string' ? new Date(endRaw) : undefined;
    if (!start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) {
      this.store.logRequest({ method: req.method, path, status: 400 });
      res.status(400);
      return {
        status: 'InvalidRequest',
        error: {
          code: 'INVALID_TIME_RANGE',
          message: 'startdatetime and enddatetime (ISO 8601) are required',
        },
      };
    }
    const statuses =
      typeof statusesRaw === 'string' && statusesRaw.length > 0 ? statusesRaw.split(',') : undefined;
    this.store.logRequest({ method: req.method, path, status: 200 });
    return { purchases: this.store.purchaseList(start, end, statuses) };
  }

  private authorised(header: string | undefined): boolean {
    const given = basicCredentials(header);
    const { username, password } = this.config.cleverbridge;
    if (!given) {
      return false;
    }
    const userOk = constantTimeEqual(given.username, username);
    const passwordOk = constantTimeEqual(given.password, password);
    return userOk && passwordOk;
  }
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function money(m: { value: number; currency: string }): string {
  return `${m.value} ${escapeHtml(m.currency)} (minor units)`;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} – Cleverbridge sandbox</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto}button{padding:.6rem 1.2rem;border:0;border-radius:4px;background:#1a7f37;color:#fff;font-size:1rem}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

function checkoutPage(v: CheckoutView): string {
  const lines = v.items
    .map((i) => `<li>${escapeHtml(i.productName)} × ${i.quantity}: ${money(i.total)}</li>`)
    .join('');
  const summary = `<ul>${lines}</ul><p>Total: <strong>${money(v.total)}</strong></p>`;
  const declined = v.paymentResult
    ? `<p>Your last payment was declined: ${escapeHtml(v.paymentResult.code)} ${escapeHtml(v.paymentResult.message)}.</p>`
    : '';
  switch (v.state) {
    case 'paid':
      return page('Already paid', `${summary}<p>Purchase ${escapeHtml(v.purchaseId ?? '')} is paid.</p>`);
    case 'expired':
      return page(
        'Session expired',
        `${summary}<p>This checkout link expired at ${escapeHtml(v.expiresAt ?? '')}.</p>`,
      );
    case 'open':
      // relative to /sandbox/cleverbridge/checkout/:id, so it also works behind a path-rewriting proxy
      return page(
        'Complete your order',
        `${summary}${declined}<p>Sandbox payment details are always accepted.</p>
<form method="post" action="${encodeURIComponent(v.sessionId)}/pay"><button id="pay" type="submit">Pay</button></form>`,
      );
  }
}

/** Tests' and demos' surface: hosted checkout stand-in, behaviours, retries, after-sale events, inspection. */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/cleverbridge')
export class CleverbridgeSandboxToolsController {
  constructor(
    private readonly service: CleverbridgeSandboxService,
    private readonly store: CleverbridgeSandboxStore,
    private readonly notifier: CleverbridgeNotifier,
  ) {}

  @Get('checkout/:sessionId')
  checkout(@Param('sessionId') sessionId: string, @Res() res: Response): void {
    const v = this.store.checkoutView(sessionId);
    if (!v) {
      res.status(404).type('html').send(page('Unknown checkout session', '<p>This link is not valid.</p>'));
      return;
    }
    res
      .status(v.state === 'expired' ? 410 : 200)
      .type('html')
      .send(checkoutPage(v));
  }

  /** The "Pay" button: marks the purchase paid and sends the PaidOrderNotification. */
  @Post('checkout/:sessionId/pay')
  pay(@Param('sessionId') sessionId: string, @Res() res: Response): void {
    const result = this.service.completeCheckout(sessionId);
    if (!result.ok) {
      const status = result.status === 422 ? 410 : result.status;
      res
        .status(status)
        .type('html')
        .send(page('Payment not possible', `<p>${escapeHtml(result.message)}</p>`));
      return;
    }
    res
      .status(200)
      .type('html')
      .send(
        page(
          'Thank you',
          `<p>Purchase <strong id="purchase-id">${escapeHtml(result.purchase.purchaseId)}</strong> is paid: ${money(result.purchase.total)}.</p>`,
        ),
      );
  }

  /** `{"behaveAs": "decline:PAY_CLE", "times"?: 1}`; `{}` or `{"behaveAs": null}` restores paid. */
  @Post('subscriptions/:id/behaviour')
  @HttpCode(200)
  setBehaviour(@Param('id') id: string, @Body() body: unknown): SubscriptionView {
    const behaveAs = isObj(body) ? body.behaveAs : undefined;
    const times = isObj(body) ? body.times : undefined;
    if (behaveAs !== undefined && behaveAs !== null && typeof behaveAs !== 'string') {
      throw new BadRequestException(
        'behaveAs must be a behaviour string (see cleverbridge-test-data.ts) or null',
      );
    }
    if (times !== undefined && (typeof times !== 'number' || !Number.isSafeInteger(times) || times < 1)) {
      throw new BadRequestException('times must be a positive integer');
    }
    const result = this.store.setSubscriptionBehaviour(id, behaveAs ?? undefined, times);
    if (result === 'not-found') {
      throw new NotFoundException(`unknown subscription ${id}`);
    }
    if (result === 'invalid-behaviour') {
      throw new BadRequestException(
        `unknown behaviour "${String(behaveAs)}" (see cleverbridge-test-data.ts)`,
      );
    }
    return this.subscription(id);
  }

  @Get('subscriptions')
  subscriptions(): SubscriptionView[] {
    return this.store.listSubscriptions();
  }

  @Get('subscriptions/:id')
  subscription(@Param('id') id: string): SubscriptionView {
    const found = this.store.subscription(id);
    if (!found) {
      throw new NotFoundException(`unknown subscription ${id}`);
    }
    return found;
  }

  /**
   * Benchmarks: `{count, referencePrefix, productId?}` -> `{subscriptionIds}`: that many customers with a paid
   * subscription purchase each, no notification sent (what `npm run bench -- --scenario rebilling` rebills).
   */
  @Post('tools/seed-subscriptions')
  @HttpCode(200)
  seedSubscriptions(@Body() body: unknown): { subscriptionIds: string[] } {
    const count = isObj(body) ? body.count : undefined;
    const prefix = isObj(body) ? body.referencePrefix : undefined;
    const product = isObj(body) && typeof body.productId === 'string' ? body.productId : '100001';
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1_000_000) {
      throw new BadRequestException('count: an integer from 1 to 1000000');
    }
    if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 100) {
      throw new BadRequestException('referencePrefix: a non-empty string');
    }
    return { subscriptionIds: this.store.seedSubscriptions(count, prefix, product) };
  }

  /** Benchmarks: `?referencePrefix=` -> how many of those customers' subscriptions were rebilled, and twice. */
  @Get('tools/rebill-summary')
  rebillSummary(@Query('referencePrefix') prefix: unknown): {
    subscriptions: number;
    charged: number;
    chargedTwice: number;
  } {
    const p = optionalString(prefix);
    if (!p) {
      throw new BadRequestException('referencePrefix is required');
    }
    return this.store.rebillCharges(p);
  }

  @Get('ledger')
  ledger(
    @Query('subscriptionId') subscriptionId: unknown,
    @Query('attempt') attempt: unknown,
  ): CleverbridgeLedger {
    const sub = optionalString(subscriptionId);
    const att = optionalString(attempt);
    return this.store.ledger({ ...(sub ? { subscriptionId: sub } : {}), ...(att ? { attempt: att } : {}) });
  }

  @Get('purchases/:id')
  purchase(@Param('id') id: string): LedgerPurchase {
    const found = this.store.purchase(id);
    if (!found) {
      throw new NotFoundException(`unknown purchase ${id}`);
    }
    return found;
  }

  @Post('purchases/:id/receive-payment')
  @HttpCode(200)
  receivePayment(@Param('id') id: string): LedgerPurchase {
    return this.unwrap(this.service.receiveOfflinePayment(id));
  }

  /** `{"amount"?: <minor units>}`; without an amount the whole remainder is refunded. */
  @Post('purchases/:id/refund')
  @HttpCode(200)
  refund(@Param('id') id: string, @Body() body: unknown): LedgerPurchase {
    const amount = isObj(body) ? body.amount : undefined;
    if (amount !== undefined && (typeof amount !== 'number' || !Number.isSafeInteger(amount))) {
      throw new BadRequestException('amount must be an integer of minor units');
    }
    return this.unwrap(this.service.refund(id, amount));
  }

  @Post('purchases/:id/chargeback')
  @HttpCode(200)
  chargeback(@Param('id') id: string): LedgerPurchase {
    return this.unwrap(this.service.chargeback(id));
  }

  /** Runs Cleverbridge's scheduled payment retries due at `now` (body `{"now"?: ISO time}`; default: the clock). */
  @Post('retries/run')
  @HttpCode(200)
  runRetries(@Body() body: unknown): { ran: RetryRun[] } {
    const raw = isObj(body) ? body.now : undefined;
    if (raw === undefined || raw === null) {
      return { ran: this.service.runDueRetries() };
    }
    const now = typeof raw === 'string' ? new Date(raw) : undefined;
    if (!now || Number.isNaN(now.getTime())) {
      throw new BadRequestException('now must be an ISO 8601 time');
    }
    return { ran: this.service.runDueRetries(now) };
  }

  @Get('requests')
  requests(): RequestLogEntry[] {
    return this.store.requests();
  }

  /** Delivery log of the notifications sent to `/webhooks/cleverbridge`. */
  @Get('webhooks')
  webhooks(): CleverbridgeNotificationDelivery[] {
    return this.notifier.deliveries();
  }

  /** Waits (up to `timeoutMs`, default 5000) until no notification delivery is in flight. */
  @Get('webhooks/idle')
  idle(@Query('timeoutMs') timeoutMs: unknown): Promise<IdleResult> {
    const ms = timeoutMs === undefined ? 5_000 : Number(timeoutMs);
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > 60_000) {
      throw new BadRequestException('timeoutMs must be an integer 0..60000');
    }
    return this.notifier.idle(ms);
  }

  /**
   * Sends one notification now, no retries: `{"body": {...notification}, "auth"?: "valid"|"invalid"|"missing"}`;
   * answers with the app's response (to test 401 / 400 handling).
   */
  @Post('webhooks/send')
  @HttpCode(200)
  sendWebhook(@Body() body: unknown): Promise<WebhookAnswer> {
    const notification = isObj(body) ? body.body : undefined;
    const auth = isObj(body) ? (body.auth ?? 'valid') : 'valid';
    if (notification === undefined) {
      throw new BadRequestException('body is required');
    }
    if (auth !== 'valid' && auth !== 'invalid' && auth !== 'missing') {
      throw new BadRequestException('auth must be valid, invalid or missing');
    }
    return this.notifier.sendNow(notification, auth satisfies NotifyAuthMode);
  }

  @Post('reset')
  @HttpCode(200)
  reset(): { success: true } {
    this.service.reset();
    return { success: true };
  }

  private unwrap(result: OperationResult): LedgerPurchase {
    if (result.ok) {
      return result.purchase;
    }
    switch (result.status) {
      case 404:
        throw new NotFoundException(result.message);
      case 409:
        throw new ConflictException(result.message);
      case 422:
        throw new UnprocessableEntityException(result.message);
    }
  }
}
