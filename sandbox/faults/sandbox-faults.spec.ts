import { spawn } from 'node:child_process';
import { SandboxFaults } from './sandbox-faults';

/** The crash-point kill switch: which request kills, how many pass first, and that it fires once. */
describe('SandboxFaults kill switch', () => {
  function sleeper(): { pid: number; exited: Promise<string | null> } {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    const exited = new Promise<string | null>((ok) => child.once('exit', (_code, signal) => ok(signal)));
    return { pid: child.pid ?? 0, exited };
  }

  it('kills the pid on the matching operation after `killSkip` matches, once; other operations pass', async () => {
    const victim = sleeper();
    const faults = new SandboxFaults();
    faults.set('adyen', { killPid: victim.pid, killOn: 'POST /payments/*/captures', killSkip: 1 });
    await faults.afterRequest('adyen', 'POST /payments');
    await faults.afterRequest('adyen', 'POST /payments/{paymentPspReference}/refunds');
    await faults.afterRequest('adyen', 'POST /payments/{paymentPspReference}/captures'); // skipped
    expect(faults.get('adyen')).toMatchObject({ killPid: victim.pid, killSkip: 0 });
    await faults.afterRequest('adyen', 'POST /payments/{paymentPspReference}/captures');
    expect(await victim.exited).toBe('SIGKILL');
    expect(faults.get('adyen').killPid).toBeUndefined();
    // one shot: a gone pid is not killed again, and a later request is not an error
    await expect(faults.afterRequest('adyen', 'POST /payments/x/captures')).resolves.toBeUndefined();
  });

  it('matches the path suffix with the method: `POST /payments` is not `/payments/details` nor PATCH', async () => {
    const victim = sleeper();
    const faults = new SandboxFaults();
    faults.set('cleeng', { killPid: victim.pid, killOn: 'POST /payments' });
    await faults.afterRequest('cleeng', 'POST /sandbox/cleeng/3.1/payments/details');
    await faults.afterRequest('cleeng', 'PATCH /sandbox/cleeng/3.1/payments');
    expect(faults.get('cleeng').killPid).toBe(victim.pid);
    await faults.afterRequest('cleeng', 'POST /sandbox/cleeng/3.1/payments');
    expect(await victim.exited).toBe('SIGKILL');
  });
});

describe('SandboxFaults failOn', () => {
  it('fails only the matching requests, and counts only those against failNext', async () => {
    const faults = new SandboxFaults();
    faults.set('cleeng', { failNext: 1, failStatus: 503, failOn: 'POST /payments' });
    await expect(faults.beforeRequest('cleeng', 'POST /sandbox/cleeng/3.1/orders')).resolves.toBeUndefined();
    await expect(
      faults.beforeRequest('cleeng', 'POST /sandbox/cleeng/3.1/payment_details'),
    ).resolves.toBeUndefined();
    await expect(faults.beforeRequest('cleeng', 'POST /sandbox/cleeng/3.1/payments')).rejects.toMatchObject({
      status: 503,
    });
    await expect(
      faults.beforeRequest('cleeng', 'POST /sandbox/cleeng/3.1/payments'),
    ).resolves.toBeUndefined();
  });
});
