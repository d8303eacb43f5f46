import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPLETE_ENV } from '../../test/support/complete-env';
import { ConfigError, loadConfig } from '../config/config.factory';

const dataDir = (): string => mkdtempSync(join(tmpdir(), 'rebill-cfg-'));
const H = 3_600_000;
const D = 24 * H;

describe('REBILL_* settings', () => {
  it('has defaults: every minute, 100 per batch, 10 at once, 1d/3d/7d, 2 h grace, 5 min lease', () => {
    expect(loadConfig({ ...COMPLETE_ENV, DATA_DIR: dataDir() }).rebill).toEqual({
      cron: '* * * * *',
      batchSize: 100,
      concurrency: 10,
      dunningScheduleMs: [D, 3 * D, 7 * D],
      retryGraceMs: 2 * H,
      leaseMs: 5 * 60_000,
    });
  });

  it('reads every variable', () => {
    const rebill = loadConfig({
      ...COMPLETE_ENV,
      DATA_DIR: dataDir(),
      REBILL_CRON: '*/10 * * * * *',
      REBILL_BATCH_SIZE: '500',
      REBILL_CONCURRENCY: '32',
      DUNNING_SCHEDULE: '12h,2d',
      REBILL_RETRY_GRACE: '90m',
      REBILL_LEASE: '30s',
    }).rebill;
    expect(rebill).toEqual({
      cron: '*/10 * * * * *',
      batchSize: 500,
      concurrency: 32,
      dunningScheduleMs: [12 * H, 2 * D],
      retryGraceMs: 90 * 60_000,
      leaseMs: 30_000,
    });
    expect(
      loadConfig({ ...COMPLETE_ENV, DATA_DIR: dataDir(), REBILL_CRON: 'off', DUNNING_SCHEDULE: 'none' })
        .rebill,
    ).toMatchObject({
      cron: 'off',
      dunningScheduleMs: [],
    });
  });

  it.each([
    [{ REBILL_CRON: 'every minute' }, 'REBILL_CRON'],
    [{ REBILL_CRON: '61 * * * *' }, 'REBILL_CRON'],
    [{ REBILL_BATCH_SIZE: '0' }, 'REBILL_BATCH_SIZE'],
    [{ REBILL_CONCURRENCY: 'many' }, 'REBILL_CONCURRENCY'],
    [{ DUNNING_SCHEDULE: '3d,1d' }, 'DUNNING_SCHEDULE'],
    [{ DUNNING_SCHEDULE: '1 day' }, 'DUNNING_SCHEDULE'],
    [{ REBILL_RETRY_GRACE: '2 hours' }, 'REBILL_RETRY_GRACE'],
    [{ REBILL_LEASE: '500ms' }, 'REBILL_LEASE'],
  ])('fails fast on %j, naming %s', (env, name) => {
    expect(() => loadConfig({ ...COMPLETE_ENV, DATA_DIR: dataDir(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...COMPLETE_ENV, DATA_DIR: dataDir(), ...env })).toThrow(name);
  });
});
