/**
 * Reads a Java Flight Recorder file (written by the Kafka Streams subject's JVM under the bench's
 * `--profile`) with the JDK's `jfr` tool and lists where the JVM's threads spent their samples:
 * by area (package) and by method, on the top frame of each stack, as `profile.ts` does for a V8
 * profile. JFR samples threads running Java code (`jdk.ExecutionSample`) and threads inside
 * native methods (`jdk.NativeMethodSample`); of the latter only RocksDB's are counted, since the
 * others are threads waiting on sockets. The JIT compiler's and the collector's own threads are
 * not sampled: the summary is of the application's threads.
 */
import { spawnSync } from 'node:child_process';

interface Frame {
  method?: { type?: { name?: string }; name?: string };
}

interface JfrEvent {
  type: string;
  values?: { stackTrace?: { frames?: Frame[] } };
}

/** Samples per area and per method, from `jfr print --json`. */
export function summarizeJfr(path: string, title: string, top = 25): string {
  const printed = spawnSync(
    'jfr',
    ['print', '--json', '--stack-depth', '1', '--events', 'jdk.ExecutionSample,jdk.NativeMethodSample', path],
    { encoding: 'utf8', maxBuffer: 2 * 1024 * 1024 * 1024 },
  );
  if (printed.status !== 0)
    return `${title}: no Flight Recorder profile read from ${path} (${printed.stderr?.trim() || printed.error?.message || `jfr exited ${printed.status}`})\n`;
  const events =
    (JSON.parse(printed.stdout) as { recording?: { events?: JfrEvent[] } }).recording?.events ?? [];
  const byArea = new Map<string, number>();
  const byMethod = new Map<string, number>();
  let samples = 0;
  for (const event of events) {
    const frame = event.values?.stackTrace?.frames?.[0];
    // JFR names classes by their binary name: org/apache/kafka/... .
    const className = (frame?.method?.type?.name ?? '(unknown)').replaceAll('/', '.');
    if (event.type === 'jdk.NativeMethodSample' && !className.startsWith('org.rocksdb')) continue;
    samples++;
    const method = `${className}.${frame?.method?.name ?? '?'}`;
    byMethod.set(method, (byMethod.get(method) ?? 0) + 1);
    const area = areaOf(className);
    byArea.set(area, (byArea.get(area) ?? 0) + 1);
  }
  const pct = (n: number) => `${((100 * n) / Math.max(1, samples)).toFixed(1).padStart(5)}%`;
  const lines = [
    `${title}: ${samples} samples of running Java threads (and RocksDB's native calls), percentages of them`,
    'by area:',
    ...[...byArea]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([area, n]) => `  ${pct(n)}  ${area}`),
    `top ${top} methods by samples on top of the stack:`,
    ...[...byMethod]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([method, n]) => `  ${pct(n)}  ${method}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** A package, cut to the depth that names a component: `org.apache.kafka.common.record`, `org.rocksdb`, `java.nio`. */
function areaOf(className: string): string {
  const parts = className.split('.');
  const packages = parts.slice(0, -1);
  if (packages.length === 0) return className;
  const depth = packages[0] === 'org' && packages[1] === 'apache' && packages[2] === 'kafka' ? 5 : 2;
  return packages.slice(0, depth).join('.');
}
