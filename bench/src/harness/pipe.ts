/**
 * The contract between the harness and what it measures. A pipe is one implementation of a
 * scenario's work (the framework, or a baseline written without it); it runs in a child process
 * of its own so the load generator and the readers never share its event loop, and stays alive
 * across runs so every timed run after the warm-up sees optimized code.
 */
export type Guarantee = 'at_least_once' | 'exactly_once_v2';

/** Settings a scenario gives one of its subjects (store type, cache size, which application to restore). */
export type PipeParams = Readonly<Record<string, string | number | boolean>>;

/** One run of a pipe: read `inputs` from the beginning as group `groupId`, write to `output`. */
export interface PipeRun {
  readonly bootstrapServers: string[];
  /** The first input topic; a join reads `inputs[1]` too. */
  readonly input: string;
  readonly inputs: readonly string[];
  readonly output: string;
  readonly groupId: string;
  readonly guarantee: Guarantee;
  /**
   * How often the pipe commits: offsets after the outputs are acknowledged (at_least_once), or
   * the transaction (exactly_once_v2). Every pipe of a scenario gets the same value.
   */
  readonly commitIntervalMs: number;
  /** A directory the pipe may keep local state in; removed by the harness. */
  readonly stateDir: string;
  readonly params: PipeParams;
}

/** Work a pipe timed itself, when the driver cannot see it from outside (restoration). */
export interface Measured {
  readonly records: number;
  readonly ms: number;
}

export interface RunningPipe {
  /** Commits what was processed and leaves the group. */
  close(): Promise<void>;
  readonly measured?: Measured;
  /**
   * What the pipe observed about itself during the run (the framework's metrics, say), read
   * just before `close()` and handed to the driver with the run's end; JSON-serializable.
   */
  report?(): Readonly<Record<string, unknown>>;
  /**
   * CPU seconds used so far by processes the pipe runs outside its own (a JVM), which the child
   * adds to its own CPU time over a run.
   */
  cpuSeconds?(): number;
  /** The highest resident set size so far of the processes `cpuSeconds` counts, in bytes. */
  peakRssBytes?(): number;
}

/**
 * What a pipe module exports as `start`: resolves once the pipe owns its partitions and is
 * consuming, so the drain clock starts after group membership, not before.
 */
export type StartPipe = (run: PipeRun) => Promise<RunningPipe>;
