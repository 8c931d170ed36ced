/** Counters of one task; the runtime sums them per application and exports them. */
export class TaskMetrics {
  processedRecords = 0;
  /** Records dropped on purpose: negative timestamps, null keys where a key is needed, late records. */
  droppedRecords = 0;
  lateRecords = 0;
  deadLetteredRecords = 0;
  /** Records a handler chose to skip without a dead letter. */
  skippedRecords = 0;
  punctuations = 0;
}
