import { Controller, Headers, HttpCode, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { InjectedFault, SandboxFaults } from '../faults/sandbox-faults';
import { SandboxErrorFilter } from '../shared/sandbox-error';
import { SgAnswer, SmartGlocalSandboxService } from './smart-glocal-sandbox.service';

const METHODS = new Set([
  'session/init/payment',
  'session/status',
  'session/confirm',
  'session/cancel',
  'session/refund',
]);

/**
 * Emulated Smart Glocal session API under `/sandbox/smart-glocal/api/v1/session/...`: JSON over POST, the
 * signature checked on the exact bytes received. Errors are answered in Smart Glocal's own envelope.
 */
@ApiExcludeController()
@UseFilters(SandboxErrorFilter)
@Controller('sandbox/smart-glocal/api/v1/session')
export class SmartGlocalSandboxController {
  constructor(
    private readonly service: SmartGlocalSandboxService,
    private readonly faults: SandboxFaults,
  ) {}

  @Post(':group/:method')
  @HttpCode(200)
  grouped(
    @Param('group') group: string,
    @Param('method') method: string,
    @Req() req: RawBodyRequest<Request>,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SgAnswer['body']> {
    return this.call(`session/${group}/${method}`, req, headers, res);
  }

  @Post(':method')
  @HttpCode(200)
  single(
    @Param('method') method: string,
    @Req() req: RawBodyRequest<Request>,
    @Headers() headers: IncomingHttpHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SgAnswer['body']> {
    return this.call(`session/${method}`, req, headers, res);
  }

  private async call(
    method: string,
    req: RawBodyRequest<Request>,
    headers: IncomingHttpHeaders,
    res: Response,
  ): Promise<SgAnswer['body']> {
    if (!METHODS.has(method)) {
      res.status(404);
      return { status: 'error', error: { code: 'invalid_request', description: `unknown method ${method}` } };
    }
    try {
      await this.faults.beforeRequest('smart-glocal');
    } catch (err) {
      if (err instanceof InjectedFault) {
        res.status(err.status);
        return { status: 'error', error: { code: 'internal_error', description: err.message } };
      }
      throw err;
    }
    const answer = this.service.handle(method, req.rawBody, headers);
    await this.faults.afterRequest('smart-glocal', `POST /${method}`);
    const failed = this.faults.failAfterProcessing('smart-glocal');
    if (failed !== undefined) {
      res.status(failed);
      return { status: 'error', error: { code: 'internal_error', description: 'injected after processing' } };
    }
    res.status(answer.httpStatus);
    return answer.body;
  }
}
