/**
 * Generated node and store names that stay put when an unrelated part of the topology changes.
 *
 * Kafka Streams numbers generated names with one counter for the whole topology, so adding an
 * operator anywhere renames every operator after it, and with them the internal topics that carry
 * state (changelogs, repartition topics): an upgrade then silently starts from empty state. Here a
 * generated name is derived from the node's lineage instead: its parent's name, its operator kind and
 * how many same-kind siblings came before it. Changing one branch leaves the names of every other
 * branch, and of everything upstream, unchanged.
 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class NameGenerator {
  readonly #used = new Set<string>();
  readonly #siblings = new Map<string, number>();

  /** A stable name for a `kind` node (e.g. `KSTREAM-MAPVALUES`) whose lineage is `anchor`. */
  generate(kind: string, anchor: string): string {
    const siblingKey = `${anchor}\u0000${kind}`;
    const nth = this.#siblings.get(siblingKey) ?? 0;
    this.#siblings.set(siblingKey, nth + 1);
    let name = `${kind}-${fnv1a32(`${siblingKey}\u0000${nth}`).toString(16).padStart(8, '0')}`;
    // Two lineages hashing to one name is unlikely but must not merge two nodes.
    for (let i = 1; this.#used.has(name); i++) name = `${name}-${i}`;
    this.#used.add(name);
    return name;
  }

  /** Registers a user-given name; a duplicate is a mistake in the topology. */
  claim(name: string): string {
    if (this.#used.has(name)) {
      throw new Error(
        `The name "${name}" is used twice in this topology: names of operators and stores must be unique`,
      );
    }
    this.#used.add(name);
    return name;
  }
}
