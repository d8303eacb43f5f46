import {
  applyDecorators,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Clock } from '../common/clock/clock';
import { constantTimeEqual } from '../common/crypto/constant-time';
import { DomainError } from '../common/errors/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { GATEWAY_IDS } from '../gateways/gateway-ids';
import { InboxService } from '../inbox/inbox.service';
import { OutboxService } from '../outbox/outbox.service';
import { NoRateLimit } from '../rate-limit/rate-limit.decorators';
import { AuditLogService } from './audit-log.service';
import {
  DashboardExceptionFilter,
  DashboardRequest,
  DashboardSessionGuard,
  PublicPage,
  SessionSignerProvider,
} from './dashboard-auth';
import {
  LOGIN_COOKIE,
  newLoginNonce,
  parseCookies,
  SESSION_COOKIE,
  SESSION_TTL_MS,
} from './dashboard-session';
import { ActionFormDto, LoginFormDto, OverviewQueryDto, PaymentSearchQueryDto } from './dashboard.dto';
import { dashboardAsset } from './dashboard.assets';
import { DashboardQueries } from './dashboard.queries';
import * as views from './dashboard.views';
import { gatewayLatencies } from './gateway-latency';

/** A server-rendered page in the OpenAPI document: an HTML string. */
const HtmlPage = (): MethodDecorator =>
  applyDecorators(
    ApiOkResponse({ description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } }),
  );

/** Most inbox events replayed by one click: a bigger backlog is replayed in several. */
const REPLAY_ALL_LIMIT = 1000;

/**
 * The operator dashboard: server-rendered pages over the same services as /ops/inbox, /ops/outbox and /metrics.
 * Sign-in with the operator key sets a signed HttpOnly SameSite=Strict cookie (the key never travels in a URL);
 * every action is a CSRF-checked POST that is audit-logged with who and what, then redirects (post/redirect/get).
 */
@ApiTags('dashboard')
@ApiProduces('text/html')
@UseFilters(DashboardExceptionFilter)
@UseGuards(DashboardSessionGuard)
@Controller('dashboard')
export class DashboardController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly signer: SessionSignerProvider,
    private readonly queries: DashboardQueries,
    private readonly audit: AuditLogService,
    private readonly inbox: InboxService,
    private readonly outbox: OutboxService,
    private readonly clock: Clock,
  ) {}

  @Get('login')
  @PublicPage()
  @ApiOperation({ summary: 'Operator sign-in form' })
  @HtmlPage()
  loginForm(@Res() res: Response): void {
    const nonce = newLoginNonce();
    res.cookie(LOGIN_COOKIE, nonce, this.cookieOptions(10 * 60 * 1000, '/dashboard/login'));
    res.type('html').send(views.loginPage(nonce));
  }

  @Post('login')
  @PublicPage()
  @HttpCode(303)
  @ApiExcludeEndpoint() // a browser form post answered by a redirect (README, Operator dashboard)
  async login(@Req() req: Request, @Body() form: LoginFormDto, @Res() res: Response): Promise<void> {
    const nonce = parseCookies(req.headers.cookie)[LOGIN_COOKIE];
    if (!nonce || !constantTimeEqual(nonce, form._csrf)) {
      throw new DomainError('FORBIDDEN', 'the sign-in form is stale: reload it and try again');
    }
    if (!constantTimeEqual(form.key, this.config.operatorKey)) {
      await this.audit.record({
        operator: form.operator,
        sessionId: '-',
        action: 'login',
        outcome: 'failed',
      });
      const fresh = newLoginNonce();
      res.cookie(LOGIN_COOKIE, fresh, this.cookieOptions(10 * 60 * 1000, '/dashboard/login'));
      res.status(401).type('html').send(views.loginPage(fresh, 'Wrong operator key.'));
      return;
    }
    const { session, cookie } = this.signer.issue(form.operator, Date.now());
    await this.audit.record({
      operator: session.operator,
      sessionId: session.id,
      action: 'login',
      outcome: 'ok',
    });
    res.clearCookie(LOGIN_COOKIE, { path: '/dashboard/login' });
    res.cookie(SESSION_COOKIE, cookie, this.cookieOptions(SESSION_TTL_MS, '/dashboard'));
    res.redirect(303, '/dashboard');
  }

  @Post('logout')
  @HttpCode(303)
  @ApiExcludeEndpoint() // a browser form post answered by a redirect (README, Operator dashboard)
  async logout(
    @Req() req: DashboardRequest,
    @Body() _form: ActionFormDto,
    @Res() res: Response,
  ): Promise<void> {
    await this.logAction(req, 'logout', undefined, 'ok');
    res.clearCookie(SESSION_COOKIE, { path: '/dashboard' });
    res.redirect(303, '/dashboard/login');
  }

  @Get('assets/:name')
  @PublicPage()
  @NoRateLimit()
  @ApiExcludeEndpoint()
  asset(@Param('name') name: string, @Res() res: Response): void {
    const asset = dashboardAsset(name);
    if (!asset) {
      throw new DomainError('NOT_FOUND', `no dashboard asset ${name}`);
    }
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type(asset.type).send(asset.body);
  }

  @Get()
  @ApiOperation({
    summary: 'Overview: payments of the last 24 h / 7 d by status and gateway, approvals, declines, amounts',
  })
  @HtmlPage()
  async overview(
    @Req() req: DashboardRequest,
    @Query() query: OverviewQueryDto,
    @Res() res: Response,
  ): Promise<void> {
    const window = query.window ?? '24h';
    const overview = await this.queries.overview(window);
    this.page(res, views.overviewPage(this.ctx(req, 'overview'), window, overview, [...GATEWAY_IDS]));
  }

  @Get('payments')
  @ApiOperation({ summary: 'Payments, newest first; search by any id or customer; paged' })
  @HtmlPage()
  async payments(
    @Req() req: DashboardRequest,
    @Query() query: PaymentSearchQueryDto,
    @Res() res: Response,
  ): Promise<void> {
    const q = query.q?.trim() || undefined;
    const page = await this.queries.searchPayments(q, query.after);
    this.page(res, views.paymentsPage(this.ctx(req, 'payments'), q, page));
  }

  @Get('payments/:id')
  @ApiOperation({
    summary: "One payment's timeline: state changes, gateway calls, webhooks, refunds, reports to Cleeng",
  })
  @HtmlPage()
  async payment(
    @Req() req: DashboardRequest,
    @Param('id', ParseUUIDPipe) id: string,
    @Res() res: Response,
  ): Promise<void> {
    const payment = await this.queries.payment(id);
    if (!payment) {
      throw new DomainError('NOT_FOUND', `no payment ${id}`);
    }
    const timeline = await this.queries.timeline(payment);
    this.page(res, views.paymentPage(this.ctx(req, 'payments'), payment, timeline));
  }

  @Get('inbox')
  @ApiOperation({ summary: 'Inbox: backlog and failed webhooks with their last error' })
  @HtmlPage()
  async inboxPage(@Req() req: DashboardRequest, @Res() res: Response): Promise<void> {
    const [counts, failed, pending] = [
      await this.queries.inboxCounts(),
      await this.queries.inboxItems('failed'),
      await this.queries.inboxItems('pending'),
    ];
    this.page(res, views.inboxPage(this.ctx(req, 'inbox'), counts, failed, pending));
  }

  @Post('inbox/:id/replay')
  @HttpCode(303)
  @ApiExcludeEndpoint() // a browser form post answered by a redirect (README, Operator dashboard)
  async replayInbox(
    @Req() req: DashboardRequest,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() form: ActionFormDto,
    @Res() res: Response,
  ): Promise<void> {
    const requeued = await this.inbox.requeue(id);
    await this.logAction(req, 'inbox.replay', id, requeued ? 'ok' : 'not_failed');
    this.back(
      req,
      res,
      form.back ?? '/dashboard/inbox',
      requeued ? `Webhook ${id} requeued.` : `Webhook ${id} was not failed.`,
    );
  }

  @Post('inbox/replay-failed')
  @HttpCode(303)
  @ApiExcludeEndpoint() // a browser form post answered by a redirect (README, Operator dashboard)
  async replayAllInbox(
    @Req() req: DashboardRequest,
    @Body() form: ActionFormDto,
    @Res() res: Response,
  ): Promise<void> {
    let requeued = 0;
    for (const id of await this.queries.failedInboxIds(REPLAY_ALL_LIMIT)) {
      requeued += (await this.inbox.requeue(id)) ? 1 : 0;
    }
    await this.logAction(req, 'inbox.replay_all', undefined, 'ok', { requeued });
    this.back(req, res, form.back ?? '/dashboard/inbox', `${requeued} failed webhooks requeued.`);
  }

  @Get('outbox')
  @ApiOperation({ summary: 'Outbox: pending and dead reports to Cleeng with their last error' })
  @HtmlPage()
  async outboxPage(@Req() req: DashboardRequest, @Res() res: Response): Promise<void> {
    const [counts, dead, pending] = [
      await this.queries.outboxCounts(),
      await this.queries.outboxItems('dead'),
      await this.queries.outboxItems('pending'),
    ];
    this.page(res, views.outboxPage(this.ctx(req, 'outbox'), counts, dead, pending));
  }

  @Post('outbox/:id/replay')
  @HttpCode(303)
  @ApiExcludeEndpoint() // a browser form post answered by a redirect (README, Operator dashboard)
  async replayOutbox(
    @Req() req: DashboardRequest,
    @Param('id') id: string,
    @Body() form: ActionFormDto,
    @Res() res: Response,
  ): Promise<void> {
    if (!/^\d{1,18}$/.test(id)) {
      throw new DomainError('VALIDATION_FAILED', 'id must be an outbox message id', [
        { field: 'id', messages: ['must be an outbox message id'] },
      ]);
    }
    const requeued = await this.outbox.replay({ ids: [id] });
    await this.logAction(req, 'outbox.replay', id, requeued ? 'ok' : 'not_dead');
    this.back(
      req,
      res,
      form.back ?? '/dashboard/outbox',
      requeued ? `Report #${id} requeued.` : `Report #${id} was not dead.`,
    );
  }

  @Post('outbox/replay-dead')
  @HttpCode(303)
  @ApiExcludeEndpoint() // a browser form post answered by a redirect (README, Operator dashboard)
  async replayAllOutbox(
    @Req() req: DashboardRequest,
    @Body() form: ActionFormDto,
    @Res() res: Response,
  ): Promise<void> {
    const requeued = await this.outbox.replay({ all: true });
    await this.logAction(req, 'outbox.replay_all', undefined, 'ok', { requeued });
    this.back(req, res, form.back ?? '/dashboard/outbox', `${requeued} dead reports requeued.`);
  }

  @Get('subscriptions')
  @ApiOperation({
    summary: 'Connector-managed subscriptions due and in dunning; recovered vs lost per month',
  })
  @HtmlPage()
  async subscriptions(@Req() req: DashboardRequest, @Res() res: Response): Promise<void> {
    const now = this.clock.now();
    const [due, dunning, months] = [
      await this.queries.subscriptions('due', now),
      await this.queries.subscriptions('dunning', now),
      await this.queries.dunningByMonth(),
    ];
    this.page(res, views.subscriptionsPage(this.ctx(req, 'subscriptions'), due, dunning, months));
  }

  @Get('gateways')
  @ApiOperation({ summary: 'Gateways: latency p50/p99 and error rate per operation, reconciler queues' })
  @HtmlPage()
  async gateways(@Req() req: DashboardRequest, @Res() res: Response): Promise<void> {
    const [latency, queues] = [await gatewayLatencies(), await this.queries.reconcilerQueues()];
    this.page(res, views.gatewaysPage(this.ctx(req, 'gateways'), [...GATEWAY_IDS], latency, queues));
  }

  @Get('audit')
  @ApiOperation({ summary: 'Audit log: sign-ins and actions, newest first' })
  @HtmlPage()
  async auditPage(@Req() req: DashboardRequest, @Res() res: Response): Promise<void> {
    this.page(res, views.auditPage(this.ctx(req, 'audit'), await this.audit.recent()));
  }

  private ctx(req: DashboardRequest, active: string): views.PageContext {
    const done = typeof req.query.done === 'string' ? req.query.done.slice(0, 200) : undefined;
    const signature = typeof req.query.sig === 'string' ? req.query.sig : '';
    const flash =
      done && constantTimeEqual(signature, this.signer.flashSignature(req.dashboardSession, done))
        ? done
        : undefined;
    return {
      operator: req.dashboardSession.operator,
      csrf: this.signer.csrfToken(req.dashboardSession),
      active,
      ...(flash ? { flash } : {}),
    };
  }

  private page(res: Response, body: string): void {
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(body);
  }

  private back(req: DashboardRequest, res: Response, path: string, message: string): void {
    const sig = this.signer.flashSignature(req.dashboardSession, message);
    res.redirect(303, `${path}?${new URLSearchParams({ done: message, sig }).toString()}`);
  }

  private logAction(
    req: DashboardRequest,
    action: string,
    target: string | undefined,
    outcome: string,
    detail?: Record<string, unknown>,
  ): Promise<void> {
    return this.audit.record({
      operator: req.dashboardSession.operator,
      sessionId: req.dashboardSession.id,
      action,
      ...(target !== undefined ? { target } : {}),
      outcome,
      ...(detail ? { detail } : {}),
    });
  }

  private cookieOptions(maxAge: number, path: string) {
    return {
      httpOnly: true,
      sameSite: 'strict' as const,
      secure: this.config.publicUrl.startsWith('https://'),
      maxAge,
      path,
    };
  }
}
