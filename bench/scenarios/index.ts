import { purchaseScenario } from './purchase';
import type { Scenario } from './scenario';

/** Every scenario `npm run bench -- --scenario <name>` can run. Add new ones here. */
export const SCENARIOS: readonly Scenario[] = [purchaseScenario];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
