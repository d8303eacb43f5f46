import { Body, Controller, Headers, Post, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { Audience, AuthGuard } from '../auth/auth.guard';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { callerScopedKey, Principal } from '../auth/principal';
import { Idempotent } from '../common/idempotency/idempotency.interceptor';
import { Money } from '../common/money/money';
import { PaymentsService } from '../payments/payments.service';
import { CreateRefundDto } from './dto/create-refund.dto';
import { RefundView, toRefundView } from './refund.view';
import { RefundsService } from './refunds.service';

@ApiTags('refunds')
@ApiSecurity('api-key')
@Audience('api')
@UseGuards(AuthGuard)
@Controller('v1/refunds')
export class RefundsController {
  constructor(
    private readonly refunds: RefundsService,
    private readonly payments: PaymentsService,
  ) {}

  @Post()
  @Idempotent('optional')
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiOperation({
    summary: 'Refund a captured payment (full or partial) in the gateway, then in Cleeng',
    description:
      'status: succeeded, pending (gateway confirms by webhook), unknown (retried) or failed. Never more than captured.',
  })
  @ApiCreatedResponse({ type: RefundView })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateRefundDto,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<RefundView> {
    const payment = await this.payments.findForPrincipal(principal, dto.paymentId);
    const refund = await this.refunds.refund({
      payment,
      ...(dto.amount ? { amount: Money.of(dto.amount.value, dto.amount.currency) } : {}),
      ...(dto.reason ? { reason: dto.reason } : {}),
      source: 'api',
      // the caller's key, not a global one: another client reusing "1" gets its own refund
      sourceKey: idempotencyKey ? callerScopedKey(principal, idempotencyKey) : `api:${randomUUID()}`,
    });
    return toRefundView(refund);
  }
}
