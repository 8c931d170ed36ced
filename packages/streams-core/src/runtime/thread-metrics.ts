/**
 * The stream thread's own measurements: commits and their latency, records produced and refused,
 * the processing rate, restoration, and consumer lag. Task counters live in the tasks; the
 * snapshot adds both up (closed tasks' counters are kept, so totals never go back).
 */
import type { AdminPort, ConsumerPort, IsolationLevel } from '../client/port.ts';
import { topicPartitionKey } from '../client/port.ts';
import { addTaskMetrics, emptyTaskMetrics, type StreamsMetrics } from './metrics.ts';
import type { ActiveTask } from './task-manager.ts';

const RATE_WINDOW_MS = 1_000;
const LAG_CHECK_INTERVAL_MS = 5_000;

export class ThreadMetrics {
  readonly closedTaskTotals = emptyTaskMetrics();
  commits = 0;
  #commitLatencyTotal = 0;
  #commitLatencyMax = 0;
  produced = 0;
  productionErrors = 0;
  restored = 0;
  restoreRate = 0;
  standbyRecords: () => number = () => 0;
  #rateWindowStart = performance.now();
  #rateWindowCount = 0;
  #processRate = 0;
  #lag: Record<string, number> = {};
  #lastLagCheck = 0;
  #transientFailures = 0;
  #outageSince: number | undefined;
  #lastTransientError: string | undefined;

  /** A transient broker failure the thread is riding out. */
  transientFailure(error: unknown, outageSince: number): void {
    this.#transientFailures++;
    this.#outageSince = outageSince;
    this.#lastTransientError = error instanceof Error ? error.message : String(error);
  }

  recovered(): void {
    this.#outageSince = undefined;
  }

  commitTook(latencyMs: number): void {
    this.commits++;
    this.#commitLatencyTotal += latencyMs;
    this.#commitLatencyMax = Math.max(this.#commitLatencyMax, latencyMs);
  }

  /** Keeps a closing task's counters in the totals. */
  taskClosed(t: ActiveTask): void {
    addTaskMetrics(this.closedTaskTotals, t.task.metrics);
  }

  /** Counts a poll's records; returns true when a lag check is due. */
  processed(records: number): boolean {
    this.#rateWindowCount += records;
    const now = performance.now();
    const elapsed = now - this.#rateWindowStart;
    if (elapsed >= RATE_WINDOW_MS) {
      this.#processRate = (this.#rateWindowCount / elapsed) * 1_000;
      this.#rateWindowCount = 0;
      this.#rateWindowStart = now;
    }
    if (now - this.#lastLagCheck < LAG_CHECK_INTERVAL_MS) return false;
    this.#lastLagCheck = now;
    return true;
  }

  /** Records behind the end of each assigned partition; informational, so a failed check is retried later. */
  async measureLag(consumer: ConsumerPort, admin: AdminPort, isolationLevel: IsolationLevel): Promise<void> {
    const assignment = consumer.assignment();
    if (assignment.length === 0) return;
    try {
      const [ends, committed] = await Promise.all([
        admin.listOffsets(assignment, 'latest', isolationLevel),
        consumer.committed(assignment),
      ]);
      // The consumer's position is past transaction markers, which the end offset counts.
      const positions = consumer.positions();
      const lag: Record<string, number> = {};
      for (const tp of assignment) {
        const k = topicPartitionKey(tp);
        const position = positions.get(k) ?? committed.get(k) ?? 0n;
        const end = ends.get(k) ?? 0n;
        lag[k] = Number(end > position ? end - position : 0n);
      }
      this.#lag = lag;
    } catch {
      // the next check tries again
    }
  }

  snapshot(applicationId: string, state: string, active: Iterable<ActiveTask>): StreamsMetrics {
    const tasks: StreamsMetrics['tasks'] = {};
    const processorRecords: StreamsMetrics['processorRecords'] = {};
    const storeOperations: StreamsMetrics['storeOperations'] = {};
    const totals = emptyTaskMetrics();
    addTaskMetrics(totals, this.closedTaskTotals);
    for (const t of active) {
      tasks[t.id] = { ...t.task.metrics };
      processorRecords[t.id] = t.task.processorRecords();
      storeOperations[t.id] = t.task.storeOperations();
      addTaskMetrics(totals, t.task.metrics);
    }
    return {
      applicationId,
      state,
      tasks,
      processorRecords,
      storeOperations,
      totals,
      processRate: this.#processRate,
      commits: this.commits,
      commitLatencyAvgMs: this.commits ? this.#commitLatencyTotal / this.commits : 0,
      commitLatencyMaxMs: this.#commitLatencyMax,
      consumerLag: { ...this.#lag },
      totalLag: Object.values(this.#lag).reduce((a, b) => a + b, 0),
      restoredRecords: this.restored,
      standbyRecords: this.standbyRecords(),
      restoreRatePerSec: this.restoreRate,
      producedRecords: this.produced,
      productionErrors: this.productionErrors,
      transientFailures: this.#transientFailures,
      outage:
        this.#outageSince === undefined
          ? undefined
          : {
              durationMs: performance.now() - this.#outageSince,
              lastError: this.#lastTransientError ?? '',
            },
    };
  }
}
