import { createHmac } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchContext } from './scenario';
import { informationalOpenLoopRate, openLoop } from './webhook-intake';

/** A stand-in intake: checks each webhook's signature; answers 500 to every tenth, late to the first. */
function intake(): Promise<{ server: Server; url: string; received: string[] }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const expected = createHmac('sha256', 'sandbox-cleeng-webhook-secret').update(body).digest('hex');
      const n = received.push(body);
      const status = req.headers['x-cleeng-signature'] !== expected ? 401 : n % 10 === 0 ? 500 : 200;
      setTimeout(() => res.writeHead(status).end('{}'), n === 1 ? 60 : 0);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }),
    ),
  );
}

describe('the webhook scenario: open loop', () => {
  it('sends every planned webhook signed and unique, times each from its scheduled start, counts failures', async () => {
    const { server, url, received } = await intake();
    try {
      const ctx = { baseUrl: url, signal: new AbortController().signal } as unknown as BenchContext;
      const result = await openLoop(ctx, 'run-1', 200, 0.5, 50);

      expect(result.planned).toBe(100);
      expect(result.sent).toBe(100);
      expect(received).toHaveLength(100);
      expect(new Set(received).size).toBe(100);
      // every tenth answered 500 (the stand-in also answers 401 to a bad signature: none)
      expect(result.errors).toBe(10);
      expect(result.latency.count).toBe(100);
      // the first answer came 60 ms after its scheduled start
      expect(result.latency.max).toBeGreaterThanOrEqual(60);
      // the sender's own lateness is part of each latency, not more: the first webhook left at once
      expect(result.dispatchLag.count).toBe(100);
      expect(result.dispatchLag.max).toBeLessThan(result.latency.max);
      expect(result.dispatchLag.p50).toBeGreaterThanOrEqual(0);
      expect(result.generatorCpuMs).toBeGreaterThan(0);
      expect(result.maxInFlight).toBeGreaterThanOrEqual(1);
    } finally {
      server.close();
    }
  });
});

describe('the webhook scenario: the informational open loop', () => {
  it('runs at 80 % of what the machine took only when the target rate is above its ceiling', () => {
    // above the ceiling: 80 % of the lower of the intake reached and the ceiling
    expect(informationalOpenLoopRate({ openRate: 8000, fixed: false, ceiling: 5000, intakeRate: 4500 })).toBe(
      3600,
    );
    expect(informationalOpenLoopRate({ openRate: 8000, fixed: false, ceiling: 4000, intakeRate: 4500 })).toBe(
      3200,
    );
    // within the ceiling, a rate set by hand, or no ceiling measured: the target's open loop alone
    expect(
      informationalOpenLoopRate({ openRate: 3000, fixed: false, ceiling: 5000, intakeRate: 4500 }),
    ).toBeUndefined();
    expect(
      informationalOpenLoopRate({ openRate: 8000, fixed: true, ceiling: 5000, intakeRate: 4500 }),
    ).toBeUndefined();
    expect(
      informationalOpenLoopRate({ openRate: 8000, fixed: false, ceiling: undefined, intakeRate: 4500 }),
    ).toBeUndefined();
  });
});
