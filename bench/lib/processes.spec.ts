import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_IDS } from '../../src/gateways/gateway-ids';
import { GATEWAY_DEFINITIONS } from '../../src/gateways/gateways';
import {
  appEnvironment,
  BENCH_GATEWAY_CALLS_PER_SECOND,
  benchGatewayRateLimits,
  imageNodeOptions,
} from './processes';

describe('imageNodeOptions: the bench starts the app with the production image NODE_OPTIONS', () => {
  it("reads the project's Dockerfile: the heap budget and young generation the image ships with", () => {
    const dockerfile = readFileSync(join(__dirname, '..', '..', 'Dockerfile'), 'utf8');
    expect(imageNodeOptions(dockerfile)).toMatch(/^--max-old-space-size=\d+ --max-semi-space-size=\d+$/);
  });

  it('quoted or bare, and none when the image sets none', () => {
    expect(imageNodeOptions('FROM node\nENV NODE_OPTIONS="--a=1 --b"\nCMD x')).toBe('--a=1 --b');
    expect(imageNodeOptions('ENV NODE_OPTIONS=--a=1\n')).toBe('--a=1');
    expect(imageNodeOptions('FROM node\nENV NODE_ENV=production\n')).toBeUndefined();
  });
});

describe('appEnvironment: the bench measures the app, not the ceilings an operator starts from', () => {
  const options = {
    root: join(__dirname, '..', '..'),
    port: 1,
    sandboxUrl: 'http://127.0.0.1:2',
    databaseUrl: 'postgres://postgres@127.0.0.1:5432/x',
    dataDir: '/tmp/x',
    encryptionKey: 'k',
    extraEnv: {},
  };

  it('raises the calls-per-second ceiling of every gateway the build registers', () => {
    const ceilings = new Map(
      appEnvironment(options)
        .GATEWAY_RATE_LIMITS!.split(',')
        .map((pair) => pair.split('=') as [string, string]),
    );
    expect([...ceilings.keys()].sort()).toEqual([...GATEWAY_IDS].sort());
    for (const id of GATEWAY_IDS) {
      expect(Number(ceilings.get(id))).toBe(BENCH_GATEWAY_CALLS_PER_SECOND);
      // above any definition's conservative default, e.g. Adyen's 200/s
      expect(BENCH_GATEWAY_CALLS_PER_SECOND).toBeGreaterThan(
        GATEWAY_DEFINITIONS.find((d) => d.id === id)!.callsPerSecond * 100,
      );
    }
  });

  it("a scenario's own ceiling replaces the bench's for that gateway only", () => {
    const env = appEnvironment({
      ...options,
      extraEnv: { GATEWAY_RATE_LIMITS: benchGatewayRateLimits({ cleverbridge: 50 }) },
    });
    expect(env.GATEWAY_RATE_LIMITS).toContain('cleverbridge=50');
    expect(env.GATEWAY_RATE_LIMITS).toContain(`adyen=${BENCH_GATEWAY_CALLS_PER_SECOND}`);
  });
});
