/**
 * Counting of records a DSL processor skips on purpose (a null key where a key is needed, a record
 * for a closed window). They are not errors, so no exception handler sees them: these counters in
 * the task's metrics are the only trace they leave. Kept apart from any one operator because
 * aggregations, joins and windowed operators all drop records and must count them alike.
 */
import type { ProcessorContext } from '../../processor/api/processor.ts';
import type { TaskMetrics } from '../../processor/internals/task-metrics.ts';

// The task puts its metrics on the contexts it creates; a context from elsewhere has none.
function metrics(ctx: ProcessorContext<any, any>): TaskMetrics | undefined {
  return (ctx as unknown as { taskMetrics?: TaskMetrics }).taskMetrics;
}

/** A record skipped on purpose (null key, null value where one is needed). */
export function countDropped(ctx: ProcessorContext<any, any>): void {
  const m = metrics(ctx);
  if (m) m.droppedRecords++;
}

/** A record that arrived after its window closed: dropped, and counted as late too. */
export function countLate(ctx: ProcessorContext<any, any>): void {
  const m = metrics(ctx);
  if (m) {
    m.droppedRecords++;
    m.lateRecords++;
  }
}
