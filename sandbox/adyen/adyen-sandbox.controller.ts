import { Body, Controller, Headers, Param, Post, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { constantTimeEqual } from '../shared/constant-time';
import { SANDBOX_SECRETS } from '../sandbox-settings';
import { InjectedFault, SandboxFaults } from '../faults/sandbox-faults';
import { AdyenApiResponse, AdyenOperationPath, AdyenResponseBody, serviceError } from './adyen-api.types';
import { AdyenSandboxService, unauthorisedResponse } from './adyen-sandbox.service';
import { AdyenSandboxStore } from './adyen-sandbox.store';
import { SandboxErrorFilter } from '../shared/sandbox-error';
import { answerThrough } from '../shared/express-answer';
import type { EmulatorAnswer } from '../shared/bare-json-route';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function injectedFaultResponse(status: number): AdyenApiResponse {
  const errorType = status === 401 || status === 403 ? 'security' : status >= 500 ? 'internal' : 'validation';
  return serviceError(status, '000', STATUS_TEXT[status] ?? `HTTP Status Response - ${status}`, errorType);
}

/**
 * Emulated Adyen Checkout API v71. Emulated errors are returned (with `res.status`), never thrown: the app's
 * exception filter would turn them into our own error format.
 */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/adyen/v71')
export class AdyenSandboxController {
  constructor(
    private readonly service: AdyenSandboxService,
    private readonly faults: SandboxFaults,
    private readonly store: AdyenSandboxStore,
  ) {}

  @Post('payments')
  payments(
    @Body() body: unknown,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdyenResponseBody> {
    return this.call('/payments', body, headers, res);
  }

  @Post('payments/details')
  paymentDetails(
    @Body() body: unknown,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdyenResponseBody> {
    return this.call('/payments/details', body, headers, res);
  }

  @Post('payments/:paymentPspReference/captures')
  capture(
    @Param('paymentPspReference') psp: string,
    @Body() body: unknown,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdyenResponseBody> {
    return this.call('/payments/{paymentPspReference}/captures', body, headers, res, psp);
  }

  @Post('payments/:paymentPspReference/cancels')
  cancel(
    @Param('paymentPspReference') psp: string,
    @Body() body: unknown,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdyenResponseBody> {
    return this.call('/payments/{paymentPspReference}/cancels', body, headers, res, psp);
  }

  @Post('payments/:paymentPspReference/refunds')
  refund(
    @Param('paymentPspReference') psp: string,
    @Body() body: unknown,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdyenResponseBody> {
    return this.call('/payments/{paymentPspReference}/refunds', body, headers, res, psp);
  }

  @Post('payments/:paymentPspReference/reversals')
  reverse(
    @Param('paymentPspReference') psp: string,
    @Body() body: unknown,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdyenResponseBody> {
    return this.call('/payments/{paymentPspReference}/reversals', body, headers, res, psp);
  }

  @Post('cancels')
  cancelByReference(
    @Body() body: unknown,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdyenResponseBody> {
    return this.call('/cancels', body, headers, res);
  }

  @Post('storedPaymentMethods')
  storedPaymentMethods(
    @Body() body: unknown,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AdyenResponseBody> {
    return this.call('/storedPaymentMethods', body, headers, res);
  }

  /** One Nest route's call, answered by `answer`. */
  private async call(
    path: AdyenOperationPath,
    body: unknown,
    headers: IncomingHttpHeaders,
    res: Response,
    paymentPspReference?: string,
  ): Promise<AdyenResponseBody> {
    return answerThrough(res, await this.answer(path, body, headers, paymentPspReference));
  }

  /**
   * One API call without HTTP framework objects, so that the Nest routes above and the standalone emulators' bare
   * routes (bare-json-route.ts), which the benchmarks go through, answer alike: faults first (nothing processed),
   * then auth and processing, then a possibly held response.
   */
  async answer(
    path: AdyenOperationPath,
    body: unknown,
    headers: IncomingHttpHeaders,
    paymentPspReference?: string,
  ): Promise<EmulatorAnswer<AdyenResponseBody>> {
    const idempotencyKey = headers['idempotency-key'];
    const logged = (status: number): void =>
      this.store.logRequest({
        method: 'POST',
        path: paymentPspReference ? path.replace('{paymentPspReference}', paymentPspReference) : path,
        status,
        ...(typeof idempotencyKey === 'string' ? { idempotencyKey } : {}),
      });
    try {
      await this.faults.beforeRequest('adyen');
    } catch (error: unknown) {
      if (error instanceof InjectedFault) {
        logged(error.status);
        return injectedFaultResponse(error.status);
      }
      throw error;
    }
    const apiKey = headers['x-api-key'];
    const response =
      typeof apiKey === 'string' && constantTimeEqual(apiKey, SANDBOX_SECRETS.adyenApiKey)
        ? this.service.handle(path, body, {
            headers,
            ...(paymentPspReference ? { paymentPspReference } : {}),
          })
        : unauthorisedResponse();
    logged(response.status);
    await this.faults.afterRequest('adyen', `POST ${path}`);
    // Adyen echoes the key so clients can tell the request was handled idempotently.
    const echoed = typeof idempotencyKey === 'string' && response.status < 300;
    return echoed ? { ...response, headers: { 'Idempotency-Key': idempotencyKey } } : response;
  }
}
