#!/usr/bin/env node
// node scripts/count-statements.js [--database-url URL] [--n 10] [--load 300] [--concurrency 16] [--list]
// (after `npm run build:dev`). The app (NODE_ENV=production, SANDBOX=false) and the emulators
// (dist/sandbox/standalone.js) run as two child processes, like the fault suite. Measures, in the app process only:
// - every SQL statement it sends to PostgreSQL (BEGIN/COMMIT included) for one purchase at a time
//   (POST /v1/orders + POST /v1/payments with the approve card, then the outbox delivering the report to Cleeng)
//   and for one Cleeng capture-only renewal at a time (webhook intake, the inbox worker: Cleeng order, Adyen MIT
//   charge, report); Adyen's own notifications are paused meanwhile and measured on their own;
// - its CPU time (user + system) per purchase over --load purchases at --concurrency, outbox drained.
// Pollers run every hour, so only the work measured speaks to the database. --list prints the statements of the
// last sequential purchase and renewal in order. --cpu-prof DIR: the app writes a CPU profile to DIR on exit.
'use strict';
const { fork, spawn } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const pg = require('pg');

const ROOT = join(__dirname, '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const databaseUrl =
  flag('database-url') ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/connector_bench';
const n = Number(flag('n', '10'));
const load = Number(flag('load', '300'));
const concurrency = Number(flag('concurrency', '16'));
const list = args.includes('--list');
// --cpu-prof DIR: the app process writes a V8 CPU profile there when it exits
const cpuProf = flag('cpu-prof');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitHttp(url) {
  for (let i = 0; i < 600; i += 1) {
    try {
      const res = await fetch(url);
      if (res.status < 500) {
        return;
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer`);
}

async function main() {
  const { sandboxEnv, SANDBOX_SECRETS } = require('../dist/sandbox/sandbox-settings');
  const dataDir = mkdtempSync(join(tmpdir(), 'count-statements-'));
  const appPort = 20000 + Math.floor(Math.random() * 20000);
  const sandboxPort = appPort + 1;
  const app = `http://127.0.0.1:${appPort}`;
  const sandbox = `http://127.0.0.1:${sandboxPort}`;
  const children = [];
  const emulators = spawn(process.execPath, [join(ROOT, 'dist/sandbox/standalone.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', SANDBOX_PORT: String(sandboxPort), SANDBOX_APP_URL: app },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(emulators);
  await waitHttp(`${sandbox}/sandbox/faults`);
  const hour = String(3_600_000);
  const child = fork(join(ROOT, 'dist/src/main.js'), [], {
    cwd: ROOT,
    execArgv: [
      '-r',
      join(__dirname, 'statement-hook.js'),
      ...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : []),
    ],
    env: {
      PATH: process.env.PATH ?? '',
      ...sandboxEnv({ publicUrl: sandbox, dataDir }),
      NODE_ENV: 'production',
      SANDBOX: 'false',
      PORT: String(appPort),
      PUBLIC_URL: app,
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      ENCRYPTION_KEY: Buffer.alloc(32, 11).toString('base64'),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '10000000',
      OUTBOX_POLL_INTERVAL_MS: hour,
      INBOX_POLL_INTERVAL_MS: hour,
      RECONCILE_INTERVAL_MS: hour,
      REBILL_CRON: 'off',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(child);
  const stopAll = () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
  process.on('exit', stopAll);
  await waitHttp(`${app}/health/ready`);

  const ask = (message) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(message);
    });
  const probe = new pg.Client({ connectionString: databaseUrl });
  await probe.connect();

  const call = async (url, method, body, headers = {}) => {
    const res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', 'X-Api-Key': SANDBOX_SECRETS.apiKey, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) {
      throw new Error(`${method} ${url}: ${res.status} ${text}`);
    }
    return text ? JSON.parse(text) : undefined;
  };
  const operator = { 'X-Operator-Key': SANDBOX_SECRETS.operatorKey };
  const drain = async (aggregateIds) => {
    for (let i = 0; i < 6000; i += 1) {
      const { rows } = await probe.query(
        `SELECT count(*)::int AS n FROM outbox_messages WHERE aggregate_id = ANY($1::text[]) AND status = 'pending'`,
        [aggregateIds],
      );
      if (rows[0].n === 0) {
        return;
      }
      await sleep(5);
    }
    throw new Error('outbox not drained');
  };

  const purchase = async (customerId) => {
    const order = await call(`${app}/v1/orders`, 'POST', {
      customerId,
      offerId: 'S100000001_US',
      currency: 'USD',
      country: 'US',
      gateway: 'adyen',
    });
    const payment = await call(
      `${app}/v1/payments`,
      'POST',
      {
        orderId: order.id,
        paymentMethod: {
          type: 'scheme',
          number: '4111111111111111',
          expiryMonth: '03',
          expiryYear: '2030',
          cvc: '737',
          holderName: 'Count Customer',
        },
      },
      { 'Idempotency-Key': randomUUID() },
    );
    if (payment.status !== 'captured') {
      throw new Error(`payment ${payment.id} ended ${payment.status}`);
    }
    return { order, payment };
  };
  const measured = async (fn) => {
    await ask('start');
    const value = await fn();
    await sleep(30);
    const { statements, cpuUs, window } = await ask('stop');
    return { value, statements, cpuMs: cpuUs / 1000, window };
  };

  const customers = 800_000_000 + Math.floor(Math.random() * 99_000_000);
  let next = 0;
  await call(`${sandbox}/sandbox/adyen/webhooks/pause`, 'POST', {});
  for (let i = 0; i < 20; i += 1) {
    const { payment } = await purchase(String(customers + next++));
    await drain([payment.id]);
  }
  const purchases = [];
  for (let i = 0; i < n; i += 1) {
    purchases.push(
      await measured(async () => {
        const bought = await purchase(String(customers + next++));
        await drain([bought.payment.id]);
        return bought;
      }),
    );
  }
  // CPU under load: `load` purchases, `concurrency` at a time, until every report is delivered
  const loaded = await measured(async () => {
    const ids = [];
    let started = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (started < load) {
          started += 1;
          ids.push((await purchase(String(customers + next++))).payment.id);
        }
      }),
    );
    await drain(ids);
  });
  const notifications = await measured(async () => {
    await call(`${sandbox}/sandbox/adyen/webhooks/resume`, 'POST', {});
    await fetch(`${sandbox}/sandbox/adyen/webhooks/idle?timeoutMs=10000`);
    for (let i = 0; i < 3; i += 1) {
      await call(`${app}/ops/inbox/process`, 'POST', undefined, operator);
    }
  });
  const notified = next;

  await call(`${sandbox}/sandbox/adyen/webhooks/pause`, 'POST', {});
  const state = await call(`${sandbox}/sandbox/cleeng/state`, 'GET');
  const renewals = [];
  for (const { value } of purchases) {
    const cleengPayment = state.payments.find((p) => p.externalPaymentId === value.payment.externalPaymentId);
    const sub = state.subscriptions.find(
      (s) => String(s.subscriptionId) === String(cleengPayment?.subscriptionId),
    );
    if (!sub) {
      continue;
    }
    renewals.push(
      await measured(async () => {
        const dunningAttemptDate = `count-${randomUUID()}`;
        // the same webhook again (same event key) when the emulator's delivery got no answer (a loaded machine)
        const send = () =>
          call(`${sandbox}/sandbox/cleeng/webhooks/send`, 'POST', {
            topic: 'subscriptionReadyForPaymentCapture',
            data: {
              subscriptionId: String(sub.subscriptionId),
              offerId: sub.offerId,
              customerId: Number(value.order.customerId),
              paymentDetailsId: sub.paymentDetailsId,
              currency: 'USD',
              paymentCountry: 'US',
              paymentMethodId: 101,
              dunningAttemptDate,
            },
            signature: 'valid',
          });
        let sent = await send();
        for (let i = 0; i < 3 && sent.status === 0; i += 1) {
          sent = await send();
        }
        if (sent.status !== 200) {
          throw new Error(`renewal webhook answered ${sent.status}`);
        }
        await call(`${app}/ops/inbox/process`, 'POST', undefined, operator);
        const { rows } = await probe.query(
          `SELECT p.id, p.status FROM payments p JOIN orders o ON o.id = p.order_id
           WHERE o.cleeng_subscription_id = $1 AND p.operation = 'recurring-payment'`,
          [String(sub.subscriptionId)],
        );
        if (rows.length !== 1 || rows[0].status !== 'captured') {
          throw new Error(`renewal of ${sub.subscriptionId}: ${JSON.stringify(rows)}`);
        }
        await drain([rows[0].id]);
      }),
    );
  }

  const avg = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const line = (label, statements, cpuMs) =>
    process.stdout.write(
      `${label.padEnd(58)} ${statements.toFixed(1).padStart(6)} statements  ${cpuMs.toFixed(2).padStart(6)} ms app CPU\n`,
    );
  process.stdout.write(
    `\n${databaseUrl.replace(/\/\/[^@]*@/, '//')}: app process only (NODE_ENV=production, SANDBOX=false)\n`,
  );
  line(
    `purchase, one at a time (mean of ${n})`,
    avg(purchases.map((r) => r.statements.length)),
    avg(purchases.map((r) => r.cpuMs)),
  );
  line(
    `purchase under load (${load}, concurrency ${concurrency})`,
    loaded.statements.length / load,
    loaded.cpuMs / load,
  );
  line(
    `Adyen notifications of one purchase (mean of ${notified})`,
    notifications.statements.length / notified,
    notifications.cpuMs / notified,
  );
  line(
    `capture-only renewal, one at a time (mean of ${renewals.length})`,
    avg(renewals.map((r) => r.statements.length)),
    avg(renewals.map((r) => r.cpuMs)),
  );
  if (cpuProf) {
    process.stdout.write(
      `profile window of the load: --from ${loaded.window.fromUs} --to ${loaded.window.toUs}\n`,
    );
  }
  if (list) {
    const show = (title, statements) => {
      process.stdout.write(`\n${title}: ${statements.length}\n`);
      statements.forEach((s, i) =>
        process.stdout.write(`${String(i + 1).padStart(3)}. ${s.slice(0, 200)}\n`),
      );
    };
    show('purchase (orders, payments, report delivery)', purchases[purchases.length - 1].statements);
    if (renewals.length > 0) {
      show(
        'renewal (webhook intake, inbox worker, report delivery)',
        renewals[renewals.length - 1].statements,
      );
    }
  }
  await probe.end();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  stopAll();
  rmSync(dataDir, { recursive: true, force: true });
}

main().then(
  () => setTimeout(() => process.exit(0), 200).unref(),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
