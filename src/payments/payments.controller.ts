import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { Response } from 'express';
import {
  ApiCreatedResponse,
  ApiExcludeEndpoint,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { AuthGuard } from '../auth/auth.guard';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { Idempotent } from '../common/idempotency/idempotency.interceptor';
import { CompletePaymentDto, CreatePaymentDto } from './dto/create-payment.dto';
import { PaymentView, toPaymentView } from './payment.view';
import { PaymentsService } from './payments.service';

@ApiTags('payments')
@ApiSecurity('api-key')
@ApiSecurity('customer-jwt')
@Controller('v1/payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post()
  @UseGuards(AuthGuard)
  @Idempotent('required')
  @ApiHeader({ name: 'Idempotency-Key', required: true, description: 'replays return the first response' })
  @ApiOperation({
    summary: 'Pay an order: authorise + capture (or tokenise a free trial) and report the result to Cleeng',
    description:
      'Answers 201 with status captured, rejected (with a normalised decline), action_required (3DS: follow action.url), pending or unknown (gateway did not answer; resolved later, never charged twice).',
  })
  @ApiCreatedResponse({ type: PaymentView })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreatePaymentDto,
  ): Promise<PaymentView> {
    return toPaymentView(await this.payments.start(principal, dto));
  }

  @Get(':id')
  @UseGuards(AuthGuard)
  @ApiOperation({ summary: 'Read a payment' })
  @ApiOkResponse({ type: PaymentView })
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<PaymentView> {
    return toPaymentView(await this.payments.findForPrincipal(principal, id));
  }

  @Post(':id/complete')
  @HttpCode(200)
  @UseGuards(AuthGuard)
  @Idempotent('optional')
  @ApiOperation({ summary: 'Finish a payment after 3DS / redirect with the gateway return payload' })
  @ApiOkResponse({ type: PaymentView })
  async complete(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: CompletePaymentDto,
  ): Promise<PaymentView> {
    return toPaymentView(await this.payments.complete(principal, id, dto.details));
  }

  /**
   * Default returnUrl: the gateway sends the shopper's browser here, so it has no API key and anyone may call
   * it. It only triggers the idempotent completion with the gateway's own return payload (the gateway checks
   * it; a forged one changes nothing) and reveals nothing: whatever happened, the browser is redirected to
   * SHOPPER_RETURN_URL?paymentId=<id> (or gets a neutral page), and the shop reads the outcome with its key.
   */
  @Get(':id/return')
  @ApiExcludeEndpoint()
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  async return(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    await this.payments.completeFromReturn(id, { query, body: undefined });
    this.land(id, res);
  }

  /**
   * The same return for gateways (or 3DS pages) that send the browser back with a form POST: the form fields
   * are the return payload, and the browser is answered with a GET redirect (303), so a reload never re-posts.
   */
  @Post(':id/return')
  @HttpCode(303)
  @ApiExcludeEndpoint()
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  async returnByPost(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: Record<string, unknown>,
    @Body() body: unknown,
    @Res() res: Response,
  ): Promise<void> {
    await this.payments.completeFromReturn(id, { query, body });
    this.land(id, res, true);
  }

  private land(id: string, res: Response, fromPost = false): void {
    const landing = this.payments.shopperLanding(id);
    if (landing) {
      res.redirect(303, landing);
    } else if (fromPost) {
      res.redirect(303, 'return'); // the same URL, by GET
    } else {
      res.status(200).type('text/plain').send('Thank you. You can close this page.');
    }
  }
}
