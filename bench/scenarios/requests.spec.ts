import type { ProbeDelta } from '../lib/probe-protocol';
import { REQUEST_KINDS, requestRow, selectKinds } from './requests';

const app = (cpuMs: number, queries: number): ProbeDelta => ({
  queries,
  cpuMs,
  cpuUserMs: cpuMs,
  cpuSystemMs: 0,
  wallMs: 1000,
  rssEndMb: 0,
});

describe('the requests scenario', () => {
  it('measures a purchase with and without its notifications, and waits for both inside their phase', () => {
    const purchases = REQUEST_KINDS.filter((k) => k.settles);
    expect(purchases.map((k) => [k.name, k.notificationsLost ?? false])).toEqual([
      ['purchase, notifications lost', true],
      ['purchase', false],
    ]);
    // a kind without a settle wait must not lose notifications: nothing would restore them before the next kind
    expect(REQUEST_KINDS.filter((k) => k.notificationsLost && !k.settles)).toEqual([]);
  });

  it('prints CPU and statements per request, and whether a purchase kind settled', () => {
    const kind = REQUEST_KINDS.find((k) => k.name === 'purchase');
    if (!kind) {
      throw new Error('no purchase kind');
    }
    const measured = {
      value: { elapsedMs: 4000 },
      app: app(5000, 7800),
      databaseCpuMs: 3900,
      emulatorCpuMs: 2600,
    };
    expect(requestRow({ kind, requests: 800, errors: 2, settled: true, measured })).toEqual([
      'purchase',
      '798 / 800',
      200,
      '6.25',
      '9.8',
      '-',
      '4.88',
      '3.25',
      'yes',
    ]);
    expect(requestRow({ kind, requests: 800, errors: 0, settled: false, measured })[8]).toBe('timed out');
    // with the floor: 5 answered (2 API requests, 3 notifications) × 0.03 + 4 sent × 0.08 + 9.75 statements × 0.05
    const floor = { answeredMs: 0.03, sentMs: 0.08, statementMs: 0.05 };
    expect(requestRow({ kind, requests: 800, errors: 0, settled: true, measured }, floor)[5]).toBe('0.96');
  });

  it('measures the kinds --kinds names, in the scenario order, and refuses a kind it does not know', () => {
    expect(selectKinds('').map((k) => k.id)).toEqual(REQUEST_KINDS.map((k) => k.id));
    expect(selectKinds('purchase, health').map((k) => k.name)).toEqual(['GET /health', 'purchase']);
    expect(() => selectKinds('health,helth')).toThrow(/no request kind helth \(kinds: health, get-order/);
    expect(new Set(REQUEST_KINDS.map((k) => k.id)).size).toBe(REQUEST_KINDS.length);
  });
});
