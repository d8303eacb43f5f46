#!/usr/bin/env node
/**
 * Webhook intake probe (issue 11): the app in its own process (NODE_ENV=production, SANDBOX=false, built
 * dist/), signed Cleeng webhooks from this process, and the app's CPU time read from /proc so the load
 * generator is not counted. Also measures PostgreSQL's own single-row insert rate into a copy of
 * inbox_events with the pg driver at the same concurrency, for the ratio.
 *
 *   npm run build:dev
 *   node scripts/intake-probe.js --database-url postgres://postgres@127.0.0.1:5432/wt_intake_bench \
 *     [--n 6000] [--concurrency 50] [--rate 0] [--pg] [--cpu-prof DIR] [--app-env KEY=VALUE ...]
 *
 * --rate R sends at a fixed R webhooks/s (open loop) instead of closed-loop concurrency, for p99 at a load.
 * The events name another connector's payment method, so their processing is the router's cheapest path.
 */
'use strict';
const { spawn } = require('node:child_process');
const { createHmac, randomUUID } = require('node:crypto');
const { readFileSync, mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Pool } = require('pg');
const http = require('node:http');
const { sandboxEnv } = require('../dist/sandbox/sandbox-settings');

const SECRET = 'probe-cleeng-webhook-secret';
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const has = (name) => args.includes(`--${name}`);
const databaseUrl = flag('database-url', process.env.DATABASE_URL);
const n = Number(flag('n', '6000'));
const warmup = Number(flag('warmup', '1000'));
const concurrency = Number(flag('concurrency', '50'));
const rate = Number(flag('rate', '0'));
const cpuProf = flag('cpu-prof', undefined);
/** --get PATH: GET that route instead of posting webhooks (the framework's per-request floor) */
const getPath = flag('get', undefined);
const appEnv = Object.fromEntries(
  args.flatMap((a, i) => (args[i - 1] === '--app-env' ? [a.split(/=(.*)/s).slice(0, 2)] : [])),
);

const TICK = 100; // USER_HZ
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICK;
}
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const summary = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: +pct(s, 50).toFixed(1), p90: +pct(s, 90).toFixed(1), p99: +pct(s, 99).toFixed(1), max: +s[s.length - 1].toFixed(1) };
};

async function drive(total, task) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  if (rate > 0) {
    const inflight = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inflight.push(task(i).then((ms) => latencies.push(ms)));
    }
    await Promise.all(inflight);
  } else {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < total; i = next++) latencies.push(await task(i));
      }),
    );
  }
  return { elapsedMs: performance.now() - started, latencies };
}

async function pgInsertRate(pool) {
  await pool.query(`CREATE TABLE IF NOT EXISTS intake_probe_inserts (LIKE inbox_events INCLUDING ALL)`);
  await pool.query(`TRUNCATE intake_probe_inserts`);
  const runId = randomUUID();
  const insert = (i) => {
    const t = performance.now();
    return pool
      .query(
        `INSERT INTO intake_probe_inserts (source, event_key, event_type, payload, next_attempt_at, received_at)
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (source, event_key) DO NOTHING RETURNING id`,
        ['cleeng', `k:${runId}:${i}`, 'subscriptionReadyForTermination', JSON.stringify(body(runId, i)), new Date()],
      )
      .then(() => performance.now() - t);
  };
  await drive(Math.min(warmup, 500), insert);
  const { elapsedMs, latencies } = await drive(n, (i) => insert(i + 100000));
  await pool.query(`DROP TABLE intake_probe_inserts`);
  return { perSecond: Math.round((n * 1000) / elapsedMs), ...summary(latencies) };
}

function body(runId, i) {
  return { broadcasterId: 900000001, topic: 'subscriptionReadyForTermination', data: { subscriptionId: String(i), paymentMethodId: 990001, runId } };
}

async function waitFor(url, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  if (!databaseUrl) throw new Error('--database-url required');
  const pool = new Pool({ connectionString: databaseUrl, max: concurrency });
  const out = { concurrency, n, rate };
  if (has('pg')) {
    out.pgSingleRowInserts = await pgInsertRate(pool);
    console.log(JSON.stringify({ pgSingleRowInserts: out.pgSingleRowInserts }));
    if (has('pg-only')) return void (await pool.end());
  }
  const port = 20000 + Math.floor(Math.random() * 20000);
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    SANDBOX: 'false',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: databaseUrl,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'intake-probe-')),
    ENCRYPTION_KEY: Buffer.alloc(32, 11).toString('base64'),
    RATE_LIMIT_PER_MINUTE: '10000000',
    // every vendor variable (URLs point nowhere: the probe's events make no vendor call)
    ...sandboxEnv({ publicUrl: 'http://127.0.0.1:9', dataDir: tmpdir() }),
    CLEENG_WEBHOOK_SECRET: SECRET,
    ...appEnv,
  };
  const node = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
  const child = spawn(process.execPath, [...node, flag('main', 'dist/src/main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/health`, 60_000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency + 8 });
    const runId = randomUUID();
    const bodies = Array.from({ length: warmup + n }, (_, i) => JSON.stringify(body(runId, i)));
    const post = async (i) => {
      const raw = bodies[i];
      const t = performance.now();
      const res = await new Promise((resolve, reject) => {
        const req = http.request(
          getPath ? `${base}${getPath}` : `${base}/webhooks/cleeng`,
          {
            method: getPath ? 'GET' : 'POST',
            agent,
            headers: getPath ? {} : {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(raw),
              'x-cleeng-signature': createHmac('sha256', SECRET).update(raw).digest('hex'),
            },
          },
          resolve,
        );
        req.once('error', reject);
        req.end(getPath ? undefined : raw);
      });
      let answer = '';
      for await (const chunk of res) answer += chunk;
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${answer}`);
      return performance.now() - t;
    };
    await drive(warmup, post);
    await new Promise((r) => setTimeout(r, 3000));
    const pendingOf = async () =>
      (
        await pool.query(
          `SELECT count(*)::int AS n FROM inbox_events WHERE status = 'pending' AND payload->'data'->>'runId' = $1`,
          [runId],
        )
      ).rows[0].n;
    const commits = async () =>
      Number(
        (await pool.query(`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`)).rows[0]
          .xact_commit,
      );
    const commitsBefore = await commits();
    const cpuBefore = cpuMs(child.pid);
    const run = await drive(n, (i) => post(warmup + i));
    const cpuIntake = cpuMs(child.pid) - cpuBefore;
    const pendingAfterIntake = await pendingOf();
    // processing drain (the worker runs during intake too)
    const drainStart = performance.now();
    while ((await pendingOf()) > 0 && performance.now() - drainStart < 120_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const drainMs = performance.now() - drainStart;
    const cpuTotal = cpuMs(child.pid) - cpuBefore;
    await new Promise((r) => setTimeout(r, 1500)); // statistics are flushed about every second
    const transactions = (await commits()) - commitsBefore;
    // processing cost per event from the drain (only processing runs then); intake = the rest of the intake window
    const processingPerEvent = pendingAfterIntake > 0 ? (cpuTotal - cpuIntake) / pendingAfterIntake : 0;

    out.intake = {
      perSecond: Math.round((n * 1000) / run.elapsedMs),
      ...summary(run.latencies),
      appCpuMsPerWebhookDuringIntake: +(cpuIntake / n).toFixed(3),
      appCpuMsPerWebhookIncludingProcessing: +(cpuTotal / n).toFixed(3),
      drainAfterIntakeMs: Math.round(drainMs),
      eventsPendingAfterIntake: pendingAfterIntake,
      appCpuMsPerEventProcessing: +processingPerEvent.toFixed(3),
      appCpuMsPerWebhookIntakeOnly: +((cpuIntake - processingPerEvent * (n - pendingAfterIntake)) / n).toFixed(3),
      dbTransactionsPerWebhookIncludingProcessing: +(transactions / n).toFixed(2),
    };
    agent.destroy();
  } finally {
    child.kill('SIGTERM');
    await exited;
    await pool.end();
  }
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
