import type { SandboxSystem } from '../../sandbox/faults/sandbox-faults';
import type { BenchHttp } from './http';

/** Sets added latency on one emulator (`/sandbox/faults/:system`); 0 clears that system's faults. */
export async function setEmulatorLatency(
  http: BenchHttp,
  system: SandboxSystem,
  latencyMs: number,
): Promise<void> {
  if (latencyMs > 0) {
    await http.expect(`set ${system} latency`, 200, 'POST', `/sandbox/faults/${system}`, {
      body: { latencyMs },
    });
  } else {
    await clearFaults(http, system);
  }
}

export async function clearFaults(http: BenchHttp, system: SandboxSystem): Promise<void> {
  await http.expect(`clear ${system} faults`, 204, 'DELETE', `/sandbox/faults/${system}`);
}

/** Sandbox test cards (DESIGN.md section 7). */
export const TEST_CARDS = {
  approve: '4111111111111111',
  declined: '4000000000000002',
} as const;

export function schemeCard(number: string): Record<string, string> {
  return {
    type: 'scheme',
    number,
    expiryMonth: '03',
    expiryYear: '2030',
    cvc: '737',
    holderName: 'Bench Customer',
  };
}
