import { Body, Controller, Get, HttpCode, Param, Post, Query, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsIn, IsObject, IsOptional } from 'class-validator';
import { SandboxError, SandboxNotFoundError } from '../shared/sandbox-error';
import { IdleResult, WebhookAnswer } from '../webhooks/webhook-dispatcher';
import { AdyenSandboxService, FailModificationResult } from './adyen-sandbox.service';
import { AdyenWebhookDelivery, AdyenWebhookEmitter, SignatureMode } from './adyen-webhook.emitter';
import { SandboxErrorFilter } from '../shared/sandbox-error';

const MAX_IDLE_WAIT_MS = 10_000;

export class SendAdyenNotificationDto {
  @IsArray() @ArrayNotEmpty() @ArrayMaxSize(100) @IsObject({ each: true }) items!: Record<string, unknown>[];
  @IsOptional() @IsIn(['valid', 'invalid', 'missing']) signature?: SignatureMode;
  @IsOptional() @IsIn(['true', 'false']) live?: 'true' | 'false';
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

function failed(psp: string, result: FailModificationResult, what: string): { pspReference: string } {
  if (result.ok) {
    return { pspReference: result.pspReference };
  }
  if (result.problem === 'unknown-payment') {
    throw new SandboxNotFoundError('PAYMENT_NOT_FOUND', psp);
  }
  throw new SandboxError('PAYMENT_NOT_ACTIONABLE', `payment ${psp} has no ${what} that could still fail`);
}

/**
 * Adyen notification webhooks for tests and demos (no auth, sandbox only): the delivery log, waiting for
 * delivery, pausing delivery, sending hand-made (and badly signed) notifications, and failing a capture or
 * refund after the fact.
 */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/adyen')
export class AdyenSandboxWebhooksController {
  constructor(
    private readonly emitter: AdyenWebhookEmitter,
    private readonly service: AdyenSandboxService,
  ) {}

  @Get('webhooks')
  webhooks(): AdyenWebhookDelivery[] {
    return this.emitter.deliveries();
  }

  /** Long-poll (up to 10 s, `?timeoutMs=`): `{idle: true}` once no delivery is in flight (paused ones excepted). */
  @Get('webhooks/idle')
  idle(@Query('timeoutMs') timeoutMs: unknown): Promise<IdleResult> {
    return this.emitter.idle(idleTimeout(timeoutMs));
  }

  /** Holds every notification (new ones and retries) until resume. */
  @Post('webhooks/pause')
  @HttpCode(200)
  pause(): { paused: boolean } {
    this.emitter.pause();
    return { paused: this.emitter.isPaused() };
  }

  @Post('webhooks/resume')
  @HttpCode(200)
  resume(): { paused: boolean } {
    this.emitter.resume();
    return { paused: this.emitter.isPaused() };
  }

  /** `{items, signature?}`: signs each item (or not, or wrongly), sends once now, returns the app's answer. */
  @Post('webhooks/send')
  @HttpCode(200)
  send(@Body() body: SendAdyenNotificationDto): Promise<WebhookAnswer> {
    return this.emitter.sendNow(body.items, body.signature ?? 'valid', body.live ?? 'false');
  }

  /** The last capture of the payment fails after the fact: CAPTURE_FAILED. */
  @Post('payments/:psp/fail-capture')
  @HttpCode(200)
  failCapture(@Param('psp') psp: string): { pspReference: string } {
    return failed(psp, this.service.failCapture(psp), 'capture');
  }

  /** The last refund of the payment fails after the fact: REFUND_FAILED. */
  @Post('payments/:psp/fail-refund')
  @HttpCode(200)
  failRefund(@Param('psp') psp: string): { pspReference: string } {
    return failed(psp, this.service.failRefund(psp), 'refund');
  }
}
