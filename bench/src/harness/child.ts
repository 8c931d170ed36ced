/**
 * The process a pipe runs in: started once per pipe by the driver (optionally under
 * `--cpu-prof`), then told over IPC to start and stop runs, so the warm-up and the timed runs
 * share one JIT-warmed process.
 */
import type { Measured, PipeRun, RunningPipe, StartPipe } from './pipe.ts';

export type ToChild = { type: 'start'; module: string; run: PipeRun } | { type: 'stop' } | { type: 'exit' };
export type FromChild =
  | { type: 'running'; measured?: Measured }
  | { type: 'stopped'; maxRssBytes: number }
  | { type: 'error'; message: string };

let running: RunningPipe | undefined;

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
      running = await start(message.run);
      reply({ type: 'running', ...(running.measured ? { measured: running.measured } : {}) });
    } else if (message.type === 'stop') {
      await running?.close();
      running = undefined;
      // The peak of the process's life so far (kernel-tracked, in KiB): it covers every run up to
      // this one, so the driver's last reading is the peak over all of them.
      reply({ type: 'stopped', maxRssBytes: process.resourceUsage().maxRSS * 1024 });
    } else {
      process.disconnect();
      // A client that keeps a socket open must not keep the profile from being written.
      process.exit(0);
    }
  } catch (error) {
    reply({ type: 'error', message: describe(error) });
  }
});
