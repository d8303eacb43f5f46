import { InvalidTransitionError } from './errors/domain-error';

export type TransitionTable<S extends string> = Record<S, readonly S[]>;

/** Every state change goes through here: an illegal move is an error, never a silent overwrite. */
export function assertTransition<S extends string>(
  entity: string,
  table: TransitionTable<S>,
  from: S,
  to: S,
): void {
  if (!table[from].includes(to)) {
    throw new InvalidTransitionError(entity, from, to);
  }
}
