import { currencyExponent } from '../common/money/currencies';
import { AuditEntry } from './audit-log.service';
import {
  APPROVED_STATUSES,
  InboxCounts,
  InboxItem,
  Overview,
  OverviewWindow,
  OutboxItem,
  PaymentDetail,
  PaymentPage,
  SubscriptionRow,
  TimelineEntry,
} from './dashboard.queries';
import { GatewayLatency } from './gateway-latency';
import { html, jsonBlock, SafeHtml } from './html';

export interface PageContext {
  operator: string;
  csrf: string;
  active: string;
  flash?: string;
}

const NAV: [string, string][] = [
  ['overview', '/dashboard'],
  ['payments', '/dashboard/payments'],
  ['subscriptions', '/dashboard/subscriptions'],
  ['inbox', '/dashboard/inbox'],
  ['outbox', '/dashboard/outbox'],
  ['gateways', '/dashboard/gateways'],
  ['audit', '/dashboard/audit'],
];

function document(title: string, body: SafeHtml, scripts: boolean): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · payment connector</title>
        <link rel="stylesheet" href="/dashboard/assets/dashboard.css" />
      </head>
      <body>
        ${body}${
          scripts
            ? html`<script src="/dashboard/assets/chart.umd.min.js"></script>
                <script src="/dashboard/assets/dashboard.js"></script>`
            : ''
        }
      </body>
    </html>`.value;
}

export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}" />`;
}

function layout(ctx: PageContext, title: string, content: SafeHtml): string {
  const nav = NAV.map(
    ([name, href]) => html`<a href="${href}" class="${ctx.active === name ? 'on' : ''}">${name}</a>`,
  );
  return document(
    title,
    html`<header>
        <strong>Payment connector</strong>${nav}
        <span class="who">signed in as ${ctx.operator}</span>
        <form method="post" action="/dashboard/logout">
          ${csrfField(ctx.csrf)}<button class="link" type="submit">sign out</button>
        </form>
      </header>
      <main>
        ${ctx.flash ? html`<div class="flash" role="status">${ctx.flash}</div>` : ''}
        <h1>${title}</h1>
        ${content}
      </main>`,
    true,
  );
}

export function formatMoney(minor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  return `${(minor / 10 ** exponent).toFixed(exponent)} ${currency}`;
}

function when(at: Date | null | undefined): string {
  return at ? at.toISOString().replace('T', ' ').slice(0, 19) : '';
}

function badge(status: string): SafeHtml {
  return html`<span class="badge ${status}">${status}</span>`;
}

export function loginPage(nonce: string, error?: string): string {
  return document(
    'Sign in',
    html`<main class="login">
      <div class="card">
        <h1>Operator sign-in</h1>
        ${error ? html`<div class="error" role="alert">${error}</div>` : ''}
        <form method="post" action="/dashboard/login">
          ${csrfField(nonce)} <label for="operator">Your name (kept in the audit log)</label
          ><input id="operator" name="operator" required maxlength="64" autocomplete="username" />
          <label for="key">Operator key</label
          ><input
            id="key"
            name="key"
            type="password"
            required
            maxlength="512"
            autocomplete="current-password"
          />
          <p><button type="submit">Sign in</button></p>
        </form>
      </div>
    </main>`,
    false,
  );
}

export function errorPage(status: number, message: string): string {
  return document(
    `Error ${status}`,
    html`<main>
      <div class="error" role="alert"><strong>${status}</strong> ${message}</div>
      <p><a href="/dashboard">Back to the dashboard</a></p>
    </main>`,
    false,
  );
}

interface ChartSpec {
  id: string;
  type: 'bar' | 'doughnut';
  stacked?: boolean;
  labels: string[];
  datasets: { label: string; data: number[] }[];
}

export function overviewPage(
  ctx: PageContext,
  window: OverviewWindow,
  overview: Overview,
  gateways: string[],
): string {
  const statuses = [...new Set(overview.byStatus.map((r) => r.status))].sort();
  const shownGateways = [...new Set([...gateways, ...overview.byStatus.map((r) => r.gateway)])];
  const count = (gateway: string, status: string): number =>
    overview.byStatus.find((r) => r.gateway === gateway && r.status === status)?.n ?? 0;
  const approval = shownGateways.map((g) => {
    const approved = APPROVED_STATUSES.reduce((sum, s) => sum + count(g, s), 0);
    const rejected = count(g, 'rejected');
    return {
      gateway: g,
      approved,
      rejected,
      rate: approved + rejected ? approved / (approved + rejected) : null,
    };
  });
  const declineCodes = [...new Set(overview.declines.map((d) => d.code))];
  const charts: ChartSpec[] = [
    {
      id: 'by-status',
      type: 'bar',
      stacked: true,
      labels: shownGateways,
      datasets: statuses.map((s) => ({ label: s, data: shownGateways.map((g) => count(g, s)) })),
    },
    {
      id: 'approval',
      type: 'bar',
      labels: shownGateways,
      datasets: [
        {
          label: 'approval rate %',
          data: approval.map((a) => (a.rate === null ? 0 : +(a.rate * 100).toFixed(1))),
        },
      ],
    },
    {
      id: 'declines',
      type: 'doughnut',
      labels: declineCodes,
      datasets: [
        {
          label: 'declines',
          data: declineCodes.map((c) =>
            overview.declines.filter((d) => d.code === c).reduce((s, d) => s + d.n, 0),
          ),
        },
      ],
    },
    {
      id: 'amounts',
      type: 'bar',
      labels: overview.amounts.map((a) => a.currency),
      datasets: [
        {
          label: 'captured',
          data: overview.amounts.map((a) => a.capturedMinor / 10 ** currencyExponent(a.currency)),
        },
        {
          label: 'refunded',
          data: overview.amounts.map((a) => a.refundedMinor / 10 ** currencyExponent(a.currency)),
        },
      ],
    },
  ];
  const windows: OverviewWindow[] = ['24h', '7d'];
  return layout(
    ctx,
    `Overview: payments created in the last ${window}`,
    html`<p>
        ${windows.map((w) => (w === window ? html`<strong>${w}</strong> ` : html`<a href="/dashboard?window=${w}">${w}</a> `))}
      </p>
      <div class="cards">
        <div class="card">
          <h2>Payments by status and gateway</h2>
          <div class="chart"><canvas id="by-status" aria-label="payments by status"></canvas></div>
        </div>
        <div class="card">
          <h2>Approval rate per gateway</h2>
          <div class="chart"><canvas id="approval"></canvas></div>
          <table>
            <tr>
              <th>gateway</th>
              <th class="num">approved</th>
              <th class="num">rejected</th>
              <th class="num">rate</th>
            </tr>
            ${approval.map(
              (a) =>
                html`<tr>
                  <td>${a.gateway}</td>
                  <td class="num">${a.approved}</td>
                  <td class="num">${a.rejected}</td>
                  <td class="num">${a.rate === null ? '–' : `${(a.rate * 100).toFixed(1)} %`}</td>
                </tr>`,
            )}
          </table>
        </div>
        <div class="card">
          <h2>Declines by normalised code</h2>
          <div class="chart"><canvas id="declines"></canvas></div>
          <div class="scroll">
            <table>
              <tr>
                <th>code</th>
                <th>gateway</th>
                <th>raw gateway code</th>
                <th class="num">n</th>
              </tr>
              ${overview.declines.map(
                (d) =>
                  html`<tr>
                    <td>${d.code}</td>
                    <td>${d.gateway}</td>
                    <td><code>${d.rawCode ?? '–'}</code></td>
                    <td class="num">${d.n}</td>
                  </tr>`,
              )}
            </table>
          </div>
        </div>
        <div class="card">
          <h2>Captured and refunded per currency</h2>
          <div class="chart"><canvas id="amounts"></canvas></div>
          <table>
            <tr>
              <th>currency</th>
              <th class="num">captured</th>
              <th class="num">refunded</th>
            </tr>
            ${overview.amounts.map(
              (a) =>
                html`<tr>
                  <td>${a.currency}</td>
                  <td class="num">${formatMoney(a.capturedMinor, a.currency)}</td>
                  <td class="num">${formatMoney(a.refundedMinor, a.currency)}</td>
                </tr>`,
            )}
          </table>
        </div>
      </div>
      ${jsonBlock('chart-data', charts)}`,
  );
}

export function paymentsPage(ctx: PageContext, q: string | undefined, page: PaymentPage): string {
  return layout(
    ctx,
    'Payments',
    html`<form class="search" method="get" action="/dashboard/payments">
        <input
          name="q"
          value="${q ?? ''}"
          maxlength="200"
          placeholder="our payment or order id, Cleeng order or payment id, gateway payment id, customer id"
          aria-label="search payments"
        /><button type="submit">Search</button>
      </form>
      ${page.rows.length === 0 ? html`<p class="muted">No payment found.</p>` : ''}
      <div class="scroll">
        <table>
          <tr>
            <th>created</th>
            <th>payment</th>
            <th>gateway</th>
            <th>status</th>
            <th class="num">amount</th>
            <th class="hide-narrow">customer</th>
            <th class="hide-narrow">gateway id</th>
            <th class="hide-narrow">decline</th>
          </tr>
          ${page.rows.map(
            (p) =>
              html`<tr>
                <td>${when(p.createdAt)}</td>
                <td><a class="mono" href="/dashboard/payments/${p.id}">${p.id.slice(0, 8)}</a></td>
                <td>${p.gateway}</td>
                <td>${badge(p.status)}</td>
                <td class="num">${formatMoney(p.amountMinor, p.currency)}</td>
                <td class="hide-narrow mono">${p.customerId}</td>
                <td class="hide-narrow mono">${p.externalPaymentId ?? ''}</td>
                <td class="hide-narrow">${p.declineCode ?? ''}</td>
              </tr>`,
          )}
        </table>
      </div>
      ${page.next ? html`<p><a class="button" href="/dashboard/payments?${new URLSearchParams({ ...(q ? { q } : {}), after: page.next }).toString()}">Older payments →</a></p>` : ''}`,
  );
}

function detailList(detail: TimelineEntry['detail']): SafeHtml {
  return html`<div class="kv">
    ${Object.entries(detail).map(([k, v]) => html`<span>${k}: <code>${v === null ? '' : String(v)}</code></span>`)}
  </div>`;
}

export function paymentPage(ctx: PageContext, payment: PaymentDetail, timeline: TimelineEntry[]): string {
  const facts: [string, string][] = [
    ['status', payment.status],
    ['gateway', payment.gateway],
    ['operation', payment.operation],
    ['amount', formatMoney(payment.amountMinor, payment.currency)],
    ['captured', formatMoney(payment.capturedMinor, payment.currency)],
    ['refunded', formatMoney(payment.refundedMinor, payment.currency)],
    ['customer', payment.customerId],
    ['our order', payment.orderId],
    ['Cleeng order', payment.cleengOrderId ?? ''],
    ['Cleeng payment', payment.cleengPaymentId ?? ''],
    ['gateway payment id', payment.externalPaymentId ?? ''],
    ['offer', payment.offerId ?? ''],
    ['decline', payment.decline ? JSON.stringify(payment.decline) : ''],
    ['created', when(payment.createdAt)],
  ];
  return layout(
    ctx,
    `Payment ${payment.id}`,
    html`<div class="card">
        <dl class="facts">
          ${facts.map(
            ([k, v]) =>
              html`<dt>${k}</dt>
                <dd class="mono">${v}</dd>`,
          )}
        </dl>
      </div>
      <h2>Timeline</h2>
      ${timeline.length === 0 ? html`<p class="muted">Nothing recorded for this payment.</p>` : ''}
      <ol class="timeline">
        ${timeline.map(
          (e) =>
            html`<li class="${e.kind}">
              <div class="when">${when(e.at)} · ${e.kind}</div>
              <div><strong>${e.title}</strong></div>
              ${detailList(e.detail)}
              ${e.outboxId ? html`<form class="inline" method="post" action="/dashboard/outbox/${e.outboxId}/replay">${csrfField(ctx.csrf)}<input type="hidden" name="back" value="/dashboard/payments/${payment.id}" /><button type="submit">Replay this report</button></form>` : ''}
            </li>`,
        )}
      </ol>`,
  );
}

export function inboxPage(
  ctx: PageContext,
  counts: InboxCounts,
  failed: InboxItem[],
  pending: InboxItem[],
): string {
  const rows = (items: InboxItem[], replay: boolean): SafeHtml =>
    html`<div class="scroll">
      <table>
        <tr>
          <th>received</th>
          <th>source</th>
          <th>type</th>
          <th>status</th>
          <th class="num">attempts</th>
          <th>last error</th>
          ${replay ? html`<th></th>` : ''}
        </tr>
        ${items.map(
          (i) =>
            html`<tr>
              <td>${when(i.receivedAt)}</td>
              <td>${i.source}</td>
              <td>${i.eventType}</td>
              <td>${badge(i.status)}</td>
              <td class="num">${i.attempts}</td>
              <td><code>${i.lastError ?? ''}</code></td>
              ${
                replay
                  ? html`<td>
                      <form class="inline" method="post" action="/dashboard/inbox/${i.id}/replay">
                        ${csrfField(ctx.csrf)}<button type="submit">Replay</button>
                      </form>
                    </td>`
                  : ''
              }
            </tr>`,
        )}
      </table>
    </div>`;
  return layout(
    ctx,
    'Inbox: webhooks received',
    html`<p>
        Backlog (pending): <strong>${counts.pending}</strong> · failed: <strong>${counts.failed}</strong>
      </p>
      ${
        counts.lanes.length
          ? html`<p>
              Backlog by gateway:
              ${counts.lanes.map(
                (l, i) => html`${i > 0 ? ' · ' : ''}${l.lane || 'none'} <strong>${l.pending}</strong>`,
              )}
            </p>`
          : ''
      }
      <h2>Failed</h2>
      ${failed.length ? rows(failed, true) : html`<p class="muted">No failed event.</p>`}
      ${failed.length ? html`<form method="post" action="/dashboard/inbox/replay-failed" data-confirm="Replay every failed event?">${csrfField(ctx.csrf)}<button class="danger" type="submit">Replay all failed</button></form>` : ''}
      <h2>Pending (next due first)</h2>
      ${pending.length ? rows(pending, false) : html`<p class="muted">No backlog.</p>`}`,
  );
}

export function outboxPage(
  ctx: PageContext,
  counts: { pending: number; dead: number; retrying: number },
  dead: OutboxItem[],
  pending: OutboxItem[],
): string {
  const rows = (items: OutboxItem[], replay: boolean): SafeHtml =>
    html`<div class="scroll">
      <table>
        <tr>
          <th>#</th>
          <th>created</th>
          <th>kind</th>
          <th>payment</th>
          <th>status</th>
          <th class="num">attempts</th>
          <th>last error</th>
          ${replay ? html`<th></th>` : ''}
        </tr>
        ${items.map(
          (m) =>
            html`<tr>
              <td class="mono">${m.id}</td>
              <td>${when(m.createdAt)}</td>
              <td>${m.kind}</td>
              <td>
                <a class="mono" href="/dashboard/payments?q=${encodeURIComponent(m.aggregateId)}"
                  >${m.aggregateId.slice(0, 8)}</a
                >
              </td>
              <td>
                ${badge(m.status)}${m.failureReason ? html` <span class="badge">${m.failureReason}</span>` : ''}
              </td>
              <td class="num">${m.attempts}</td>
              <td><code>${m.lastError ?? ''}</code></td>
              ${
                replay
                  ? html`<td>
                      <form class="inline" method="post" action="/dashboard/outbox/${m.id}/replay">
                        ${csrfField(ctx.csrf)}<button type="submit">Replay</button>
                      </form>
                    </td>`
                  : ''
              }
            </tr>`,
        )}
      </table>
    </div>`;
  return layout(
    ctx,
    'Outbox: reports to Cleeng',
    html`<p>
        Pending: <strong>${counts.pending}</strong> (retrying after a failure: ${counts.retrying}) · dead:
        <strong>${counts.dead}</strong>
      </p>
      <h2>Dead</h2>
      ${dead.length ? rows(dead, true) : html`<p class="muted">No dead report.</p>`}
      ${dead.length ? html`<form method="post" action="/dashboard/outbox/replay-dead" data-confirm="Replay every dead report? Each payment keeps its order.">${csrfField(ctx.csrf)}<button class="danger" type="submit">Replay all dead</button></form>` : ''}
      <h2>Pending (oldest first: the order they are delivered in)</h2>
      ${pending.length ? rows(pending, false) : html`<p class="muted">Nothing pending.</p>`}`,
  );
}

export function subscriptionsPage(
  ctx: PageContext,
  due: SubscriptionRow[],
  dunning: SubscriptionRow[],
  months: { month: string; recovered: number; lost: number }[],
): string {
  const rows = (items: SubscriptionRow[]): SafeHtml =>
    html`<div class="scroll">
      <table>
        <tr>
          <th>subscription</th>
          <th>gateway</th>
          <th>customer</th>
          <th>status</th>
          <th class="num">amount</th>
          <th>next attempt</th>
          <th class="num">dunning step</th>
          <th>decline</th>
          <th>gateway's own retry</th>
        </tr>
        ${items.map(
          (s) =>
            html`<tr>
              <td class="mono">${s.id.slice(0, 8)}</td>
              <td>${s.gateway}</td>
              <td class="mono">${s.customerId}</td>
              <td>${badge(s.status)}</td>
              <td class="num">${formatMoney(s.amountMinor, s.currency)}</td>
              <td>${when(s.nextAttemptAt)}</td>
              <td class="num">${s.dunningStep}</td>
              <td>${s.declineCode ? `${s.declineCode} (${s.declineClass ?? ''})` : ''}</td>
              <td>${s.gatewayRetryPending ? 'pending' : ''}</td>
            </tr>`,
        )}
      </table>
    </div>`;
  const charts: ChartSpec[] = [
    {
      id: 'dunning-months',
      type: 'bar',
      labels: months.map((m) => m.month),
      datasets: [
        { label: 'recovered', data: months.map((m) => m.recovered) },
        { label: 'lost', data: months.map((m) => m.lost) },
      ],
    },
  ];
  return layout(
    ctx,
    'Connector-managed subscriptions and dunning',
    html`<h2>Due now</h2>
      ${due.length ? rows(due) : html`<p class="muted">Nothing due.</p>`}
      <h2>In dunning</h2>
      ${dunning.length ? rows(dunning) : html`<p class="muted">No subscription in dunning.</p>`}
      <h2>Periods that went through dunning: recovered vs lost per month</h2>
      <div class="card">
        <div class="chart"><canvas id="dunning-months"></canvas></div>
        <table>
          <tr>
            <th>month</th>
            <th class="num">recovered</th>
            <th class="num">lost</th>
          </tr>
          ${months.map(
            (m) =>
              html`<tr>
                <td>${m.month}</td>
                <td class="num">${m.recovered}</td>
                <td class="num">${m.lost}</td>
              </tr>`,
          )}
        </table>
      </div>
      ${jsonBlock('chart-data', charts)}`,
  );
}

export function gatewaysPage(
  ctx: PageContext,
  gateways: string[],
  latency: GatewayLatency[],
  queues: { status: string; n: number; oldestSeconds: number | null }[],
): string {
  const ms = (seconds: number | null): string =>
    seconds === null ? '–' : `${Math.round(seconds * 1000)} ms`;
  return layout(
    ctx,
    'Gateways',
    html`<p>Registered gateways: ${gateways.map((g) => html`<span class="badge">${g}</span> `)}</p>
      <h2>Latency and errors per operation</h2>
      <p class="muted">
        From this instance's <code>connector_gateway_call_duration_seconds</code> histogram (the numbers
        <code>/metrics</code> serves), since it started; percentiles are interpolated within buckets.
      </p>
      <div class="scroll">
        <table>
          <tr>
            <th>gateway</th>
            <th>operation</th>
            <th class="num">calls</th>
            <th class="num">p50</th>
            <th class="num">p99</th>
            <th class="num">error rate</th>
          </tr>
          ${latency.map(
            (l) =>
              html`<tr>
                <td>${l.gateway}</td>
                <td>${l.operation}</td>
                <td class="num">${l.calls}</td>
                <td class="num">${ms(l.p50)}</td>
                <td class="num">${ms(l.p99)}</td>
                <td class="num">${(l.errorRate * 100).toFixed(1)} %</td>
              </tr>`,
          )}
          ${
            latency.length === 0
              ? html`<tr>
                  <td colspan="6" class="muted">No gateway call since this instance started.</td>
                </tr>`
              : ''
          }
        </table>
      </div>
      <h2>Reconciler queues</h2>
      <table>
        <tr>
          <th>status</th>
          <th class="num">payments</th>
          <th class="num">oldest due for a check</th>
        </tr>
        ${queues.map(
          (q) =>
            html`<tr>
              <td>${badge(q.status)}</td>
              <td class="num">${q.n}</td>
              <td class="num">${q.oldestSeconds === null ? '–' : `${Math.round(q.oldestSeconds)} s ago`}</td>
            </tr>`,
        )}
      </table>`,
  );
}

export function auditPage(ctx: PageContext, entries: AuditEntry[]): string {
  return layout(
    ctx,
    'Audit log',
    html`<div class="scroll">
      <table>
        <tr>
          <th>when</th>
          <th>operator</th>
          <th>session</th>
          <th>action</th>
          <th>target</th>
          <th>outcome</th>
          <th>detail</th>
        </tr>
        ${entries.map(
          (e) =>
            html`<tr>
              <td>${when(e.at)}</td>
              <td>${e.operator}</td>
              <td class="mono">${e.sessionId.slice(0, 8)}</td>
              <td>${e.action}</td>
              <td class="mono">${e.target ?? ''}</td>
              <td>${badge(e.outcome)}</td>
              <td><code>${JSON.stringify(e.detail)}</code></td>
            </tr>`,
        )}
      </table>
    </div>`,
  );
}
