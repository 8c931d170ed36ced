/**
 * Works out, before anything runs, which topics the application needs and how many partitions
 * each has: user source topics must exist; repartition and changelog topics are created with the
 * partition count of the sub-topology that writes them (or of the topic they are declared
 * co-partitioned with); co-partitioned inputs must agree; topics the topology declares
 * (`addTopic`) are created when absent with the partition count of the topic they name.
 */
import type { AdminPort, TopicSpec } from '../client/port.ts';
import { ConfigException } from '../config/streams-config.ts';
import { StreamsException } from '../errors/exception-handlers.ts';
import { changelogTopicName } from '../state/store-builder.ts';
import type { DeclaredTopicDef, Subtopology, TopologyGraph } from '../topology/topology-graph.ts';

export interface TopicPlan {
  /** Partitions per sub-topology id: the number of tasks it runs. */
  readonly tasksPerSubtopology: Map<number, number>;
  /** Resolved topic name → partitions, for every topic the application reads or writes by name. */
  readonly partitions: Map<string, number>;
  /** Resolved source topics per sub-topology. */
  readonly sourceTopics: Map<number, string[]>;
  /** Resolved source topic → sub-topology id. */
  readonly subtopologyOfTopic: Map<string, number>;
  readonly internalTopics: TopicSpec[];
  /** Topics declared by the topology (`addTopic`): an existing one keeps its own partition count. */
  readonly declaredTopics: ReadonlySet<string>;
}

export interface TopicPlanOptions {
  readonly applicationId: string;
  /** Replication factor of the topics created; undefined: the broker's default.replication.factor. */
  readonly replicationFactor: number | undefined;
  /** Create `<source>-dlt` for every source topic. */
  readonly deadLetterTopic: ((sourceTopic: string) => string) | undefined;
}

export function resolveTopicName(applicationId: string, topic: string, internal: boolean): string {
  return internal ? `${applicationId}-${topic}` : topic;
}

/** Kafka's longest topic name. */
export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_NAME = /^[A-Za-z0-9._-]+$/;
const LEGAL_CHARACTERS = "letters, digits, '.', '_' and '-'";

/** An internal topic's name and what it is made from. */
interface InternalTopicName {
  readonly name: string;
  readonly from:
    | { readonly kind: 'store'; readonly store: string }
    | { readonly kind: 'repartition'; readonly topic: string }
    | { readonly kind: 'dead-letter'; readonly source: string; readonly internal: boolean };
}

function internalTopicNames(topology: TopologyGraph, options: TopicPlanOptions): InternalTopicName[] {
  const { applicationId } = options;
  const names: InternalTopicName[] = [];
  for (const r of topology.repartitionTopics()) {
    names.push({
      name: resolveTopicName(applicationId, r.name, true),
      from: { kind: 'repartition', topic: r.name },
    });
  }
  for (const s of topology.subtopologies()) {
    for (const store of s.stores) {
      if (!topology.storeBuilder(store)!.spec.logging) continue;
      names.push({ name: changelogTopicName(applicationId, store), from: { kind: 'store', store } });
    }
    if (!options.deadLetterTopic) continue;
    for (const t of s.sourceTopics) {
      const source = resolveTopicName(applicationId, t.topic, t.internal);
      names.push({
        name: options.deadLetterTopic(source),
        from: { kind: 'dead-letter', source, internal: t.internal },
      });
    }
  }
  return names;
}

function origin(t: InternalTopicName): string {
  switch (t.from.kind) {
    case 'store':
      return `store "${t.from.store}"`;
    case 'repartition':
      return `repartition topic "${t.from.topic}"`;
    case 'dead-letter':
      return `the dead-letter topic of "${t.from.source}"`;
  }
}

/**
 * Checks the names of the internal topics before any request: Kafka refuses a topic name longer
 * than 249 characters or with other characters than letters, digits, '.', '_' and '-'. Names
 * are built from the applicationId, store and repartition names and deadLetter.topic, so the
 * message says which of those to change.
 */
export function checkInternalTopicNames(topology: TopologyGraph, options: TopicPlanOptions): void {
  const { applicationId } = options;
  const names = internalTopicNames(topology, options);
  const illegal = names.filter(
    (t) => typeof t.name !== 'string' || !LEGAL_TOPIC_NAME.test(t.name) || t.name === '.' || t.name === '..',
  );
  if (illegal.length > 0) {
    const problems = illegal.map((t) => {
      const fix =
        t.from.kind === 'dead-letter'
          ? `make deadLetter.topic return a name of ${LEGAL_CHARACTERS} only`
          : `rename ${origin(t)} with ${LEGAL_CHARACTERS} only`;
      return `${JSON.stringify(t.name)} (${origin(t)}): ${fix}`;
    });
    throw new ConfigException(
      `Internal topic ${illegal.length === 1 ? 'name is' : 'names are'} not legal in Kafka: ${problems.join('; ')}`,
    );
  }
  const long = names.filter((t) => t.name.length > MAX_TOPIC_NAME_LENGTH);
  if (long.length === 0) return;
  const fixes: string[] = [];
  // Names that start with the applicationId get shorter with it; the others only by renaming.
  const derived = long.filter((t) => t.from.kind !== 'dead-letter' || t.from.internal);
  if (derived.length > 0) {
    const longestSuffix = Math.max(...derived.map((t) => t.name.length - applicationId.length));
    const maxApplicationId = MAX_TOPIC_NAME_LENGTH - longestSuffix;
    const parts = [...new Set(derived.map((t) => (t.from.kind === 'dead-letter' ? undefined : origin(t))))]
      .filter((p) => p !== undefined)
      .slice(0, 3);
    const rename = parts.length > 0 ? `give ${parts.join(', ')} a shorter name` : undefined;
    if (maxApplicationId >= 1) {
      fixes.push(
        `shorten applicationId (${applicationId.length} characters) to at most ${maxApplicationId}${rename ? `, or ${rename}` : ''}`,
      );
    } else if (rename) {
      fixes.push(rename);
    }
  }
  if (long.some((t) => t.from.kind === 'dead-letter')) {
    fixes.push(
      `set deadLetter.topic to a function that returns names of at most ${MAX_TOPIC_NAME_LENGTH} characters`,
    );
  }
  const shown = long
    .slice(0, 3)
    .map((t) => `"${t.name}" (${t.name.length} characters, ${origin(t)})`)
    .concat(long.length > 3 ? [`and ${long.length - 3} more`] : []);
  throw new ConfigException(
    `Internal topic ${long.length === 1 ? 'name is' : 'names are'} longer than the ${MAX_TOPIC_NAME_LENGTH} characters Kafka allows: ${shown.join(', ')}: ${fixes.join('; ')}`,
  );
}

export async function planTopics(
  topology: TopologyGraph,
  admin: AdminPort,
  options: TopicPlanOptions,
): Promise<TopicPlan> {
  checkInternalTopicNames(topology, options);
  const { applicationId } = options;
  const subs = topology.subtopologies();
  const userSources = [
    ...new Set(subs.flatMap((s) => s.sourceTopics.filter((t) => !t.internal).map((t) => t.topic))),
  ];
  const sinkTopics = topology.sinkTopics();
  const declared = new Map(topology.declaredTopics().map((d) => [d.name, d]));
  const names = [
    ...new Set([
      ...userSources,
      ...sinkTopics,
      ...declared.keys(),
      ...[...declared.values()].map((d) => d.partitionsOf),
    ]),
  ];
  const required = names.filter((t) => !declared.has(t));
  let described = await admin.describeTopics(names);
  // A topic created a moment ago may not be in every broker's metadata yet: look again briefly
  // before calling it missing. Declared topics may well be absent: they are created below.
  for (let attempt = 0; attempt < 15 && required.some((t) => described.get(t) === undefined); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    described = await admin.describeTopics(names);
  }
  const missing = userSources.filter((t) => !declared.has(t) && described.get(t) === undefined);
  if (missing.length > 0) {
    throw new StreamsException(
      `Source ${missing.length === 1 ? 'topic' : 'topics'} ${missing.map((t) => `"${t}"`).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist: create ${missing.length === 1 ? 'it' : 'them'} before starting "${applicationId}" (the application never creates its input topics)`,
    );
  }
  const missingSinks = sinkTopics.filter((t) => !declared.has(t) && described.get(t) === undefined);
  if (missingSinks.length > 0) {
    throw new StreamsException(
      `Output ${missingSinks.length === 1 ? 'topic' : 'topics'} ${missingSinks.map((t) => `"${t}"`).join(', ')} ${missingSinks.length === 1 ? 'does' : 'do'} not exist: create ${missingSinks.length === 1 ? 'it' : 'them'} before starting "${applicationId}"`,
    );
  }
  const partitions = new Map<string, number>();
  for (const [t, d] of described) if (d) partitions.set(t, d.partitions);
  const declaredSpecs = planDeclaredTopics(declared, partitions, options.replicationFactor);

  // Repartition topics take an explicit count or that of the sub-topology writing them; a
  // sub-topology runs as many tasks as its largest input. Resolve in dependency order.
  const repartition = new Map(topology.repartitionTopics().map((r) => [r.name, r]));
  const writerOf = new Map<string, Subtopology>();
  for (const s of subs) {
    for (const n of s.nodes) {
      const def = topology.node(n);
      if (def.kind === 'sink' && def.internal && typeof def.topic === 'string') writerOf.set(def.topic, s);
    }
  }
  const tasksPerSubtopology = new Map<number, number>();
  const resolving = new Set<number>();
  const tasksOf = (s: Subtopology): number => {
    const known = tasksPerSubtopology.get(s.id);
    if (known !== undefined) return known;
    if (resolving.has(s.id))
      throw new StreamsException(
        `Sub-topology ${s.id} feeds itself through a repartition topic: give that repartition topic an explicit numberOfPartitions`,
      );
    resolving.add(s.id);
    let max = 0;
    for (const t of s.sourceTopics) {
      max = Math.max(max, t.internal ? repartitionPartitions(t.topic) : partitions.get(t.topic)!);
    }
    tasksPerSubtopology.set(s.id, max);
    return max;
  };
  const repartitionPartitions = (name: string): number => {
    const def = repartition.get(name);
    if (def?.numberOfPartitions !== undefined) return def.numberOfPartitions;
    if (def?.copartitionWith !== undefined) {
      const like = def.copartitionWith;
      const n = repartition.has(like) ? repartitionPartitions(like) : partitions.get(like);
      if (n === undefined)
        throw new StreamsException(
          `Repartition topic "${name}" takes the partition count of "${like}", which is not in the topology`,
        );
      return n;
    }
    const writer = writerOf.get(name);
    if (!writer) throw new StreamsException(`Repartition topic "${name}" has no writer in the topology`);
    return tasksOf(writer);
  };
  for (const s of subs) tasksOf(s);

  for (const s of subs) {
    for (const group of s.copartitionGroups) {
      const counts = group.map((t) => {
        const internal = s.sourceTopics.find((x) => x.topic === t)?.internal ?? false;
        return { topic: t, n: internal ? repartitionPartitions(t) : partitions.get(t)! };
      });
      const first = counts[0]!;
      const other = counts.find((c) => c.n !== first.n);
      if (other) {
        throw new StreamsException(
          `Topic "${first.topic}" has ${first.n} partitions but "${other.topic}" has ${other.n}: a join needs co-partitioned inputs (repartition one side, e.g. with repartition({ numberOfPartitions: ${first.n} }))`,
        );
      }
    }
  }

  const internalTopics: TopicSpec[] = [];
  const rf = options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor };
  for (const r of repartition.values()) {
    const name = resolveTopicName(applicationId, r.name, true);
    const n = repartitionPartitions(r.name);
    partitions.set(name, n);
    internalTopics.push({
      name,
      partitions: n,
      ...rf,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
    });
  }
  for (const s of subs) {
    const n = tasksPerSubtopology.get(s.id)!;
    for (const storeName of s.stores) {
      const spec = topology.storeBuilder(storeName)!.spec;
      if (!spec.logging) continue;
      const name = changelogTopicName(applicationId, storeName);
      const windowed = spec.kind === 'window' || spec.kind === 'timestampedWindow' || spec.kind === 'session';
      const configs: Record<string, string> = windowed
        ? {
            'cleanup.policy': 'compact,delete',
            'retention.ms': String((spec.retentionMs ?? 86_400_000) + 86_400_000),
          }
        : { 'cleanup.policy': 'compact' };
      partitions.set(name, n);
      internalTopics.push({
        name,
        partitions: n,
        ...rf,
        configs: { ...configs, ...spec.changelogConfig },
      });
    }
  }
  const sourceTopics = new Map<number, string[]>();
  const subtopologyOfTopic = new Map<number | string, number>() as Map<string, number>;
  for (const s of subs) {
    const resolved = s.sourceTopics.map((t) => resolveTopicName(applicationId, t.topic, t.internal));
    sourceTopics.set(s.id, resolved);
    for (const t of resolved) subtopologyOfTopic.set(t, s.id);
    if (options.deadLetterTopic) {
      for (const t of resolved) {
        const dlt = options.deadLetterTopic(t);
        if (!partitions.has(dlt)) {
          const n = partitions.get(t)!;
          partitions.set(dlt, n);
          internalTopics.push({ name: dlt, partitions: n, ...rf });
        }
      }
    }
  }
  internalTopics.push(...declaredSpecs);
  return {
    tasksPerSubtopology,
    partitions,
    sourceTopics,
    subtopologyOfTopic,
    internalTopics,
    declaredTopics: new Set(declared.keys()),
  };
}

/**
 * Partition counts of the declared topics: an existing one keeps its own, an absent one takes
 * that of the topic it names (itself possibly declared and absent). Sets them in `partitions`
 * and returns the specs to create.
 */
function planDeclaredTopics(
  declared: ReadonlyMap<string, DeclaredTopicDef>,
  partitions: Map<string, number>,
  replicationFactor: number | undefined,
): TopicSpec[] {
  const specs: TopicSpec[] = [];
  const resolving = new Set<string>();
  const countOf = (name: string): number => {
    const known = partitions.get(name);
    if (known !== undefined) return known;
    const def = declared.get(name)!;
    if (resolving.has(name))
      throw new StreamsException(
        `Declared topics ${[...resolving].map((t) => `"${t}"`).join(', ')} take their partition counts from each other: let one of them name a source or sink topic in partitionsOf`,
      );
    resolving.add(name);
    const like = def.partitionsOf;
    if (!partitions.has(like) && !declared.has(like))
      throw new StreamsException(
        `Topic "${name}" is to be created with the partition count of "${like}", which does not exist: create "${like}" first, or name an existing topic in partitionsOf`,
      );
    const n = countOf(like);
    resolving.delete(name);
    partitions.set(name, n);
    return n;
  };
  for (const def of declared.values()) {
    const n = countOf(def.name);
    specs.push({
      name: def.name,
      partitions: n,
      ...(replicationFactor === undefined ? {} : { replicationFactor }),
      ...(def.configs ? { configs: { ...def.configs } } : {}),
    });
  }
  return specs;
}

/**
 * Creates the internal topics that do not exist yet. An existing one must have the partitions the
 * plan needs, except a dead-letter topic or a declared one, which keeps its own count (the
 * original partition is used where it fits).
 */
export async function createInternalTopics(plan: TopicPlan, admin: AdminPort): Promise<void> {
  const existing = await admin.describeTopics(plan.internalTopics.map((t) => t.name));
  const toCreate = plan.internalTopics.filter((t) => {
    const e = existing.get(t.name);
    if (e === undefined) return true;
    plan.partitions.set(t.name, e.partitions);
    if (e.partitions !== t.partitions && !t.name.endsWith('-dlt') && !plan.declaredTopics.has(t.name)) {
      throw new StreamsException(
        `Internal topic "${t.name}" has ${e.partitions} partitions but the application needs ${t.partitions}: the input topics' partition counts changed. Reset the application (delete its internal topics and state) to continue`,
      );
    }
    return false;
  });
  if (toCreate.length > 0) await admin.createTopics(toCreate);
}
