import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { canonicalJson } from '../shared/canonical-json';
import { headerValue } from '../shared/headers';
import { constantTimeEqual } from '../shared/constant-time';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import { SANDBOX_SECRETS } from '../sandbox-settings';
import { InjectedFault, SandboxFaults } from '../faults/sandbox-faults';
import { CleengSandboxApi } from './cleeng-sandbox.api';
import { CleengSandboxState, CleengSandboxStore } from './cleeng-sandbox.store';
import { RequestLogEntry } from './cleeng-sandbox.types';
import { CleengWebhookEmitter } from './cleeng-webhook.emitter';
import { CleengBody, CleengResponse, failure } from './cleeng-sandbox.wire';
import { SandboxErrorFilter } from '../shared/sandbox-error';
import { answerThrough } from '../shared/express-answer';
import type { EmulatorAnswer } from '../shared/bare-json-route';

/** One call to the emulated API, as read off the wire. */
export interface CleengCall {
  method: string;
  /** without the query string */
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** Cleeng Core API 3.1 as the connector calls it, under /sandbox/cleeng/3.1. */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/cleeng/3.1')
export class CleengSandboxController {
  private readonly acceptedTokens: string[];

  constructor(
    private readonly api: CleengSandboxApi,
    private readonly store: CleengSandboxStore,
    private readonly faults: SandboxFaults,
    @Inject(SANDBOX_SETTINGS) config: SandboxSettings,
  ) {
    // The fixed sandbox token, plus a CLEENG_PUBLISHER_TOKEN someone set while still pointing at the sandbox.
    this.acceptedTokens = [...new Set([SANDBOX_SECRETS.cleengPublisherToken, config.cleeng.publisherToken])];
  }

  @Post('orders')
  createOrder(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: unknown,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.createOrder(body));
  }

  @Post('payments')
  createPayment(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: unknown,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.createPayment(body));
  }

  @Patch('payments/:id')
  updatePayment(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.updatePayment(id, body));
  }

  @Patch('payments/:id/cancel')
  cancelPayment(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.cancelPayment(id));
  }

  @Post('payment_details')
  createPaymentDetails(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: unknown,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.createPaymentDetails(body));
  }

  @Get('payment_details/:id/authorised_payments')
  authorisedPayments(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.authorisedPayments(id));
  }

  @Delete('payment_details/:id')
  deletePaymentDetails(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.deletePaymentDetails(id));
  }

  @Get('webhook_subscriptions')
  listWebhookSubscriptions(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.listWebhookSubscriptions());
  }

  @Put('webhook_subscriptions/:topic')
  putWebhookSubscription(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('topic') topic: string,
    @Body() body: unknown,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.putWebhookSubscription(topic, body));
  }

  @Get('subscriptions')
  listSubscriptions(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Query() query: Record<string, unknown>,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.listSubscriptions(query));
  }

  @Patch('subscriptions/:id')
  updateSubscription(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.updateSubscription(id, body));
  }

  @Post('subscriptions/:id/terminate')
  terminateSubscription(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<CleengBody> {
    return this.exchange(req, res, () => this.api.terminateSubscription(id, body));
  }

  /** One Nest route's exchange, answered by `answer`. */
  private async exchange(req: Request, res: Response, operation: () => CleengResponse): Promise<CleengBody> {
    const path = req.originalUrl.split('?')[0] ?? req.originalUrl;
    return answerThrough(
      res,
      await this.answer(
        { method: req.method, path, headers: req.headers, body: req.body as unknown },
        operation,
      ),
    );
  }

  /**
   * Everything around one operation, without HTTP framework objects (the Nest routes above and the standalone
   * emulators' bare routes, bare-json-route.ts, answer alike): injected faults, the publisher token,
   * Idempotency-Key replay, the request log. The operation itself is synchronous, so nothing interleaves between
   * the idempotency lookup and storing its result.
   */
  async answer(call: CleengCall, operation: () => CleengResponse): Promise<EmulatorAnswer<CleengBody>> {
    const { method, path, headers } = call;
    const idempotencyKey =
      method === 'GET' ? undefined : headerValue(headers, 'idempotency-key')?.trim() || undefined;
    const entry: Omit<RequestLogEntry, 'at' | 'status'> = {
      method,
      path,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    };

    try {
      await this.faults.beforeRequest('cleeng', `${method} ${path}`);
    } catch (error) {
      if (error instanceof InjectedFault) {
        this.store.logRequest({ ...entry, status: error.status });
        const answer = { status: error.status, body: { success: false, message: error.message } };
        return error.retryAfterSeconds !== undefined && (error.status === 429 || error.status === 503)
          ? { ...answer, headers: { 'Retry-After': String(error.retryAfterSeconds) } }
          : answer;
      }
      throw error;
    }

    let response: CleengResponse;
    let replayed = false;
    if (!this.authorised(headerValue(headers, 'x-publisher-token'))) {
      response = failure(401, 'Invalid or missing X-Publisher-Token');
    } else if (idempotencyKey === undefined) {
      response = operation();
    } else {
      const result = this.store.idempotent(
        `${method} ${path}`,
        idempotencyKey,
        canonicalJson(call.body),
        operation,
      );
      switch (result.kind) {
        case 'fresh':
          response = result.response;
          break;
        case 'replayed':
          response = result.response;
          replayed = true;
          break;
        case 'conflict':
          response = failure(
            409,
            `Idempotency-Key ${idempotencyKey} was already used with a different request`,
          );
          break;
      }
    }
    this.store.logRequest({ ...entry, status: response.status, ...(replayed ? { replayed } : {}) });

    await this.faults.afterRequest('cleeng', `${method} ${path}`);
    return response;
  }

  private authorised(token: string | undefined): boolean {
    return token !== undefined && this.acceptedTokens.some((accepted) => constantTimeEqual(token, accepted));
  }
}

/** Test inspection, no auth: what the emulator holds and which calls reached it. */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/cleeng')
export class CleengSandboxInspectionController {
  constructor(
    private readonly store: CleengSandboxStore,
    private readonly webhooks: CleengWebhookEmitter,
  ) {}

  @Get('state')
  state(): CleengSandboxState {
    return this.store.snapshot();
  }

  @Get('requests')
  requests(): RequestLogEntry[] {
    return this.store.requests();
  }

  @Post('reset')
  @HttpCode(200)
  reset(): { success: true } {
    this.store.reset();
    this.webhooks.reset();
    return { success: true };
  }
}
