import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { SandboxErrorFilter } from '../shared/sandbox-error';
import { IdleResult, WebhookAnswer } from '../webhooks/webhook-dispatcher';
import { SgSessionView, SmartGlocalSandboxService } from './smart-glocal-sandbox.service';

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function idleTimeout(raw: unknown): number {
  const n = Number(raw ?? 5000);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 10_000) : 5000;
}

/**
 * The emulator's non-Smart-Glocal surface: the 3DS page the shopper is sent to, and test routes (sessions,
 * request log, webhook log / idle / one-off sends, the amount-mismatch hook). Sandbox only, no credentials.
 */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/smart-glocal')
export class SmartGlocalSandboxToolsController {
  constructor(private readonly service: SmartGlocalSandboxService) {}

  @Get('3ds/:id')
  challengePage(@Param('id') id: string, @Res() res: Response): void {
    const session = this.service.challenge(id);
    if (!session) {
      res
        .status(404)
        .type('html')
        .send('<!doctype html><title>Unknown session</title><p>Unknown 3DS session.</p>');
      return;
    }
    const base = encodeURIComponent(id);
    res
      .status(200)
      .type('html')
      .send(
        `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>3-D Secure – Smart Glocal sandbox</title></head><body>
<h1>3-D Secure</h1>
<p>Session <strong>${escapeHtml(session.id)}</strong>: ${session.amount.amount} ${escapeHtml(session.amount.currency.toUpperCase())} (minor units).</p>
<p><a id="approve" href="${base}/approve">Approve</a> <a id="deny" href="${base}/deny">Deny</a></p>
</body></html>`,
      );
  }

  /** The shopper's answer: the payment finishes (webhook) and the browser goes back to `return_url`. */
  @Get('3ds/:id/:decision')
  decide(@Param('id') id: string, @Param('decision') decision: string, @Res() res: Response): void {
    if (decision !== 'approve' && decision !== 'deny') {
      throw new NotFoundException();
    }
    const back = this.service.decide(id, decision === 'approve');
    if (back === undefined) {
      res.status(200).type('html').send('<!doctype html><p>This session no longer waits for you.</p>');
      return;
    }
    res.redirect(302, back);
  }

  @Get('sessions')
  sessions(): SgSessionView[] {
    return this.service.list();
  }

  @Get('sessions/:id')
  session(@Param('id') id: string): SgSessionView {
    const found = this.service.find(id);
    if (!found) {
      throw new NotFoundException(`session ${id} not found`);
    }
    return found;
  }

  @Get('requests')
  requests(): unknown[] {
    return this.service.requests;
  }

  @Get('webhooks')
  webhooks(): unknown[] {
    return this.service.deliveries();
  }

  @Get('webhooks/idle')
  idle(@Query('timeoutMs') timeoutMs: unknown): Promise<IdleResult> {
    return this.service.dispatcher.idle(idleTimeout(timeoutMs));
  }

  /** Deliveries wait until resume (tests: a webhook held back while the clock moves, or delivered late). */
  @Post('webhooks/pause')
  @HttpCode(200)
  pause(): { paused: boolean } {
    this.service.dispatcher.pause();
    return { paused: true };
  }

  @Post('webhooks/resume')
  @HttpCode(200)
  resume(): { paused: boolean } {
    this.service.dispatcher.resume();
    return { paused: false };
  }

  /** One webhook about a session, now: `{sessionId, type, signature?: 'valid'|'invalid'|'missing'}`. */
  @Post('webhooks/send')
  @HttpCode(200)
  async send(@Body() body: unknown): Promise<WebhookAnswer> {
    const { sessionId, type, signature } = (body ?? {}) as Record<string, unknown>;
    if (typeof sessionId !== 'string' || typeof type !== 'string') {
      throw new BadRequestException('sessionId and type are required');
    }
    const mode = signature === 'invalid' || signature === 'missing' ? signature : 'valid';
    const sent = this.service.sendOnce(sessionId, type, mode);
    if (!sent) {
      throw new NotFoundException(`session ${sessionId} not found`);
    }
    return sent;
  }

  /** Test hook: the next `ready_to_confirm` names `delta` minor units more than the payment's amount. */
  @Post('next-confirm-amount-delta')
  @HttpCode(200)
  confirmDelta(@Body() body: unknown): { delta: number } {
    const delta = Number((body as { delta?: unknown } | null)?.delta);
    if (!Number.isSafeInteger(delta)) {
      throw new BadRequestException('delta must be an integer');
    }
    this.service.nextConfirmAmountDelta(delta);
    return { delta };
  }
}
