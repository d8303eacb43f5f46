import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn, IsNumberString, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { randomInt, randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { SANDBOX_SETTINGS, SandboxSettings } from '../sandbox-settings';
import { AppAnswer, DemoApi } from './demo-api';
import { DEMO_CARDS, DEMO_GATEWAYS, DEMO_OFFERS, offerInterval } from './demo-catalogue';
import {
  actionPage,
  cartResultPage,
  checkoutForm,
  cleengPanel,
  CleengView,
  DEMO_SCRIPT,
  DemoAction,
  page,
  resultPage,
  esc,
  gatewayCyclesPanel,
} from './demo.views';

export class CheckoutFormDto {
  @Matches(/^\d{1,12}$/, { message: 'customerId must be 1 to 12 digits' })
  customerId!: string;
  @IsIn(DEMO_OFFERS.map((o) => o.id))
  offerId!: string;
  @IsIn(DEMO_GATEWAYS.map((g) => g.id))
  gateway!: string;
  @IsIn(DEMO_CARDS.map((c) => c.number))
  card!: string;
}

export class AdvanceFormDto {
  @IsOptional()
  @IsNumberString()
  @MaxLength(3)
  days?: string;
}

export class EmptyFormDto {
  @IsOptional()
  @IsString()
  @MaxLength(0)
  unused?: string;
}

/** One checkout the demo started: which payment an order's return belongs to (kept in memory: a demo). */
interface DemoCheckout {
  customerId: string;
  gateway?: string;
  paymentId?: string;
  /** cart flow: our purchase id and connector-managed subscription id */
  purchaseId?: string;
  subscriptionId?: string;
  /** widget flow: the gateway's own subscription (it bills the cycles) */
  gatewaySubscriptionId?: string;
}

/**
 * The demo checkout (/demo, SANDBOX=true only): a shop's front and back end in a few pages. It talks to the
 * connector over HTTP with the sandbox keys, renders whatever action a gateway asks for, and shows what the
 * Cleeng emulator received. Forms carry no CSRF token: this is a sandbox page with test data only.
 */
@ApiExcludeController()
@Controller('demo')
export class DemoController {
  private readonly api: DemoApi;
  private readonly checkouts = new Map<string, DemoCheckout>();

  constructor(@Inject(SANDBOX_SETTINGS) settings: SandboxSettings) {
    this.api = new DemoApi(settings.publicUrl);
  }

  @Get()
  form(@Res() res: Response): void {
    res.type('html').send(checkoutForm(String(randomInt(100_000_000, 999_999_999))));
  }

  @Get('assets/demo.js')
  script(@Res() res: Response): void {
    res.type('text/javascript').send(DEMO_SCRIPT);
  }

  @Post('checkout')
  @HttpCode(303)
  async checkout(@Body() form: CheckoutFormDto, @Res() res: Response): Promise<void> {
    const gateway = DEMO_GATEWAYS.find((g) => g.id === form.gateway);
    const offer = DEMO_OFFERS.find((o) => o.id === form.offerId);
    if (!gateway || !offer) {
      res.status(400).type('html').send(checkoutForm(form.customerId, 'unknown offer or gateway'));
      return;
    }
    if (gateway.flow === 'cart') {
      await this.cartCheckout(form.customerId, gateway.id, gateway.productId ?? '', offer, res);
      return;
    }
    const order = await this.api.call('POST', '/v1/orders', {
      body: {
        customerId: form.customerId,
        offerId: offer.id,
        currency: offer.currency,
        country: gateway.country,
        gateway: gateway.id,
      },
    });
    if (order.status !== 201) {
      res
        .status(502)
        .type('html')
        .send(checkoutForm(form.customerId, `order refused: ${JSON.stringify(order.body)}`));
      return;
    }
    const orderId = String(order.body.id);
    this.checkouts.set(orderId, { customerId: form.customerId });
    const paymentMethod =
      gateway.flow === 'widget'
        ? // gateway-managed: no card here (the widget stores it); the plan's period is the offer's
          {
            billingPeriod: offerInterval(offer.period),
            billingAddress: {
              addressLine1: '1 Main St',
              city: 'Springfield',
              postCode: '62701',
              countryCode: gateway.country,
              state: 'IL',
            },
            consumer: {
              firstName: 'Demo',
              lastName: 'Shopper',
              email: `demo-${form.customerId}@example.com`,
            },
          }
        : {
            type: gateway.cardType ?? 'scheme',
            number: form.card,
            expiryMonth: '03',
            expiryYear: '2030',
            cvc: '737',
            holderName: 'Demo Shopper',
          };
    const answer = await this.api.call('POST', '/v1/payments', {
      idempotencyKey: randomUUID(),
      body: {
        orderId,
        paymentMethod,
        returnUrl: new URL(`/demo/return/${orderId}`, this.apiBase()).toString(),
      },
    });
    const paymentId = typeof answer.body.id === 'string' ? answer.body.id : undefined;
    const checkout: DemoCheckout = {
      customerId: form.customerId,
      gateway: gateway.id,
      ...(paymentId ? { paymentId } : {}),
    };
    this.checkouts.set(orderId, checkout);
    const paid = paymentId ? await this.awaitDecision(paymentId, answer) : answer;
    if (paid.body.status === 'action_required' && paid.body.action) {
      const action = paid.body.action as DemoAction;
      if (action.type !== 'redirect' && typeof action.data?.subscriptionId === 'string') {
        checkout.gatewaySubscriptionId = action.data.subscriptionId;
      }
      res
        .status(200)
        .type('html')
        .send(actionPage(action, `/demo/return/${orderId}`));
      return;
    }
    if (paid.status >= 400) {
      res
        .status(200)
        .type('html')
        .send(checkoutForm(form.customerId, `payment refused: ${JSON.stringify(paid.body)}`));
      return;
    }
    await this.api.settle();
    res.redirect(303, `/demo/orders/${orderId}`);
  }

  /** Where the gateway sends the browser back: what it brought is forwarded untouched as the completion details. */
  @Get('return/:orderId')
  async returned(
    @Param('orderId') orderId: string,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const checkout = this.checkouts.get(orderId);
    if (!checkout?.paymentId) {
      res
        .status(404)
        .type('html')
        .send(page('Unknown checkout', '<p>This checkout was not started here.</p>'));
      return;
    }
    const completed = await this.api.call('POST', `/v1/payments/${checkout.paymentId}/complete`, {
      idempotencyKey: randomUUID(),
      body: { details: await this.returnDetails(checkout, query) },
    });
    await this.awaitDecision(checkout.paymentId, completed);
    // as after a payment: what the decision queued for Cleeng is delivered before the result page reads Cleeng (the
    // webhook that captured it can be processed by the worker after a settle round, leaving its report unsent)
    await this.api.settle();
    // 409 PAYMENT_NOT_ACTIONABLE: the gateway's notification settled the payment before the shopper's return was
    // sent (Smart Glocal's payment_finished often wins): the result page shows that outcome, no error
    const settledFirst =
      completed.status === 409 &&
      (completed.body as { code?: unknown } | undefined)?.code === 'PAYMENT_NOT_ACTIONABLE';
    const note =
      completed.status >= 400 && !settledFirst
        ? `?note=${encodeURIComponent(JSON.stringify(completed.body).slice(0, 300))}`
        : '';
    res.redirect(303, `/demo/orders/${orderId}${note}`);
  }

  @Get('orders/:orderId')
  async result(
    @Param('orderId') orderId: string,
    @Query('note') note: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const checkout = this.checkouts.get(orderId);
    if (!checkout) {
      res
        .status(404)
        .type('html')
        .send(page('Unknown checkout', '<p>This checkout was not started here.</p>'));
      return;
    }
    if (checkout.purchaseId) {
      await this.cartResult(orderId, checkout, typeof note === 'string' ? note : undefined, res);
      return;
    }
    const payment = checkout.paymentId
      ? (await this.api.call('GET', `/v1/payments/${checkout.paymentId}`)).body
      : undefined;
    const clock = (await this.api.call<{ now?: string }>('GET', '/sandbox/clock')).body.now ?? '';
    const cycles = checkout.gatewaySubscriptionId
      ? gatewayCyclesPanel(await this.smartpayCycles(checkout.gatewaySubscriptionId))
      : '';
    res
      .type('html')
      .send(
        resultPage(
          orderId,
          payment,
          clock,
          cleengPanel(await this.cleengFor(checkout.customerId)) + cycles,
          typeof note === 'string' ? note : undefined,
          checkout.gatewaySubscriptionId !== undefined,
        ),
      );
  }

  @Post('orders/:orderId/advance')
  @HttpCode(303)
  async advance(
    @Param('orderId') orderId: string,
    @Body() form: AdvanceFormDto,
    @Res() res: Response,
  ): Promise<void> {
    const days = Math.min(Number(form.days ?? '31') || 31, 366);
    await this.api.call('POST', '/sandbox/clock/advance', { body: { days } });
    if (this.checkouts.get(orderId)?.subscriptionId) {
      // the cron tick would do it within a minute; the demo presses the operator's button instead
      await this.api.call('POST', '/ops/rebilling/run', { operator: true });
    }
    await this.api.settle();
    res.redirect(303, `/demo/orders/${esc(orderId)}`);
  }

  @Post('orders/:orderId/refund')
  @HttpCode(303)
  async refund(
    @Param('orderId') orderId: string,
    @Body() _form: EmptyFormDto,
    @Res() res: Response,
  ): Promise<void> {
    const checkout = this.checkouts.get(orderId);
    let note = '';
    if (checkout?.paymentId) {
      const refunded = await this.api.call('POST', '/v1/refunds', {
        idempotencyKey: randomUUID(),
        body: { paymentId: checkout.paymentId, reason: 'demo refund' },
      });
      note =
        refunded.status >= 400
          ? `?note=${encodeURIComponent(JSON.stringify(refunded.body).slice(0, 300))}`
          : '';
      await this.api.settle();
    }
    res.redirect(303, `/demo/orders/${orderId}${note}`);
  }

  @Post('orders/:orderId/decline-next')
  @HttpCode(303)
  async declineNext(
    @Param('orderId') orderId: string,
    @Body() _form: EmptyFormDto,
    @Res() res: Response,
  ): Promise<void> {
    const checkout = this.checkouts.get(orderId);
    const external = checkout?.purchaseId ? await this.externalSubscription(checkout) : undefined;
    if (external) {
      await this.api.call(
        'POST',
        `/sandbox/cleverbridge/subscriptions/${encodeURIComponent(external)}/behaviour`,
        {
          body: { behaveAs: 'decline:PAY_CLE', times: 1 },
        },
      );
    }
    res.redirect(303, `/demo/orders/${orderId}`);
  }

  /** Merchant of record: the first purchase, then the connector-managed subscription it started. */
  private async cartCheckout(
    customerId: string,
    gateway: string,
    productId: string,
    offer: (typeof DEMO_OFFERS)[number],
    res: Response,
  ): Promise<void> {
    const bought = await this.api.call('POST', '/v1/purchases', {
      idempotencyKey: randomUUID(),
      body: { customer: { customerReferenceId: `demo-${customerId}` }, items: [{ productId, quantity: 1 }] },
    });
    const purchaseId = typeof bought.body.id === 'string' ? bought.body.id : undefined;
    if (!purchaseId || bought.status >= 400) {
      res
        .status(200)
        .type('html')
        .send(checkoutForm(customerId, `purchase refused: ${JSON.stringify(bought.body)}`));
      return;
    }
    const checkout: DemoCheckout = { customerId, purchaseId };
    this.checkouts.set(purchaseId, checkout);
    if (typeof bought.body.checkoutUrl === 'string') {
      res
        .status(200)
        .type('html')
        .send(
          actionPage(
            { type: 'redirect', url: bought.body.checkoutUrl, method: 'GET' },
            `/demo/orders/${purchaseId}`,
          ),
        );
      return;
    }
    const externalSubscriptionId = bought.body.subscriptionId;
    if (bought.body.status === 'captured' && typeof externalSubscriptionId === 'string') {
      const now =
        (await this.api.call<{ now?: string }>('GET', '/sandbox/clock')).body.now ?? new Date().toISOString();
      const next = new Date(now);
      next.setUTCMonth(next.getUTCMonth() + 1);
      const minor = Math.round(Number(offer.price) * 100);
      const sub = await this.api.call('POST', '/v1/subscriptions', {
        idempotencyKey: randomUUID(),
        body: {
          customerId: `demo-${customerId}`,
          gateway,
          externalSubscriptionId,
          productId,
          amount: { value: minor, currency: offer.currency },
          interval: offerInterval({ unit: 'month', amount: 1 }),
          nextBillingAt: next.toISOString(),
        },
      });
      if (typeof sub.body.id === 'string') {
        checkout.subscriptionId = sub.body.id;
      }
    }
    await this.api.settle();
    res.redirect(303, `/demo/orders/${purchaseId}`);
  }

  private async cartResult(
    orderId: string,
    checkout: DemoCheckout,
    note: string | undefined,
    res: Response,
  ): Promise<void> {
    const purchase = (await this.api.call('GET', `/v1/purchases/${checkout.purchaseId ?? ''}`)).body;
    const subscription = checkout.subscriptionId
      ? (await this.api.call('GET', `/v1/subscriptions/${checkout.subscriptionId}`)).body
      : undefined;
    const external = typeof purchase.subscriptionId === 'string' ? purchase.subscriptionId : undefined;
    const ledger = external
      ? ((
          await this.api.call<{ purchases?: Record<string, unknown>[] }>(
            'GET',
            `/sandbox/cleverbridge/ledger?subscriptionId=${encodeURIComponent(external)}`,
          )
        ).body.purchases ?? [])
      : [];
    const clock = (await this.api.call<{ now?: string }>('GET', '/sandbox/clock')).body.now ?? '';
    res.type('html').send(
      cartResultPage(
        orderId,
        {
          purchase,
          ...(subscription ? { subscription } : {}),
          ledger,
        },
        clock,
        note,
      ),
    );
  }

  private async externalSubscription(checkout: DemoCheckout): Promise<string | undefined> {
    const purchase = (await this.api.call('GET', `/v1/purchases/${checkout.purchaseId ?? ''}`)).body;
    return typeof purchase.subscriptionId === 'string' ? purchase.subscriptionId : undefined;
  }

  /**
   * An asynchronous gateway (Smart Glocal) answers `pending`: its webhooks decide, so the demo lets the
   * emulators deliver and looks at the payment again, as a shop's front end polls.
   */
  private async awaitDecision(paymentId: string, answer: AppAnswer): Promise<AppAnswer> {
    let current = answer;
    // bounded by time, not rounds: on a loaded machine one round can take a while
    const deadline = Date.now() + 25_000;
    while ((current.status >= 400 || current.body.status === 'pending') && Date.now() < deadline) {
      await this.api.settle();
      current = await this.api.call('GET', `/v1/payments/${paymentId}`);
      if (current.body.status === 'pending') {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    return current;
  }

  /** What the browser brought back; when it brought nothing, the gateway's payment id under the gateway's key. */
  private async returnDetails(
    checkout: DemoCheckout,
    query: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const key = DEMO_GATEWAYS.find((g) => g.id === checkout.gateway)?.returnDetailKey;
    if (Object.keys(query).length > 0 || !key || !checkout.paymentId) {
      return query;
    }
    const payment = (await this.api.call('GET', `/v1/payments/${checkout.paymentId}`)).body;
    return typeof payment.externalPaymentId === 'string' ? { [key]: payment.externalPaymentId } : query;
  }

  /** What the gateway billed for a gateway-managed subscription (the SmartPay emulator's test state). */
  private async smartpayCycles(subscriptionId: string): Promise<Record<string, unknown>[]> {
    const state = (
      await this.api.call<{ subscriptions?: { id?: string; billingCycles?: Record<string, unknown>[] }[] }>(
        'GET',
        '/sandbox/smartpay/test/state',
      )
    ).body;
    return (state.subscriptions ?? []).find((s) => s.id === subscriptionId)?.billingCycles ?? [];
  }

  private apiBase(): string {
    return this.api.baseUrl;
  }

  private async cleengFor(customerId: string): Promise<CleengView> {
    const state = (
      await this.api.call<Partial<Record<keyof CleengView, Record<string, unknown>[]>>>(
        'GET',
        '/sandbox/cleeng/state',
      )
    ).body;
    const mine = (items: Record<string, unknown>[] | undefined) =>
      (items ?? []).filter((i) => String(i.customerId) === customerId);
    const orders = mine(state.orders);
    const orderIds = new Set(orders.map((o) => String(o.id)));
    return {
      orders,
      payments: (state.payments ?? []).filter((p) => orderIds.has(String(p.orderId))),
      subscriptions: mine(state.subscriptions),
    };
  }
}
