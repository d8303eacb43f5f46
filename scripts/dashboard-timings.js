#!/usr/bin/env node
// node scripts/dashboard-timings.js <app url> [operator key]: signs in to a running app's dashboard and prints the
// median and worst of 5 loads of every page (after one warm-up), e.g. on a database seeded by dashboard:seed.
const base = process.argv[2] ?? 'http://localhost:3000';
const key = process.argv[3] ?? process.env.OPERATOR_KEY ?? 'sandbox-operator';

async function main() {
  const form = await fetch(`${base}/dashboard/login`);
  const nonceCookie = form.headers.get('set-cookie').split(';')[0];
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())[1];
  const login = await fetch(`${base}/dashboard/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: nonceCookie },
    body: new URLSearchParams({ _csrf: csrf, operator: 'timings', key }).toString(),
  });
  const session = login.headers.getSetCookie().find((c) => c.startsWith('dashboard_session=')).split(';')[0];
  const get = async (path) => {
    const started = process.hrtime.bigint();
    const res = await fetch(`${base}${path}`, { headers: { cookie: session } });
    const body = await res.text();
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.status, body };
  };
  const list = await get('/dashboard/payments');
  const paymentId = /\/dashboard\/payments\/([0-9a-f-]{36})/.exec(list.body)[1];
  const after = /after=([\w-]+)/.exec(list.body)?.[1];
  const detail = await get(`/dashboard/payments/${paymentId}`);
  const customer = /<dt>customer<\/dt><dd class="mono">([^<]+)</.exec(detail.body)?.[1]?.trim();
  const cleengOrder = /<dt>Cleeng order<\/dt><dd class="mono">([^<]+)</.exec(detail.body)?.[1]?.trim();
  const external = /<dt>gateway payment id<\/dt><dd class="mono">([^<]+)</.exec(detail.body)?.[1]?.trim();
  const pages = [
    ['overview 24 h', '/dashboard'],
    ['overview 7 d', '/dashboard?window=7d'],
    ['payments, newest', '/dashboard/payments'],
    ...(after ? [['payments, page 2 (cursor)', `/dashboard/payments?after=${after}`]] : []),
    ['search by customer', `/dashboard/payments?q=${encodeURIComponent(customer ?? '')}`],
    ['search by Cleeng order id', `/dashboard/payments?q=${encodeURIComponent(cleengOrder ?? '')}`],
    ['search by gateway payment id', `/dashboard/payments?q=${encodeURIComponent(external ?? '')}`],
    ['search by our payment id', `/dashboard/payments?q=${paymentId}`],
    ['payment timeline', `/dashboard/payments/${paymentId}`],
    ['inbox', '/dashboard/inbox'],
    ['outbox', '/dashboard/outbox'],
    ['subscriptions', '/dashboard/subscriptions'],
    ['gateways', '/dashboard/gateways'],
  ];
  console.log('| page | median ms | worst ms |\n|---|---:|---:|');
  for (const [name, path] of pages) {
    await get(path);
    const runs = [];
    for (let i = 0; i < 5; i += 1) {
      const r = await get(path);
      if (r.status !== 200) {
        throw new Error(`${path}: HTTP ${r.status}`);
      }
      runs.push(r.ms);
    }
    runs.sort((a, b) => a - b);
    console.log(`| ${name} | ${runs[2].toFixed(0)} | ${runs[4].toFixed(0)} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
