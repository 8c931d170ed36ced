/**
 * bakdata's side of the claim-check interoperation test: builds the Maven project in bakdata/
 * when its sources changed and runs its producer or consumer (LargeMessageSerializer /
 * LargeMessageDeserializer from Maven Central) against the stack's broker and S3 server, reading
 * the JSON lines it prints. A missing Java or Maven is a failure that says what to install.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mavenProject } from '../support/maven-project.ts';
import { s3Service } from '../support/services.ts';

const project = mavenProject({
  dir: fileURLToPath(new URL('./bakdata/', import.meta.url)),
  jarName: 'claim-check-bakdata.jar',
  needs: 'The claim-check interoperation test needs',
  reference: "bakdata's large-message-serde",
  versionProperty: 'large-message-serde.version',
  what: "bakdata's large-message-serde runner",
});

export function largeMessageSerdeVersion(): string {
  return project.version();
}

export interface BakdataEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: events are JSON from the child, read by field
  [field: string]: any;
}

export interface BakdataRun {
  role: 'produce' | 'consume';
  bootstrap: string;
  topic: string;
  /** s3://bucket/prefix/ */
  basePath: string;
  useHeaders: boolean;
  maxBytes: number;
  /** produce: "key:size:seed" entries. */
  payloads?: string[];
  /** consume: how many records to read. */
  count?: number;
}

/** Runs the Java side to its end; throws with its output when it fails. */
export async function runBakdata(run: BakdataRun): Promise<BakdataEvent[]> {
  project.ensureBuilt();
  const s3 = s3Service();
  const props: Record<string, string | number | boolean | undefined> = {
    'lm.role': run.role,
    'lm.bootstrap': run.bootstrap,
    'lm.topic': run.topic,
    'lm.payloads': run.payloads?.join(','),
    'lm.count': run.count,
    'large.message.base.path': run.basePath,
    'large.message.use.headers': run.useHeaders,
    'large.message.max.byte.size': run.maxBytes,
    'large.message.s3.endpoint': s3.endpoint,
    'large.message.s3.region': s3.region,
    'large.message.s3.access.key': s3.accessKeyId,
    'large.message.s3.secret.key': s3.secretAccessKey,
    'large.message.s3.path.style.access': true,
  };
  const args = [
    // Two cores: a small heap and the quick compiler keep the JVM from starving the test.
    '-Xmx256m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    ...Object.entries(props)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `-D${k}=${v}`),
    '-cp',
    [project.jar, join(project.dir, 'target', 'lib', '*')].join(':'),
    'claimcheck.BakdataSide',
  ];
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: BakdataEvent[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('{')) events.push(JSON.parse(line) as BakdataEvent);
  });
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  if (code !== 0 || !events.some((e) => e.event === 'done'))
    throw new Error(
      `bakdata ${run.role} exited with ${code}: ${JSON.stringify(events.filter((e) => e.event === 'error'))}\n${stderr.slice(-30).join('\n')}`,
    );
  return events;
}
