import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { Audience, AuthGuard } from '../auth/auth.guard';
import { Idempotent } from '../common/idempotency/idempotency.interceptor';
import { CreateSubscriptionDto } from './dto/create-subscription.dto';
import { SubscriptionView, toSubscriptionView } from './subscription.view';
import { SubscriptionsService } from './subscriptions.service';

/** Connector-managed subscriptions (billing mode 3): the connector owns the schedule and rebills. */
@ApiTags('subscriptions')
@ApiSecurity('api-key')
@Audience('api')
@UseGuards(AuthGuard)
@Controller('v1/subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Post()
  @Idempotent('optional')
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'replays return the first response' })
  @ApiOperation({
    summary: 'Create a connector-managed subscription',
    description:
      "active when externalSubscriptionId is given, else pending until the first purchase's PaidOrderNotification " +
      'names the gateway subscription (send x-connector-subscription: <id> with that purchase).',
  })
  @ApiCreatedResponse({ type: SubscriptionView })
  async create(@Body() dto: CreateSubscriptionDto): Promise<SubscriptionView> {
    const { subscription, attempts } = await this.subscriptions.create(dto);
    return toSubscriptionView(subscription, attempts);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a subscription with its rebill attempts (newest period first)' })
  @ApiOkResponse({ type: SubscriptionView })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<SubscriptionView> {
    const { subscription, attempts } = await this.subscriptions.get(id);
    return toSubscriptionView(subscription, attempts);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel: no further rebills (an unresolved charge is still resolved under its key)',
  })
  @ApiOkResponse({ type: SubscriptionView })
  async cancel(@Param('id', ParseUUIDPipe) id: string): Promise<SubscriptionView> {
    const { subscription, attempts } = await this.subscriptions.cancel(id);
    return toSubscriptionView(subscription, attempts);
  }
}
