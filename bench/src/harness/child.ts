/**
 * The process a pipe runs in: started once per pipe by the driver (optionally under
 * `--cpu-prof`), then told over IPC to start and stop runs, so the warm-up and the timed runs
 * share one JIT-warmed process.
 */
import type { Measured, PipeRun, RunningPipe, StartPipe } from './pipe.ts';

export type ToChild = { type: 'start'; module: string; run: PipeRun } | { type: 'stop' } | { type: 'exit' };
export type FromChild =
  | { type: 'running'; measured?: Measured }
  | {
      type: 'stopped';
      maxRssBytes: number;
      /** Highest readings of the process's memory over its life, sampled while runs go on. */
      peaks: MemoryPeaks;
      report?: Readonly<Record<string, unknown>>;
      /**
       * CPU seconds the pipe used from owning its partitions until it was told to stop (before
       * closing): this process's (every thread, `process.cpuUsage()`) plus any process of the
       * pipe's own, such as a JVM.
       */
      cpuSeconds: number;
    }
  | { type: 'error'; message: string };

/**
 * Highest values seen of `process.memoryUsage()`, sampled every 250 ms while a run is in
 * progress (and at its start and end): where the resident memory goes, V8's heap or the buffers
 * outside it. A peak between two samples is missed; `maxRssBytes` is the kernel's exact one.
 */
export interface MemoryPeaks {
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory of C++ objects bound to JS ones, Buffers included. */
  externalBytes: number;
  /** ArrayBuffers and Buffers (part of `externalBytes`). */
  arrayBuffersBytes: number;
}

const SAMPLE_EVERY_MS = 250;

let running: RunningPipe | undefined;
let cpuAtStart = 0;
/** The highest resident set size of the pipe's other processes (a JVM), as of its last run. */
let otherPeakRssBytes = 0;
const peaks: MemoryPeaks = { heapUsedBytes: 0, heapTotalBytes: 0, externalBytes: 0, arrayBuffersBytes: 0 };
let sampler: NodeJS.Timeout | undefined;

function sample(): void {
  const m = process.memoryUsage();
  peaks.heapUsedBytes = Math.max(peaks.heapUsedBytes, m.heapUsed);
  peaks.heapTotalBytes = Math.max(peaks.heapTotalBytes, m.heapTotal);
  peaks.externalBytes = Math.max(peaks.externalBytes, m.external);
  peaks.arrayBuffersBytes = Math.max(peaks.arrayBuffersBytes, m.arrayBuffers);
}

function cpuNow(pipe: RunningPipe | undefined): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1e6 + (pipe?.cpuSeconds?.() ?? 0);
}

function reply(message: FromChild): void {
  process.send?.(message);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

// A pipe whose background work fails would otherwise die silently while the driver waits for
// a drain that never ends.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    reply({ type: 'error', message: describe(error) });
    process.exit(1);
  });
}

process.on('message', async (message: ToChild) => {
  try {
    if (message.type === 'start') {
      const { start } = (await import(message.module)) as { start: StartPipe };
      sample();
      sampler = setInterval(sample, SAMPLE_EVERY_MS);
      running = await start(message.run);
      cpuAtStart = cpuNow(running);
      reply({ type: 'running', ...(running.measured ? { measured: running.measured } : {}) });
    } else if (message.type === 'stop') {
      const cpuSeconds = running ? cpuNow(running) - cpuAtStart : 0;
      otherPeakRssBytes = Math.max(otherPeakRssBytes, running?.peakRssBytes?.() ?? 0);
      const report = running?.report?.();
      try {
        await running?.close();
      } finally {
        running = undefined;
        clearInterval(sampler);
        sample();
      }
      // The peak of the process's life so far (kernel-tracked, in KiB): it covers every run up to
      // this one, so the driver's last reading is the peak over all of them. A pipe running a
      // process of its own (a JVM) adds that process's peak.
      reply({
        type: 'stopped',
        maxRssBytes: process.resourceUsage().maxRSS * 1024 + otherPeakRssBytes,
        peaks: { ...peaks },
        cpuSeconds,
        ...(report ? { report } : {}),
      });
    } else {
      process.disconnect();
      // A client that keeps a socket open must not keep the profile from being written.
      process.exit(0);
    }
  } catch (error) {
    reply({ type: 'error', message: describe(error) });
  }
});
