import {
  GatewayOutcomeUnknownError,
  GatewayRequestRejectedError,
  GatewayUnavailableError,
} from './gateway.errors';
import { callGateway } from './gateway-call';

describe('callGateway', () => {
  it('retries a timeout and returns the answer of a later try', async () => {
    let calls = 0;
    const outcome = await callGateway(() => {
      calls += 1;
      if (calls < 3) {
        return Promise.reject(new GatewayOutcomeUnknownError('adyen', 'timeout'));
      }
      return Promise.resolve('ok');
    }, [1, 1]);
    expect(outcome).toEqual({ kind: 'ok', value: 'ok' });
    expect(calls).toBe(3);
  });

  it('reports unknown, never a decline, when every try timed out', async () => {
    const outcome = await callGateway(
      () => Promise.reject(new GatewayOutcomeUnknownError('adyen', 'timeout')),
      [1],
    );
    expect(outcome.kind).toBe('unknown');
  });

  it('reports not_processed with a technical decline only when the request never left', async () => {
    const outcome = await callGateway(
      () => Promise.reject(new GatewayUnavailableError('adyen', 'refused', true)),
      [1],
    );
    expect(outcome).toMatchObject({
      kind: 'not_processed',
      decline: { code: 'GW_ERROR', class: 'technical' },
    });
    const mixed = await callGateway(
      () => Promise.reject(new GatewayUnavailableError('adyen', '500', false, 500)),
      [1],
    );
    expect(mixed.kind).toBe('unknown');
  });

  it('never retries a request the gateway refused as invalid', async () => {
    let calls = 0;
    const outcome = await callGateway(() => {
      calls += 1;
      return Promise.reject(new GatewayRequestRejectedError('adyen', 'bad', 422, '14_030'));
    }, [1, 1]);
    expect(outcome.kind).toBe('invalid');
    expect(calls).toBe(1);
  });

  describe('a call without an idempotency key at the gateway (idempotent: false)', () => {
    it('is sent exactly once when it timed out: the gateway may have acted', async () => {
      let calls = 0;
      const outcome = await callGateway(
        () => {
          calls += 1;
          return Promise.reject(new GatewayOutcomeUnknownError('cleverbridge', 'timeout'));
        },
        { idempotent: false, retryDelaysMs: [1, 1] },
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
        { idempotent: false, retryDelaysMs: [1, 1] },
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
        { idempotent: false, retryDelaysMs: [1, 1] },
      );
      expect(outcome).toEqual({ kind: 'ok', value: 'ok' });
      expect(calls).toBe(3);
    });
  });
});
