import { Body, Controller, Get, HttpCode, Post, Query, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsPositive,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { SandboxError } from '../shared/sandbox-error';
import { IdleResult, WebhookAnswer } from '../webhooks/webhook-dispatcher';
import { CleengSandboxOperator } from './cleeng-sandbox-operator';
import { CleengSandboxStore, DunningSettings, RenewalState } from './cleeng-sandbox.store';
import { CleengRenewalScheduler, RenewalFired } from './cleeng-renewals';
import { CleengWebhookDelivery, CleengWebhookEmitter, SignatureMode } from './cleeng-webhook.emitter';
import { SandboxErrorFilter } from '../shared/sandbox-error';

const MAX_IDLE_WAIT_MS = 10_000;
const MAX_HOURS = 24 * 400;

/** Cleeng ids arrive as JSON numbers or digit strings (its own examples use both). */
const toId = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;

export class DunningDto {
  @IsBoolean() authoriseFirst!: boolean;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(12)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_HOURS, { each: true })
  paymentAttempts?: number[];

  @IsOptional() @IsInt() @Min(0) @Max(MAX_HOURS) gracePeriodHours?: number;
}

export class OperatorRefundDto {
  @Transform(toId) @IsInt() @IsPositive() paymentId!: number;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @IsPositive() amount?: number;
  @IsOptional() @IsString() @MaxLength(255) reason?: string;
}

export class OperatorCaptureDto {
  @Transform(toId) @IsInt() @IsPositive() paymentId!: number;
}

export class OperatorTerminateDto {
  @Transform(toId) @IsInt() @IsPositive() subscriptionId!: number;
}

export class OperatorDeactivateDto {
  @Transform(toId) @IsInt() @IsPositive() paymentDetailsId!: number;
}

export class SendCleengWebhookDto {
  @IsString() @IsNotEmpty() @MaxLength(100) topic!: string;
  @IsObject() data!: Record<string, unknown>;
  @IsOptional() @IsIn(['valid', 'invalid', 'missing']) signature?: SignatureMode;
}

export interface RenewalStateView {
  subscriptionId: number;
  dueAt: string;
  attempts: {
    index: number;
    scheduledAt: string;
    firedAt: string;
    topic: string;
    captureFiredFor?: number;
  }[];
  terminationFiredAt?: string;
}

function idleTimeout(raw: unknown): number {
  if (raw === undefined || raw === '') {
    return MAX_IDLE_WAIT_MS;
  }
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) {
    throw new SandboxError('VALIDATION_FAILED', 'timeoutMs: must be a non-negative number', [
      { field: 'timeoutMs', messages: ['must be a non-negative number'] },
    ]);
  }
  return Math.min(ms, MAX_IDLE_WAIT_MS);
}

function view(state: RenewalState): RenewalStateView {
  return {
    subscriptionId: state.subscriptionId,
    dueAt: state.dueAt.toISOString(),
    attempts: state.attempts.map((a) => ({
      index: a.index,
      scheduledAt: a.scheduledAt.toISOString(),
      firedAt: a.firedAt.toISOString(),
      topic: a.topic,
      ...(a.captureFiredFor !== undefined ? { captureFiredFor: a.captureFiredFor } : {}),
    })),
    ...(state.terminationFiredAt ? { terminationFiredAt: state.terminationFiredAt.toISOString() } : {}),
  };
}

/**
 * Cleeng's side of the conversation, for tests and demos (no auth, sandbox only): the webhook delivery log,
 * dunning settings, renewals, and the operator actions that make Cleeng send refund/capture/termination/
 * payment-details webhooks.
 */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/cleeng')
export class CleengSandboxWebhooksController {
  constructor(
    private readonly emitter: CleengWebhookEmitter,
    private readonly renewals: CleengRenewalScheduler,
    private readonly operator: CleengSandboxOperator,
    private readonly store: CleengSandboxStore,
  ) {}

  @Get('webhooks')
  webhooks(): CleengWebhookDelivery[] {
    return this.emitter.deliveries();
  }

  /** Long-poll (up to 10 s, `?timeoutMs=`): `{idle: true}` once no webhook delivery is in flight. */
  @Get('webhooks/idle')
  idle(@Query('timeoutMs') timeoutMs: unknown): Promise<IdleResult> {
    return this.emitter.idle(idleTimeout(timeoutMs));
  }

  /** Sends one webhook now (signature valid, invalid or missing) and returns the app's `{status, body}`. */
  @Post('webhooks/send')
  @HttpCode(200)
  send(@Body() body: SendCleengWebhookDto): Promise<WebhookAnswer> {
    return this.emitter.sendNow(body.topic, body.data, body.signature ?? 'valid');
  }

  @Get('dunning')
  dunning(): DunningSettings {
    return this.store.dunningSettings();
  }

  /** `{authoriseFirst, paymentAttempts?: hours after the due date, gracePeriodHours?}`; omitted = defaults. */
  @Post('dunning')
  @HttpCode(200)
  setDunning(@Body() body: DunningDto): DunningSettings {
    const attempts = body.paymentAttempts;
    if (attempts?.some((hours, i) => i > 0 && hours <= (attempts[i - 1] ?? 0))) {
      throw new SandboxError('VALIDATION_FAILED', 'paymentAttempts: must be strictly increasing', [
        { field: 'paymentAttempts', messages: ['must be strictly increasing'] },
      ]);
    }
    return this.store.setDunning({
      authoriseFirst: body.authoriseFirst,
      ...(attempts !== undefined ? { paymentAttempts: attempts } : {}),
      ...(body.gracePeriodHours !== undefined ? { gracePeriodHours: body.gracePeriodHours } : {}),
    });
  }

  /** Fires whatever renewal webhook is due at the current sandbox time (at most one per subscription). */
  @Post('renewals/run')
  @HttpCode(200)
  runRenewals(): { fired: RenewalFired[] } {
    return { fired: this.renewals.runDue() };
  }

  @Get('renewals')
  renewalStates(): RenewalStateView[] {
    return this.store.renewalStates().map(view);
  }

  @Post('operator/refund')
  @HttpCode(200)
  refund(@Body() body: OperatorRefundDto): { webhooks: CleengWebhookDelivery[] } {
    return { webhooks: this.operator.refund(body.paymentId, body.amount, body.reason) };
  }

  @Post('operator/capture')
  @HttpCode(200)
  capture(@Body() body: OperatorCaptureDto): { webhooks: CleengWebhookDelivery[] } {
    return { webhooks: this.operator.capture(body.paymentId) };
  }

  @Post('operator/terminate')
  @HttpCode(200)
  terminate(@Body() body: OperatorTerminateDto): { webhooks: CleengWebhookDelivery[] } {
    return { webhooks: this.operator.terminate(body.subscriptionId) };
  }

  @Post('operator/deactivate-payment-details')
  @HttpCode(200)
  deactivate(@Body() body: OperatorDeactivateDto): { paymentDetailsId: number; active: false } {
    return this.operator.deactivatePaymentDetails(body.paymentDetailsId);
  }
}
