import { purchaseScenario } from './purchase';
import { rebillingScenario } from './rebilling';
import { renewalsScenario } from './renewals';
import { requestsScenario } from './requests';
import { webhookIntakeScenario } from './webhook-intake';
import type { Scenario } from './scenario';

/** Every scenario `npm run bench -- --scenario <name>` can run, in the order `--scenario all` runs them. */
export const SCENARIOS: readonly Scenario[] = [
  webhookIntakeScenario,
  purchaseScenario,
  renewalsScenario,
  rebillingScenario,
  requestsScenario,
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
