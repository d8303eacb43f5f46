import { DEMO_CARDS, DEMO_GATEWAYS, DEMO_OFFERS } from './demo-catalogue';

export function esc(value: unknown): string {
  return asText(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function asText(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  return JSON.stringify(value) ?? '';
}

const STYLE = `body{margin:0;font:15px/1.45 system-ui,sans-serif;background:#f3f4f6;color:#111827}
header{background:#1e3a8a;color:#fff;padding:.7rem 1rem}header a{color:#bfdbfe}main{display:flex;flex-wrap:wrap;gap:1rem;padding:1rem;max-width:1200px;margin:0 auto}
section{background:#fff;border-radius:8px;padding:1rem;flex:2 1 420px;min-width:0}aside{background:#fff;border-radius:8px;padding:1rem;flex:1 1 300px;min-width:0;overflow-x:auto}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}select,input{font:inherit;padding:.4rem;width:100%;max-width:420px}
button,.button{background:#2563eb;color:#fff;border:0;border-radius:6px;padding:.5rem .9rem;font:inherit;cursor:pointer;text-decoration:none;display:inline-block;margin:.3rem .3rem 0 0}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:.3rem;text-align:left;font-size:.9em;vertical-align:top}
.status{font-size:1.3rem;font-weight:700}.muted{color:#6b7280}.error{background:#fef2f2;border:1px solid #fecaca;padding:.6rem;border-radius:6px}
iframe{width:100%;max-width:560px;height:260px;border:1px solid #d1d5db;border-radius:6px;background:#fff}
code{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}form.inline{display:inline}`;

/** The page script: follows a redirect action. */
export const DEMO_SCRIPT = `'use strict';
(function () {
  var auto = document.querySelector('form[data-auto-submit]');
  if (auto) setTimeout(function () { auto.submit(); }, 800);
})();
`;

export function page(title: string, main: string, aside = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · connector demo</title><style>${STYLE}</style></head><body>
<header><strong>Subscription payment connector · demo checkout</strong> (sandbox: nothing here is real) · <a href="/demo">new checkout</a> · <a href="/dashboard">operator dashboard</a></header>
<main><section><h1>${esc(title)}</h1>${main}</section>${aside ? `<aside>${aside}</aside>` : ''}</main>
<script src="/demo/assets/demo.js"></script></body></html>`;
}

export function checkoutForm(customerId: string, error?: string): string {
  const options = (items: readonly { value: string; label: string }[]): string =>
    items.map((i) => `<option value="${esc(i.value)}">${esc(i.label)}</option>`).join('');
  return page(
    'Pick an offer, a gateway and a test card',
    `${error ? `<p class="error">${esc(error)}</p>` : ''}
<form method="post" action="/demo/checkout">
<label for="customerId">Customer id</label><input id="customerId" name="customerId" value="${esc(customerId)}" pattern="\\d{1,12}" required>
<label for="offerId">Offer</label><select id="offerId" name="offerId">${options(
      DEMO_OFFERS.map((o) => ({
        value: o.id,
        label: `${o.title}: ${o.price} ${o.currency}${o.freeTrialDays ? ` after ${o.freeTrialDays} free days` : ''}`,
      })),
    )}</select>
<label for="gateway">Gateway</label><select id="gateway" name="gateway">${options(DEMO_GATEWAYS.map((g) => ({ value: g.id, label: g.label })))}</select>
<label for="card">Test card (card gateways)</label><select id="card" name="card">${options(DEMO_CARDS.map((c) => ({ value: c.number, label: c.label })))}</select>
<p><button type="submit">Pay</button></p></form>
<p class="muted">The demo calls the connector's API over HTTP with the sandbox API key, like a shop would. Cleeng, the gateways (Adyen, Cleverbridge, Smart Glocal, SmartPay) and the test clock are the sandbox emulators.</p>`,
  );
}

export type DemoAction =
  | { type: 'redirect'; url: string; method: 'GET' | 'POST'; params?: Record<string, string> }
  | { type: 'widget' | 'hosted'; url?: string; data?: Record<string, unknown> };

/**
 * Renders any gateway action generically: a redirect (GET link or POST form with its params) or a widget: the
 * widget's page (its URL with the action's data as query) in a frame, then a button that brings the action's
 * data back to `returnTo` as the completion details (the connector asks the gateway; it never takes the
 * browser's word).
 */
export function actionPage(action: DemoAction, returnTo: string): string {
  if (action.type === 'redirect') {
    const params = Object.entries(action.params ?? {})
      .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
      .join('');
    return page(
      'Your bank wants to confirm it is you',
      `<p>The gateway asked for a customer action. You are being sent to it…</p>
<form method="${action.method === 'POST' ? 'post' : 'get'}" action="${esc(action.url)}" data-auto-submit>${action.method === 'GET' ? hiddenQuery(action.url) : params}
<button type="submit" id="continue-action">Continue</button></form>`,
    );
  }
  const data = Object.entries(action.data ?? {}).filter(
    ([, v]) => typeof v === 'string' || typeof v === 'number',
  );
  const widgetUrl = action.url ? new URL(action.url) : undefined;
  data.forEach(([k, v]) => widgetUrl?.searchParams.set(k, String(v)));
  return page(
    'Store your card in the gateway widget',
    `<p>The gateway keeps the card: store it in its widget below, then continue.</p>
${widgetUrl ? `<iframe id="gateway-widget" name="gateway-widget" title="Gateway widget" src="${esc(widgetUrl.toString())}"></iframe>` : '<p class="error">The gateway named no widget.</p>'}
<form method="get" action="${esc(returnTo)}">${data.map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('')}
<button type="submit" id="widget-done">I stored my card: continue</button></form>`,
  );
}

/** A GET form drops the action URL's query: carry it as fields. */
function hiddenQuery(url: string): string {
  return [...new URL(url).searchParams.entries()]
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('');
}

export interface CleengView {
  orders: Record<string, unknown>[];
  payments: Record<string, unknown>[];
  subscriptions: Record<string, unknown>[];
}

/** The side panel: what the Cleeng emulator received for this customer. */
export function cleengPanel(state: CleengView): string {
  const rows = (items: Record<string, unknown>[], keys: string[]): string =>
    items.length
      ? `<table><tr>${keys.map((k) => `<th>${esc(k)}</th>`).join('')}</tr>${items
          .map(
            (i) =>
              `<tr>${keys.map((k) => `<td>${esc(typeof i[k] === 'object' ? JSON.stringify(i[k]) : i[k])}</td>`).join('')}</tr>`,
          )
          .join('')}</table>`
      : '<p class="muted">none</p>';
  return `<h2>What Cleeng received</h2>
<h3>Payments</h3><div id="cleeng-payments">${rows(state.payments, ['id', 'orderId', 'status', 'paymentOperation', 'rejectedReason'])}</div>
<h3>Subscriptions</h3>${rows(state.subscriptions, ['subscriptionId', 'offerId', 'status', 'expiresAt'])}
<h3>Orders</h3>${rows(state.orders, ['id', 'offerId', 'totalPrice'])}`;
}

export function resultPage(
  orderId: string,
  payment: Record<string, unknown> | undefined,
  clock: string,
  panel: string,
  message?: string,
  gatewayManaged = false,
): string {
  const status = typeof payment?.status === 'string' ? payment.status : 'no payment yet';
  const declined = payment?.decline as { code?: string; reason?: string } | undefined;
  return page(
    `Payment ${status}`,
    `${message ? `<p class="error" role="status">${esc(message)}</p>` : ''}
<p class="status" id="payment-status">${esc(status)}</p>
${declined ? `<p>Decline: <code>${esc(declined.code)}</code> ${esc(declined.reason)}</p>` : ''}
<p>Payment <code>${esc(payment?.id)}</code> · order <code>${esc(orderId)}</code> · sandbox time <code id="sandbox-time">${esc(clock)}</code></p>
${payment?.id ? `<p><a class="button" href="/dashboard/payments/${esc(payment.id)}">Open in the operator dashboard</a></p>` : ''}
<h2>Watch it live</h2>
<form class="inline" method="post" action="/demo/orders/${esc(orderId)}/advance"><input type="hidden" name="days" value="8"><button type="submit">Advance the clock 8 days</button></form>
<form class="inline" method="post" action="/demo/orders/${esc(orderId)}/advance"><input type="hidden" name="days" value="31"><button type="submit" id="advance-month">Advance the clock a month (renewal)</button></form>
<form class="inline" method="post" action="/demo/orders/${esc(orderId)}/refund"><button type="submit" id="refund">Refund the first payment</button></form>
<p class="muted">${
      gatewayManaged
        ? "Renewals are the gateway's: when the period ends it bills the stored card itself and notifies the connector, which reports the cycle to Cleeng; both appear on the right."
        : "Renewals are Cleeng's: when the period ends the Cleeng emulator sends its renewal webhook, the connector charges the stored card and reports the payment, which appears on the right."
    }</p>`,
    panel,
  );
}

export interface CartView {
  purchase: Record<string, unknown>;
  subscription?: Record<string, unknown>;
  ledger: Record<string, unknown>[];
}

/** A merchant-of-record purchase and the connector-managed subscription it started. */
export function cartResultPage(orderId: string, view: CartView, clock: string, message?: string): string {
  const sub = view.subscription;
  const attempts = (sub?.attempts as Record<string, unknown>[] | undefined) ?? [];
  const status =
    typeof sub?.status === 'string'
      ? sub.status
      : typeof view.purchase.status === 'string'
        ? view.purchase.status
        : 'unknown';
  const rows = (items: Record<string, unknown>[], keys: string[]): string =>
    items.length
      ? `<table><tr>${keys.map((k) => `<th>${esc(k)}</th>`).join('')}</tr>${items
          .map((i) => `<tr>${keys.map((k) => `<td>${esc(i[k])}</td>`).join('')}</tr>`)
          .join('')}</table>`
      : '<p class="muted">none</p>';
  return page(
    `Subscription ${status}`,
    `${message ? `<p class="error" role="status">${esc(message)}</p>` : ''}
<p class="status" id="payment-status">${esc(status)}</p>
<p>First purchase <code>${esc(view.purchase.purchaseId)}</code> (${esc(view.purchase.status)}) · Cleverbridge subscription <code>${esc(view.purchase.subscriptionId)}</code> · sandbox time <code id="sandbox-time">${esc(clock)}</code></p>
${sub ? `<p>Next billing <code>${esc(sub.nextBillingAt)}</code></p>` : ''}
<h2>Renewals the connector ran</h2><div id="attempts">${rows(attempts, ['periodIndex', 'status', 'tryNumber', 'externalPaymentId', 'decline'])}</div>
<h2>Watch it live</h2>
<form class="inline" method="post" action="/demo/orders/${esc(orderId)}/advance"><input type="hidden" name="days" value="31"><button type="submit" id="advance-month">Advance the clock a month (renewal)</button></form>
<form class="inline" method="post" action="/demo/orders/${esc(orderId)}/decline-next"><button type="submit" id="decline-next">Make the next renewal decline once (soft)</button></form>
<form class="inline" method="post" action="/demo/orders/${esc(orderId)}/advance"><input type="hidden" name="days" value="1"><button type="submit">Advance a day (dunning retry)</button></form>
<p class="muted">The connector owns this schedule: after the clock moves it runs its rebilling pass, retries a soft decline on its dunning schedule, and honours Cleverbridge's own scheduled retries. The operator dashboard's subscriptions page shows the same.</p>`,
    `<h2>What Cleverbridge saw</h2><div id="gateway-ledger">${rows(view.ledger, ['purchaseId', 'status', 'total', 'period', 'createdAt'])}</div>`,
  );
}

/** A gateway-managed subscription's billing cycles, as the gateway ran them. */
export function gatewayCyclesPanel(cycles: Record<string, unknown>[]): string {
  const keys = ['dueAt', 'status', 'transactionId', 'resultCode'];
  return `<h2>What SmartPay billed</h2><div id="gateway-cycles">${
    cycles.length
      ? `<table><tr>${keys.map((k) => `<th>${esc(k)}</th>`).join('')}</tr>${cycles
          .map((c) => `<tr>${keys.map((k) => `<td>${esc(c[k])}</td>`).join('')}</tr>`)
          .join('')}</table>`
      : '<p class="muted">no cycle yet</p>'
  }</div>`;
}
