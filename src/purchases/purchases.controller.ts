import { Body, Controller, Get, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { Audience, AuthGuard } from '../auth/auth.guard';
import {
  ClientRequestKey,
  ClientRequestKeyOf,
  Idempotent,
} from '../common/idempotency/idempotency.interceptor';
import { CreatePurchaseDto } from './dto/create-purchase.dto';
import { PurchaseView, toPurchaseView } from './purchase.view';
import { PurchasesService } from './purchases.service';

/** One-off Cleverbridge ProcessCart purchases: in-app update, free-to-paid, support-hours upgrade. */
@ApiTags('purchases')
@ApiSecurity('api-key')
@Audience('api')
@UseGuards(AuthGuard)
@Controller('v1/purchases')
export class PurchasesController {
  constructor(private readonly purchases: PurchasesService) {}

  @Post()
  @Idempotent('required')
  @ApiHeader({ name: 'Idempotency-Key', required: true, description: 'replays return the first response' })
  @ApiOperation({
    summary: 'Buy through Cleverbridge ProcessCart with the payment details Cleverbridge holds',
    description:
      '201 with status captured | pending (offline payment) | action_required (send checkoutUrl to the customer; ' +
      'valid 72 h) | rejected (+ decline) | unknown (no answer; settled by the notification or a lookup, never ' +
      'bought twice) | processing (a retry while the first request may still be running). A retry with the same ' +
      'Idempotency-Key after a crash resumes the same purchase. 400 when Cleverbridge refuses the cart.',
  })
  @ApiCreatedResponse({ type: PurchaseView })
  async create(
    @Body() dto: CreatePurchaseDto,
    @ClientRequestKeyOf() request: ClientRequestKey | undefined,
  ): Promise<PurchaseView> {
    return toPurchaseView(await this.purchases.create(dto, request));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a purchase (after a checkout, the notification settles it)' })
  @ApiOkResponse({ type: PurchaseView })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<PurchaseView> {
    return toPurchaseView(await this.purchases.get(id));
  }
}
