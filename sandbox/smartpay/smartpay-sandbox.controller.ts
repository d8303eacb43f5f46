import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpException,
  Inject,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { InjectedFault, SandboxFaults } from '../faults/sandbox-faults';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import { constantTimeEqual } from '../shared/constant-time';
import { Money } from '../shared/money';
import { SandboxError, SandboxErrorFilter } from '../shared/sandbox-error';
import { NotifyAuthMode, SmartPayNotifier } from './smartpay-notifier';
import { SMARTPAY_RESULT_CODES, SmartPayApiError, SmartPaySandboxStore } from './smartpay-sandbox.store';

type Body = Record<string, unknown>;

function isObj(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requiredString(body: Body, field: string, max: number): string {
  const value = body[field];
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw new SmartPayApiError(400, 'VALIDATION_ERROR', `${field} is required (string, max ${max})`);
  }
  return value;
}

function optionalString(body: Body, field: string, max: number): string | undefined {
  return body[field] === undefined ? undefined : requiredString(body, field, max);
}

function amountOf(value: unknown, currency: string, field: string): Money {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new SmartPayApiError(400, 'VALIDATION_ERROR', `${field} must be a positive number`);
  }
  try {
    return Money.fromMajor(value, currency);
  } catch {
    throw new SmartPayApiError(400, 'VALIDATION_ERROR', `${field}/currencyIsoCode are not a valid amount`);
  }
}

function billingAddress(body: Body): Body {
  const address = body.billingAddress;
  if (!isObj(address)) {
    throw new SmartPayApiError(400, 'VALIDATION_ERROR', 'billingAddress is required');
  }
  requiredString(address, 'addressLine1', 60);
  requiredString(address, 'city', 50);
  requiredString(address, 'postCode', 10);
  const country = requiredString(address, 'countryCode', 3);
  if ((country === 'US' || country === 'CA') && typeof address.state !== 'string') {
    throw new SmartPayApiError(400, 'VALIDATION_ERROR', 'billingAddress.state is required for US and CA');
  }
  return address;
}

/**
 * SmartPay Subscription Module API as the connector calls it, under `/sandbox/smartpay`: every request needs
 * `x-api-key: <merchantKey>` (403 without) and `Authorization: Basic merchantKey:authenticationKey` (401).
 * Answers `{code, message}` on errors. Faults: SandboxFaults('smartpay').
 */
@ApiExcludeController()
@Controller('sandbox/smartpay')
export class SmartPaySandboxController {
  constructor(
    private readonly store: SmartPaySandboxStore,
    private readonly notifier: SmartPayNotifier,
    private readonly faults: SandboxFaults,
    @Inject(SANDBOX_SETTINGS) private readonly settings: SandboxSettings,
  ) {}

  @Post('plans')
  @HttpCode(201)
  createPlan(
    @Headers() headers: Record<string, string | undefined>,
    @Body() body: unknown,
  ): Promise<unknown> {
    return this.api(headers, () => {
      const b = isObj(body) ? body : {};
      const currency = requiredString(b, 'currencyIsoCode', 3);
      const amount = amountOf(b.recurrentAmount, currency, 'recurrentAmount');
      const unit = b.billingUnit;
      if (unit !== 'day' && unit !== 'month' && unit !== 'year') {
        throw new SmartPayApiError(400, 'VALIDATION_ERROR', 'billingUnit must be day, month or year');
      }
      const occurrence = b.billingOccurrence;
      const cycles = b.billingCycles;
      if (!Number.isInteger(occurrence) || (occurrence as number) < 1) {
        throw new SmartPayApiError(400, 'VALIDATION_ERROR', 'billingOccurrence must be a positive integer');
      }
      if (!Number.isInteger(cycles) || (cycles as number) < -1 || (cycles as number) > 120 || cycles === 0) {
        throw new SmartPayApiError(400, 'VALIDATION_ERROR', 'billingCycles must be -1 or 1..120');
      }
      const merchantMetadata = optionalString(b, 'merchantMetadata', 255);
      return this.store.createPlan({
        name: requiredString(b, 'name', 255),
        description: requiredString(b, 'description', 255),
        recurrentAmount: amount.toMajorNumber(),
        currencyIsoCode: amount.currency,
        billingOccurrence: occurrence as number,
        billingUnit: unit,
        billingCycles: cycles as number,
        prepaid: b.prepaid !== false,
        ...(merchantMetadata ? { merchantMetadata } : {}),
      });
    });
  }

  @Get('plans')
  listPlans(@Headers() headers: Record<string, string | undefined>): Promise<unknown> {
    return this.api(headers, () => ({ data: this.store.listPlans() }));
  }

  @Post('subscriptions')
  @HttpCode(201)
  createSubscription(
    @Headers() headers: Record<string, string | undefined>,
    @Body() body: unknown,
  ): Promise<unknown> {
    return this.api(headers, () => {
      const b = isObj(body) ? body : {};
      const startDate = requiredString(b, 'startDate', 29);
      if (Number.isNaN(Date.parse(startDate))) {
        throw new SmartPayApiError(400, 'VALIDATION_ERROR', 'startDate must be a date-time');
      }
      if (!isObj(b.consumer) && !isObj(b.businessConsumer)) {
        throw new SmartPayApiError(400, 'VALIDATION_ERROR', 'consumer or businessConsumer is required');
      }
      const externalMerchantId = optionalString(b, 'externalMerchantId', 255);
      const merchantMetadata = optionalString(b, 'merchantMetadata', 255);
      return this.view(
        this.store.createSubscription({
          planId: requiredString(b, 'planId', 53),
          customerAccountId: requiredString(b, 'customerAccountId', 125),
          startDate,
          billingAddress: billingAddress(b),
          consumer: isObj(b.consumer) ? b.consumer : {},
          ...(externalMerchantId ? { externalMerchantId } : {}),
          ...(merchantMetadata ? { merchantMetadata } : {}),
        }),
      );
    });
  }

  @Get('subscriptions')
  listSubscriptions(
    @Headers() headers: Record<string, string | undefined>,
    @Query('externalMerchantId') externalMerchantId?: string,
  ): Promise<unknown> {
    return this.api(headers, () => ({
      data: this.store
        .listSubscriptions(externalMerchantId ? { externalMerchantId } : {})
        .map((s) => this.view(s)),
    }));
  }

  @Get('subscriptions/:id')
  getSubscription(
    @Headers() headers: Record<string, string | undefined>,
    @Param('id') id: string,
  ): Promise<unknown> {
    return this.api(headers, () => this.view(this.store.getSubscription(id)));
  }

  @Post('payment-series')
  @HttpCode(201)
  createPaymentSerie(
    @Headers() headers: Record<string, string | undefined>,
    @Body() body: unknown,
  ): Promise<unknown> {
    return this.api(headers, () => {
      const b = isObj(body) ? body : {};
      billingAddress(b);
      const serie = this.store.createPaymentSerie({
        customerAccountId: requiredString(b, 'customerAccountId', 125),
        currencyIsoCode: requiredString(b, 'currencyIsoCode', 3),
      });
      return {
        id: serie.id,
        customerAccountId: serie.customerAccountId,
        currencyIsoCode: serie.currencyIsoCode,
        status: serie.status,
      };
    });
  }

  /** Create PS Transaction (DESIGN §10): an MIT on the serie's stored payment option. */
  @Post('payment-series/:id/transactions')
  @HttpCode(201)
  createTransaction(
    @Headers() headers: Record<string, string | undefined>,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<unknown> {
    return this.api(headers, () => {
      const b = isObj(body) ? body : {};
      const currency = requiredString(b, 'currencyIsoCode', 3);
      const description = optionalString(b, 'description', 255);
      const result = this.store.createTransaction(id, {
        amount: amountOf(b.amount, currency, 'amount'),
        partnerReference: requiredString(b, 'partnerReference', 125),
        ...(description ? { description } : {}),
      });
      this.notifier.send(result.notifications);
      const tx = result.transaction;
      return {
        id: tx.id,
        status: tx.status,
        amount: tx.amount,
        currencyIsoCode: tx.currencyIsoCode,
        partnerReference: tx.partnerReference,
        ...(tx.resultCode ? { resultCode: tx.resultCode, resultMessage: tx.resultMessage } : {}),
      };
    });
  }

  /** Stand-in for the Subscription Widget: a page where the customer "enters" a test card. */
  @Get('widget')
  widget(@Query('subscriptionId') subscriptionId: string | undefined, @Res() res: Response): void {
    const id = (subscriptionId ?? '').replace(/[^A-Za-z0-9-]/g, '');
    res.type('html').send(`<!doctype html><html><body><h1>SmartPay widget (sandbox)</h1>
<form method="post" action="widget/${id}"><p>Subscription ${id}</p>
<label>Card <input name="card" value="4111111111111111"></label><button>Save payment option</button></form>
</body></html>`);
  }

  /** The widget's submit: stores the payment option (a test card), which starts the billing schedule. */
  @Post('widget/:id')
  @HttpCode(200)
  submitWidget(@Param('id') id: string, @Body() body: unknown): Promise<unknown> {
    return this.guard(() => {
      const card =
        isObj(body) && typeof body.card === 'string' ? body.card.replace(/\s/g, '') : '4111111111111111';
      const notifications = this.store.storePaymentOption(id, card);
      this.notifier.send(notifications);
      return { objectId: id, status: 'stored' };
    });
  }

  private view(s: ReturnType<SmartPaySandboxStore['getSubscription']>): Record<string, unknown> {
    return {
      id: s.id,
      planId: s.planId,
      customerAccountId: s.customerAccountId,
      startDate: s.startDate,
      status: s.status,
      nextBillingDate: s.nextBillingDate,
      ...(s.externalMerchantId ? { externalMerchantId: s.externalMerchantId } : {}),
      ...(s.merchantMetadata ? { merchantMetadata: s.merchantMetadata } : {}),
      billingCycles: s.billingCycles,
    };
  }

  private async api<T>(headers: Record<string, string | undefined>, handler: () => T): Promise<T> {
    const { merchantKey, authKey } = this.settings.smartpay;
    const apiKey = headers['x-api-key'];
    if (!apiKey || !constantTimeEqual(apiKey, merchantKey)) {
      throw new HttpException({ code: 'FORBIDDEN', message: 'Forbidden' }, 403);
    }
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(headers.authorization ?? '');
    const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    if (!constantTimeEqual(decoded, `${merchantKey}:${authKey}`)) {
      throw new HttpException({ code: 'UNAUTHORIZED', message: 'invalid credentials' }, 401);
    }
    try {
      await this.faults.beforeRequest('smartpay');
    } catch (err) {
      if (err instanceof InjectedFault) {
        throw new HttpException({ code: 'SERVICE_UNAVAILABLE', message: 'injected fault' }, err.status);
      }
      throw err;
    }
    const result = await this.guard(handler);
    await this.faults.afterRequest('smartpay');
    return result;
  }

  private guard<T>(handler: () => T): Promise<T> {
    try {
      return Promise.resolve(handler());
    } catch (err) {
      if (err instanceof SmartPayApiError) {
        throw new HttpException({ code: err.code, message: err.message }, err.status);
      }
      throw err;
    }
  }
}

/** Test routes: queue cycle outcomes, cancel in SmartPay, send any notification, inspect the state. */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/smartpay/test')
export class SmartPaySandboxToolsController {
  constructor(
    private readonly store: SmartPaySandboxStore,
    private readonly notifier: SmartPayNotifier,
  ) {}

  @Get('state')
  state(): unknown {
    return this.store.state();
  }

  /** `{outcomes: ['succeeded', 'insufficient_funds', ...]}` for the next cycles / PS transactions. */
  @Post('subscriptions/:id/outcomes')
  @HttpCode(200)
  outcomes(@Param('id') id: string, @Body() body: unknown): unknown {
    const outcomes = isObj(body) && Array.isArray(body.outcomes) ? (body.outcomes as unknown[]) : undefined;
    const allowed = ['succeeded', ...SMARTPAY_RESULT_CODES];
    if (!outcomes || !outcomes.every((o) => typeof o === 'string' && allowed.includes(o))) {
      throw new SandboxError('VALIDATION_FAILED', `outcomes: a list of ${allowed.join(', ')}`);
    }
    return { id, nextOutcomes: this.wrap(() => this.store.queueOutcomes(id, outcomes as string[])) };
  }

  @Post('subscriptions/:id/cancel')
  @HttpCode(200)
  cancel(@Param('id') id: string): unknown {
    this.notifier.send(this.wrap(() => this.store.cancel(id)));
    return this.wrap(() => this.store.getSubscription(id));
  }

  /** Sends `body` as a notification once, with valid, invalid or missing Basic credentials; the app's answer. */
  @Post('notifications/send')
  @HttpCode(200)
  send(@Body() body: unknown, @Query('auth') auth: string | undefined): Promise<unknown> {
    const mode: NotifyAuthMode = auth === 'invalid' || auth === 'missing' ? auth : 'valid';
    return this.notifier.sendNow(body, mode);
  }

  @Post('notifications/idle')
  @HttpCode(200)
  idle(): Promise<unknown> {
    return this.notifier.idle(5_000);
  }

  @Get('notifications')
  deliveries(): unknown {
    return this.notifier.dispatcher.deliveries();
  }

  @Post('reset')
  @HttpCode(200)
  reset(): unknown {
    this.store.reset();
    this.notifier.dispatcher.reset();
    return { reset: true };
  }

  private wrap<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SmartPayApiError) {
        throw new SandboxError(err.status === 404 ? 'NOT_FOUND' : 'INVALID_STATE_TRANSITION', err.message);
      }
      throw err;
    }
  }
}
