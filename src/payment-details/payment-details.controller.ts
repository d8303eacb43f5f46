import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { AuthGuard } from '../auth/auth.guard';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import {
  ClientRequestKey,
  ClientRequestKeyOf,
  Idempotent,
} from '../common/idempotency/idempotency.interceptor';
import { TokeniseRateLimit } from '../rate-limit/rate-limit.decorators';
import { CreatePaymentDetailsDto, ListPaymentDetailsQuery } from './dto/create-payment-details.dto';
import { PaymentDetailsView, toPaymentDetailsView } from './payment-details.view';
import { PaymentDetailsService } from './payment-details.service';

@ApiTags('payment-details')
@ApiSecurity('api-key')
@ApiSecurity('customer-jwt')
@UseGuards(AuthGuard)
@Controller('v1/payment-details')
export class PaymentDetailsController {
  constructor(private readonly details: PaymentDetailsService) {}

  @Post()
  @TokeniseRateLimit()
  @Idempotent('optional')
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'replays return the first response; a retry after a crash resumes the same tokenisation',
  })
  @ApiOperation({
    summary: 'Update payment details: tokenise a new card (no charge) and create Cleeng payment details',
    description: 'Cleeng deactivates the old details and sends paymentDetailsDeactivated to their connector.',
  })
  @ApiCreatedResponse({ type: PaymentDetailsView })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreatePaymentDetailsDto,
    @ClientRequestKeyOf() request: ClientRequestKey | undefined,
  ): Promise<PaymentDetailsView> {
    return toPaymentDetailsView(await this.details.register(principal, dto, request));
  }

  @Get()
  @ApiOperation({ summary: "A customer's payment details (never the token)" })
  @ApiOkResponse({ type: [PaymentDetailsView] })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListPaymentDetailsQuery,
  ): Promise<PaymentDetailsView[]> {
    return (await this.details.list(principal, query.customerId)).map(toPaymentDetailsView);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete payment details here and in Cleeng' })
  @ApiNoContentResponse({ description: 'deleted here and in Cleeng' })
  async remove(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<void> {
    await this.details.delete(principal, id);
  }
}
