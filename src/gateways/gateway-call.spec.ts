import {
  GatewayOutcomeUnknownError,
  GatewayRequestRejectedError,
  GatewayUnavailableError,
} from './gateway.errors';
import { callGateway, GatewayCallOptions } from './gateway-call';
import { gatewayCallDuration } from '../common/metrics/process-metrics';

const at = (retryDelaysMs: number[]): GatewayCallOptions => ({
  gateway: 'adyen',
  operation: 'authorise',
  retryDelaysMs,
});

async function callCount(labels: Record<'gateway' | 'operation' | 'outcome', string>): Promise<number> {
  const { values } = await gatewayCallDuration.get();
  const count = values.find(
    (v) =>
      v.metricName === 'connector_gateway_call_duration_seconds_count' &&
      (Object.keys(labels) as (keyof typeof labels)[]).every((k) => v.labels[k] === labels[k]),
  );
  return count?.value ?? 0;
}

describe('callGateway', () => {
  it('retries a timeout and returns the answer of a later try', async () => {
    let calls = 0;
    const outcome = await callGateway(
      () => {
        calls += 1;
        if (calls < 3) {
          return Promise.reject(new GatewayOutcomeUnknownError('adyen', 'timeout'));
        }
        return Promise.resolve('ok');
      },
      at([1, 1]),
    );
    expect(outcome).toEqual({ kind: 'ok', value: 'ok' });
    expect(calls).toBe(3);
  });

  it('reports unknown, never a decline, when every try timed out', async () => {
    const outcome = await callGateway(
      () => Promise.reject(new GatewayOutcomeUnknownError('adyen', 'timeout')),
      at([1]),
    );
    expect(outcome.kind).toBe('unknown');
  });

  it('reports not_processed with a technical decline only when the request never left', async () => {
    const outcome = await callGateway(
      () => Promise.reject(new GatewayUnavailableError('adyen', 'refused', true)),
      at([1]),
    );
    expect(outcome).toMatchObject({
      kind: 'not_processed',
      decline: { code: 'GW_ERROR', class: 'technical' },
    });
    const mixed = await callGateway(
      () => Promise.reject(new GatewayUnavailableError('adyen', '500', false, 500)),
      at([1]),
    );
    expect(mixed.kind).toBe('unknown');
  });

  it('never retries a request the gateway refused as invalid', async () => {
    let calls = 0;
    const outcome = await callGateway(
      () => {
        calls += 1;
        return Promise.reject(new GatewayRequestRejectedError('adyen', 'bad', 422, '14_030'));
      },
      at([1, 1]),
    );
    expect(outcome.kind).toBe('invalid');
    expect(calls).toBe(1);
  });

  it('times each call once (retries included) by gateway, operation and outcome', async () => {
    const labels = { gateway: 'cleverbridge', operation: 'rebill' } as const;
    const before = {
      ok: await callCount({ ...labels, outcome: 'ok' }),
      unknown: await callCount({ ...labels, outcome: 'unknown' }),
      error: await callCount({ ...labels, outcome: 'error' }),
    };
    await callGateway(() => Promise.resolve(1), { ...labels, retryDelaysMs: [1] });
    await callGateway(() => Promise.reject(new GatewayOutcomeUnknownError('cleverbridge', 'timeout')), {
      ...labels,
      retryDelaysMs: [1, 1],
    });
    await expect(callGateway(() => Promise.reject(new Error('bug')), labels)).rejects.toThrow('bug');
    expect(await callCount({ ...labels, outcome: 'ok' })).toBe(before.ok + 1);
    expect(await callCount({ ...labels, outcome: 'unknown' })).toBe(before.unknown + 1);
    expect(await callCount({ ...labels, outcome: 'error' })).toBe(before.error + 1);
  });

  describe('a call without an idempotency key at the gateway (idempotent: false)', () => {
    it('is sent exactly once when it timed out: the gateway may have acted', async () => {
      let calls = 0;
      const outcome = await callGateway(
        () => {
          calls += 1;
          return Promise.reject(new GatewayOutcomeUnknownError('cleverbridge', 'timeout'));
        },
        { gateway: 'cleverbridge', operation: 'processCart', idempotent: false, retryDelaysMs: [1, 1] },
      );
      expect(outcome.kind).toBe('unknown');
      expect(calls).toBe(1);
    });

    it('is sent exactly once after a 5xx', async () => {
      let calls = 0;
      const outcome = await callGateway(
        () => {
          calls += 1;
          return Promise.reject(new GatewayUnavailableError('cleverbridge', '500', false, 500));
        },
        { gateway: 'cleverbridge', operation: 'processCart', idempotent: false, retryDelaysMs: [1, 1] },
      );
      expect(outcome.kind).toBe('unknown');
      expect(calls).toBe(1);
    });

    it('is retried only while the request certainly never reached the gateway (connection refused)', async () => {
      let calls = 0;
      const outcome = await callGateway(
        () => {
          calls += 1;
          return calls < 3
            ? Promise.reject(new GatewayUnavailableError('cleverbridge', 'refused', true))
            : Promise.resolve('ok');
        },
        { gateway: 'cleverbridge', operation: 'processCart', idempotent: false, retryDelaysMs: [1, 1] },
      );
      expect(outcome).toEqual({ kind: 'ok', value: 'ok' });
      expect(calls).toBe(3);
    });
  });
});
