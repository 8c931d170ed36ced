/**
 * The application the outage measurement runs through a broker outage: the stateless scenario's
 * `mapValues → filter` (param `pipe: 'stateless'`) or the stateful count with the record cache
 * off (`pipe: 'count'`, SQLite store), on KafkaStreams with its defaults for riding out an
 * outage (taskTimeoutMs 5 min).
 *
 * It reports what the application saw of the outage: `metrics().transientFailures` at the end,
 * the longest `metrics().outage` and its last error, read every 100 ms, when the first transient
 * failure showed in the metrics, and when the state last went to RUNNING (wall clock, so the
 * driver can compare them with its own times).
 * The retries the runtime logs go to stderr, one line each.
 */
import { KafkaStreams, type Logger } from '@kafka-pattern/streams-core';
import type { StartPipe } from '../harness/pipe.ts';
import { countTopology } from '../stateful/topology.ts';
import statelessTopology from '../stateless/topology.ts';

export type OutagePipe = 'stateless' | 'count';

export function outagePipeOf(value: unknown): OutagePipe {
  if (value === 'stateless' || value === 'count') return value;
  throw new Error(`pipe must be 'stateless' or 'count', got ${String(value)}`);
}

function line(level: string): Logger['warn'] {
  return (_obj, msg) => {
    process.stderr.write(`  app ${level}: ${msg}\n`);
  };
}

const logger: Logger = { debug: () => {}, info: line('info'), warn: line('warn'), error: line('error') };

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

export const start: StartPipe = async (run) => {
  const pipe = outagePipeOf(run.params.pipe);
  const topology =
    pipe === 'stateless'
      ? statelessTopology(run.input, run.output)
      : countTopology(run.input, run.output, 'persistent');
  const app = new KafkaStreams(topology, {
    applicationId: run.groupId,
    bootstrapServers: run.bootstrapServers,
    processingGuarantee: run.guarantee,
    commitIntervalMs: run.commitIntervalMs,
    stateDir: run.stateDir,
    cacheMaxBytes: 0,
    logger,
  });
  let longestOutageMs = 0;
  let lastError: string | undefined;
  // Wall-clock times (ms since the epoch), comparable with the driver's.
  let firstFailureAt: number | undefined;
  let lastRunningAt: number | undefined;
  const statusEveryMs = Number(run.params.statusEveryMs ?? 0);
  let lastStatus = performance.now();
  const watch = setInterval(() => {
    const m = app.metrics();
    const outage = m.outage;
    if (m.transientFailures > 0) firstFailureAt ??= Date.now();
    if (outage && outage.durationMs >= longestOutageMs) {
      longestOutageMs = outage.durationMs;
      lastError = outage.lastError;
    }
    if (statusEveryMs > 0 && performance.now() - lastStatus >= statusEveryMs) {
      lastStatus = performance.now();
      process.stderr.write(
        `  app: ${m.state}, ${m.totals.processedRecords} processed, ${m.producedRecords} produced, ${m.commits} commits, ${m.transientFailures} transient failures${outage ? `, in an outage for ${(outage.durationMs / 1000).toFixed(1)} s (${outage.lastError})` : ''}\n`,
      );
    }
  }, 100);
  app.onStateChange((to, from) => {
    process.stderr.write(`  app state: ${from} -> ${to}\n`);
    if (to === 'RUNNING') lastRunningAt = Date.now();
    // The application gave up: the child process reports the error to the driver, which stops
    // waiting for output that will not come.
    if (to === 'ERROR') {
      setImmediate(() => {
        throw new Error(`the application stopped in ERROR: ${describe(app.error)}`);
      });
    }
  });
  await app.start();
  await app.waitForRunning();
  return {
    report: () => {
      const m = app.metrics();
      return {
        state: m.state,
        transientFailures: m.transientFailures,
        longestOutageMs: Math.round(longestOutageMs),
        ...(lastError === undefined ? {} : { lastError }),
        ...(firstFailureAt === undefined ? {} : { firstFailureAt }),
        ...(lastRunningAt === undefined ? {} : { lastRunningAt }),
        processedRecords: m.totals.processedRecords,
        producedRecords: m.producedRecords,
        commits: m.commits,
      };
    },
    close: async () => {
      clearInterval(watch);
      await app.close();
    },
  };
};
