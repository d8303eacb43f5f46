/** Every node of an EXPLAIN (FORMAT JSON) plan, the root first. */
export function planNodes<Node extends { Plans?: Node[] }>(plan: Node): Node[] {
  return [plan, ...(plan.Plans ?? []).flatMap((child) => planNodes(child))];
}
