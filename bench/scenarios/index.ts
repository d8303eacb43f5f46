import { purchaseScenario } from './purchase';
import { rebillingScenario } from './rebilling';
import { webhookIntakeScenario } from './webhook-intake';
import type { Scenario } from './scenario';

/** Every scenario `npm run bench -- --scenario <name>` can run. Add new ones here. */
export const SCENARIOS: readonly Scenario[] = [purchaseScenario, webhookIntakeScenario, rebillingScenario];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
