import { randomUUID } from 'node:crypto';
import { claimStatementName, leaseClaimStatement } from '../src/common/database/lease-claim';
import { InboxService } from '../src/inbox/inbox.service';
import { inboxClaim } from '../src/inbox/inbox.worker';
import { StatementRecorder } from './support/statements';
import { eventually, startTestApp, TestApp } from './support/test-app';

/**
 * Handlers for `gateways` that hold each event 150 ms and record how many ran at once, in all and per gateway.
 */
function concurrencyProbe(inbox: InboxService, gateways: string[]) {
  const probe = {
    running: 0,
    max: 0,
    done: 0,
    perGateway: new Map<string, { running: number; max: number }>(),
  };
  for (const gateway of gateways) {
    const own = { running: 0, max: 0 };
    probe.perGateway.set(gateway, own);
    inbox.registerHandler(gateway, async () => {
      probe.running += 1;
      own.running += 1;
      probe.max = Math.max(probe.max, probe.running);
      own.max = Math.max(own.max, own.running);
      await new Promise((resolve) => setTimeout(resolve, 150));
      probe.running -= 1;
      own.running -= 1;
      probe.done += 1;
      return 'done';
    });
  }
  return probe;
}

/**
 * A handler for `source` that holds an event with `slow: true` until `release()` and records the others' `i` in
 * `fastDone` at once.
 */
function slowEventHandler(inbox: InboxService, source: string) {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const state = { slowStarted: false, slowDone: false, fastDone: [] as number[], release: () => release() };
  inbox.registerHandler(source, async (event) => {
    if (event.payload.slow === true) {
      state.slowStarted = true;
      await released;
      state.slowDone = true;
    } else {
      state.fastDone.push(Number(event.payload.i));
    }
    return 'done';
  });
  return state;
}

/** INBOX_CONCURRENCY and INBOX_GATEWAY_CONCURRENCY: slots refill at once, each gateway is bounded. */
describe('inbox processing concurrency', () => {
  let app: TestApp;
  let inbox: InboxService;
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    // no polling: only the wake-up of a stored event and freed slots drive the worker
    app = await startTestApp({
      INBOX_CONCURRENCY: '6',
      INBOX_GATEWAY_CONCURRENCY: '4',
      INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: 'cleverbridge=5',
      INBOX_POLL_INTERVAL_MS: '600000',
    });
    inbox = app.app.get(InboxService);
  });
  afterAll(async () => {
    await app.close();
  });

  const events = (prefix: string, count: number, payload: Record<string, unknown> = {}) =>
    Array.from({ length: count }, (_, i) => ({
      eventKey: `${prefix}-${run}-${i}`,
      eventType: 'test',
      payload: { ...payload, i },
    }));

  it('a slow event holds one slot only: later events are claimed and processed while it runs', async () => {
    const handler = slowEventHandler(inbox, 'slow-test');

    await inbox.store('slow-test', events('slow', 1, { slow: true }));
    await eventually(() => Promise.resolve(handler.slowStarted));
    for (let batch = 0; batch < 3; batch += 1) {
      await inbox.store('slow-test', events(`fast-${batch}`, 10));
    }

    await eventually(() => Promise.resolve(handler.fastDone.length === 30));
    expect(handler.slowDone).toBe(false);
    handler.release();
    await eventually(() => Promise.resolve(handler.slowDone));
  });

  it("a wake-up claims in the stored events' lane, without looking for every lane present", async () => {
    const handler = slowEventHandler(inbox, 'lane-test');
    // a pass kept running by a slow event, as under load
    await inbox.store('lane-test', events('lane-slow', 1, { slow: true }));
    await eventually(() => Promise.resolve(handler.slowStarted));
    const recorder = new StatementRecorder();
    recorder.install();
    recorder.start();
    const started = performance.now();
    let sent: string[];
    try {
      for (let batch = 0; batch < 6; batch += 1) {
        await inbox.store('lane-test', events(`lane-${batch}`, 4));
        await eventually(() => Promise.resolve(handler.fastDone.length === 4 * (batch + 1)));
      }
    } finally {
      sent = recorder.stop();
      recorder.uninstall();
      handler.release();
    }
    const elapsedMs = performance.now() - started;
    // on PostgreSQL a claim is prepared once per connection, then EXECUTEd by name: one name per shape
    const shapeName = (otherLanes: number): string =>
      claimStatementName(
        leaseClaimStatement(
          inboxClaim(new Date(), { perLane: new Map([['', 1]]), otherLanes }, new Date(), randomUUID()),
        ).sql,
      );
    const [everywhere, ownLanes] = [shapeName(1), shapeName(0)];
    const claims = sent.filter(
      (t) =>
        t.includes('UPDATE inbox_events SET locked_until') ||
        t.includes(`EXECUTE ${everywhere}(`) ||
        t.includes(`EXECUTE ${ownLanes}(`),
    );
    const lookingEverywhere = claims.filter(
      (t) => t.includes('min(candidate.lane)') || t.includes(`EXECUTE ${everywhere}(`),
    );

    expect(claims.length).toBeGreaterThanOrEqual(6);
    // every lane is looked at again once a second while a pass runs; each wake-up looks in its own lane
    expect(lookingEverywhere.length).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / 1000));
  });

  it('runs INBOX_CONCURRENCY events at once, at most INBOX_GATEWAY_CONCURRENCY for one gateway', async () => {
    const probe = concurrencyProbe(inbox, ['gw-a', 'gw-b']);

    // gw-a's events first, up to its bound, then gw-b's take the slots left
    await inbox.store('gw-a', events('a', 12));
    await eventually(() => Promise.resolve(probe.perGateway.get('gw-a')?.running === 4));
    await inbox.store('gw-b', events('b', 12));
    await eventually(() => Promise.resolve(probe.done === 24), 20_000);

    expect(probe.max).toBe(6);
    expect(probe.perGateway.get('gw-a')?.max).toBe(4);
    expect(probe.perGateway.get('gw-b')?.max).toBeLessThanOrEqual(4);
  });

  it("one gateway's backlog does not hold back other events: each lane is claimed on its own", async () => {
    // sources (and lanes) of this run only: the database may hold other runs' events
    const stuck = `gw-stuck-${run}`;
    const quick = `gw-quick-${run}`;
    let releaseSlow: () => void = () => undefined;
    const slowReleased = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    let slowStarted = 0;
    let slowDone = 0;
    const quickDone: number[] = [];
    inbox.registerHandler(stuck, async () => {
      slowStarted += 1;
      await slowReleased;
      slowDone += 1;
      return 'done';
    });
    inbox.registerHandler(quick, (event) => {
      quickDone.push(Number(event.payload.i));
      return Promise.resolve('done');
    });

    // a backlog of one gateway's events, older than anything else due, more than the claim window (2 x 6)
    await inbox.store(stuck, events('stuck', 40));
    await eventually(() => Promise.resolve(slowStarted === 4));
    await inbox.store(quick, events('quick', 5));

    await eventually(() => Promise.resolve(quickDone.length === 5));
    expect(slowStarted).toBe(4);
    expect(slowDone).toBe(0);
    // the operator sees which gateway the backlog waits for
    const metrics = (await app.http.get('/metrics').expect(200)).text;
    expect(metrics).toContain(`connector_inbox_pending_by_lane{lane="${stuck}"} 40`);
    releaseSlow();
    await eventually(() => Promise.resolve(slowDone === 40), 20_000);
  });

  it('INBOX_GATEWAY_CONCURRENCY_BY_GATEWAY: a gateway named there gets its own bound, the others keep the default', async () => {
    // this app's own handlers for the two gateways' notifications, replaced for the test
    const probe = concurrencyProbe(inbox, ['cleverbridge', 'adyen']);
    await inbox.store('cleverbridge', events('cb', 12));
    await eventually(() => Promise.resolve(probe.perGateway.get('cleverbridge')?.running === 5));
    await inbox.store('adyen', events('ad', 12));
    await eventually(() => Promise.resolve(probe.done === 24), 20_000);

    expect(probe.max).toBe(6);
    expect(probe.perGateway.get('cleverbridge')?.max).toBe(5);
    expect(probe.perGateway.get('adyen')?.max).toBe(4);
  });
});
