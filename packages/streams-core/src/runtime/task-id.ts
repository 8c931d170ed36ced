/**
 * Task identity, as Kafka Streams writes it: `<subtopology>_<partition>`. The same id names the
 * task's state directory, its metrics and its place in interactive-query metadata, so it is
 * built and read here only.
 */

export type TaskId = `${number}_${number}`;

export function taskId(subtopology: number, partition: number): TaskId {
  return `${subtopology}_${partition}`;
}

export function parseTaskId(id: TaskId): { subtopology: number; partition: number } {
  const at = id.indexOf('_');
  return { subtopology: Number(id.slice(0, at)), partition: Number(id.slice(at + 1)) };
}
