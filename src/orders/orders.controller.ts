import { Body, Controller, Get, Headers, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import {
  ApiCreatedResponse,
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
import { CreateOrderDto } from './dto/create-order.dto';
import { OrderView, toOrderView } from './order.view';
import { OrdersService } from './orders.service';

@ApiTags('orders')
@ApiSecurity('api-key')
@ApiSecurity('customer-jwt')
@UseGuards(AuthGuard)
@Controller('v1/orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @Idempotent('optional')
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiOperation({ summary: 'Create a Cleeng order for an offer and mirror it (the amount to charge)' })
  @ApiCreatedResponse({ type: OrderView })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateOrderDto,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<OrderView> {
    return toOrderView(await this.orders.create(principal, dto, idempotencyKey));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read an order' })
  @ApiOkResponse({ type: OrderView })
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<OrderView> {
    return toOrderView(await this.orders.findForPrincipal(principal, id));
  }
}
