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
import { AdyenSandboxService } from './adyen-sandbox.service';
import {
  AdyenLedger,
  AdyenRequestLogEntry,
  AdyenSandboxEvent,
  AdyenSandboxStore,
  SandboxIdempotencyRecord,
} from './adyen-sandbox.store';
import { AdyenWebhookEmitter } from './adyen-webhook.emitter';
import { SandboxErrorFilter } from '../shared/sandbox-error';

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export interface StoredPaymentMethodView {
  id: string;
  shopperReference: string;
  brand: string;
  last4: string;
  expiryMonth?: string;
  expiryYear?: string;
  behaveAs?: string;
  createdAt: string;
}

/**
 * The emulator's non-Adyen surface: the 3DS challenge page the shopper is redirected to, and test/inspection
 * routes (ledger, reset, idempotency keys, events, stored tokens). No API key: sandbox only.
 */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/adyen')
export class AdyenSandboxToolsController {
  constructor(
    private readonly service: AdyenSandboxService,
    private readonly store: AdyenSandboxStore,
    private readonly webhooks: AdyenWebhookEmitter,
  ) {}

  @Get('3ds/:id')
  challengePage(@Param('id') id: string, @Res() res: Response): void {
    const found = this.service.challenge(id);
    if (!found) {
      res
        .status(404)
        .type('html')
        .send('<!doctype html><title>Unknown 3DS session</title><p>Unknown 3DS session.</p>');
      return;
    }
    const { payment } = found;
    // relative to /sandbox/adyen/3ds/:id, so the page also works behind a path-rewriting proxy
    const base = encodeURIComponent(id);
    res
      .status(200)
      .type('html')
      .send(
        `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>3D Secure – sandbox</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:3rem auto}a{display:inline-block;padding:.6rem 1.2rem;margin-right:.5rem;border-radius:4px;color:#fff;text-decoration:none}#approve{background:#1a7f37}#deny{background:#b42318}</style>
</head><body>
<h1>3D Secure challenge</h1>
<p>Sandbox issuer authentication for payment <strong>${escapeHtml(payment.merchantReference)}</strong>:
${payment.amount.value} (minor units) ${escapeHtml(payment.amount.currency)}, card ending ${escapeHtml(payment.card.last4)}.</p>
<p><a id="approve" href="${base}/approve">Approve</a><a id="deny" href="${base}/deny">Deny</a></p>
</body></html>`,
      );
  }

  @Get('3ds/:id/approve')
  approve(@Param('id') id: string, @Res() res: Response): void {
    this.redirectAfterChallenge(id, 'approved', res);
  }

  @Get('3ds/:id/deny')
  deny(@Param('id') id: string, @Res() res: Response): void {
    this.redirectAfterChallenge(id, 'denied', res);
  }

  @Get('ledger')
  ledger(@Query('merchantReference') merchantReference: unknown): AdyenLedger {
    return this.store.ledger(optionalString(merchantReference));
  }

  @Post('reset')
  @HttpCode(204)
  reset(): void {
    this.store.reset();
    // the delivery log only: a pause stays in force, deliveries under way continue
    this.webhooks.reset();
  }

  /** Every call that reached the emulated Checkout API, in order: how tests count gateway calls. */
  @Get('requests')
  requests(): AdyenRequestLogEntry[] {
    return this.store.requests();
  }

  @Get('idempotency')
  idempotency(@Query('key') key: unknown): Omit<SandboxIdempotencyRecord, 'fingerprint'>[] {
    const wanted = optionalString(key);
    return [...this.store.idempotency.values()]
      .filter((r) => wanted === undefined || r.key === wanted)
      .map(({ fingerprint: _fingerprint, ...record }) => record);
  }

  @Get('events')
  events(@Query('merchantReference') merchantReference: unknown): AdyenSandboxEvent[] {
    const wanted = optionalString(merchantReference);
    return this.store.events.filter((e) => wanted === undefined || e.merchantReference === wanted);
  }

  @Get('stored-payment-methods')
  storedPaymentMethods(@Query('shopperReference') shopperReference: unknown): StoredPaymentMethodView[] {
    const wanted = optionalString(shopperReference);
    return [...this.store.storedPaymentMethods.values()]
      .filter((t) => wanted === undefined || t.shopperReference === wanted)
      .map((t) => ({
        id: t.id,
        shopperReference: t.shopperReference,
        brand: t.card.brand,
        last4: t.card.last4,
        ...(t.card.expiryMonth && t.card.expiryYear
          ? { expiryMonth: t.card.expiryMonth, expiryYear: t.card.expiryYear }
          : {}),
        ...(t.behaveAs ? { behaveAs: t.behaveAs } : {}),
        createdAt: t.createdAt,
      }));
  }

  /** `{"behaveAs": "4000000000009995"}` makes later charges with the token decline; `{}` restores it. */
  @Post('stored-payment-methods/:id/behaviour')
  @HttpCode(204)
  setTokenBehaviour(@Param('id') id: string, @Body() body: unknown): void {
    const behaveAs =
      typeof body === 'object' && body !== null && 'behaveAs' in body ? body.behaveAs : undefined;
    if (behaveAs !== undefined && behaveAs !== null && typeof behaveAs !== 'string') {
      throw new BadRequestException('behaveAs must be a test card number or null');
    }
    const result = this.service.setTokenBehaviour(id, behaveAs ?? undefined);
    if (result === false) {
      throw new NotFoundException(`unknown storedPaymentMethodId ${id}`);
    }
    if (result === 'not-a-test-card') {
      throw new BadRequestException('behaveAs must be one of the sandbox test cards');
    }
  }

  private redirectAfterChallenge(id: string, decision: 'approved' | 'denied', res: Response): void {
    const location = this.service.resolveChallenge(id, decision);
    if (!location) {
      res
        .status(404)
        .type('html')
        .send('<!doctype html><title>Unknown 3DS session</title><p>Unknown 3DS session.</p>');
      return;
    }
    res.redirect(302, location);
  }
}
