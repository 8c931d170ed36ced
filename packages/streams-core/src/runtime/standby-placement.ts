/**
 * Where standby replicas live. Instances ordered by client id form a ring; the standbys of a
 * task are the `replicas` instances after its owner. Every instance computes the same answer
 * from the group's assignment, so no assignor support is needed.
 */
import type { TaskId } from './task-id.ts';

export interface PlacementMember {
  readonly clientId: string;
  /** This instance. */
  readonly local: boolean;
  /** Active tasks the member runs. */
  readonly tasks: readonly string[];
}

/**
 * The tasks this (the local) member keeps standbys of. Undefined, meaning "every task not run
 * here", when the local member is not in the list or there are too few members to choose.
 */
export function standbyPlacement(
  members: readonly PlacementMember[],
  replicas: number,
): Set<TaskId> | undefined {
  const ring = [...members].sort((a, b) => a.clientId.localeCompare(b.clientId));
  const self = ring.findIndex((m) => m.local);
  if (self < 0 || ring.length - 1 <= replicas) return undefined;
  const wanted = new Set<TaskId>();
  ring.forEach((m, owner) => {
    const distance = (self - owner + ring.length) % ring.length;
    if (distance >= 1 && distance <= replicas) for (const t of m.tasks) wanted.add(t as TaskId);
  });
  return wanted;
}
