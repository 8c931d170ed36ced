/**
 * The ProcessorContext a task gives each processor: forwarding to the node's children, the stores
 * connected to it, punctuation, record metadata, time and commit requests. `forward` is on the
 * path of every record: it runs the children inline and then names this node as the current one
 * again, so that a failure later in the same processor is reported against it.
 */
import { StreamsException } from '../../errors/exception-handlers.ts';
import type { ProcessorNodeDef } from '../../topology/topology-graph.ts';
import type { Cancellable, ProcessorContext, PunctuationType, Punctuator } from '../api/processor.ts';
import type { StreamRecord } from '../api/record.ts';
import type { AsyncStep, AsyncStepOptions, AsyncStepTarget } from './async-step.ts';
import type { PunctuationQueue } from './punctuation-queue.ts';
import type { RuntimeNode } from './runtime-nodes.ts';
import type { TaskMetrics } from './task-metrics.ts';
import type { TaskState } from './task-state.ts';

/** What a task shares with the contexts of its processors. */
export interface ContextScope {
  readonly applicationId: string;
  readonly taskId: string;
  readonly partition: number;
  readonly stores: ReadonlyMap<string, unknown>;
  readonly metrics: TaskMetrics;
  readonly state: TaskState;
  readonly punctuations: PunctuationQueue;
  readonly asyncSteps: AsyncStepFactory;
  /** The task's options: its wall clock and the instance's global stores. */
  readonly options: { now(): number; readonly globalStores?: ReadonlyMap<string, unknown> | undefined };
}

/** Creates a task's asynchronous steps (the DSL's async operators reach it from their context). */
export type AsyncStepFactory = <R>(
  name: string,
  options: AsyncStepOptions,
  call: (record: StreamRecord<unknown, unknown>, signal: AbortSignal) => Promise<R>,
  emit: AsyncStepTarget<R>['emit'],
) => AsyncStep<R>;

/** What the DSL's own processors read from their context beyond the public API. */
export interface InternalContext {
  readonly taskMetrics: TaskMetrics;
  asyncStep<R>(
    options: AsyncStepOptions,
    call: (record: StreamRecord<unknown, unknown>, signal: AbortSignal) => Promise<R>,
    emit: AsyncStepTarget<R>['emit'],
  ): AsyncStep<R>;
}

export function createProcessorContext(
  def: ProcessorNodeDef,
  node: RuntimeNode,
  scope: ContextScope,
): ProcessorContext<any, any> {
  const { state, options } = scope;
  const allowedStores = new Set(def.stores);
  return {
    applicationId: scope.applicationId,
    taskId: scope.taskId,
    partition: scope.partition,
    forward(record, childName) {
      const children = node.children;
      if (childName === undefined) {
        for (let i = 0; i < children.length; i++) children[i]!.process(record);
        state.currentNode = def.name;
        return;
      }
      const child = children.find((c) => c.name === childName);
      if (!child)
        throw new StreamsException(
          `${def.name} forwarded to "${childName}", which is not one of its children (${children.map((c) => c.name).join(', ') || 'none'})`,
        );
      child.process(record);
      state.currentNode = def.name;
    },
    getStateStore<S>(name: string): S {
      if (!allowedStores.has(name)) {
        throw new StreamsException(
          `Processor ${def.name} has no access to store "${name}": connect it with addStateStore(builder, "${def.name}") or connectProcessorAndStateStores`,
        );
      }
      return (scope.stores.get(name) ?? options.globalStores?.get(name)) as S;
    },
    schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
      return scope.punctuations.schedule(def.name, intervalMs, type, punctuator);
    },
    recordMetadata() {
      const c = state.current;
      return c ? { topic: c.topic, partition: c.partition, offset: c.offset } : undefined;
    },
    currentStreamTimeMs: () => state.streamTime,
    currentSystemTimeMs: () => options.now(),
    commit() {
      state.commitRequested = true;
    },
    holdPartitionUntil(dueMs: number) {
      if (!state.current)
        throw new StreamsException(
          `${def.name} asked to hold a partition for a record made by a punctuator: only records read from a source topic can be held`,
        );
      if (!Number.isFinite(dueMs))
        throw new StreamsException(
          `${def.name} asked to hold a partition until ${dueMs}: give a time in ms since the epoch`,
        );
      state.holdUntil = dueMs;
    },
    // Read by the DSL's own processors: dropped and late record counts, asynchronous steps.
    taskMetrics: scope.metrics,
    asyncStep: (options, call, emit) => scope.asyncSteps(def.name, options, call, emit),
  } satisfies ProcessorContext<any, any> & InternalContext as ProcessorContext<any, any>;
}
