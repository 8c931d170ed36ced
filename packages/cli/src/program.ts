/** The `kafka-pattern` command line: its commands and their arguments (commander). */
import { spawn } from 'node:child_process';
import { createPlatformaticClientFactory } from '@kafka-pattern/streams-core/client';
import { Command, InvalidArgumentError } from 'commander';
import { demoFile, demoPatterns, stackScript } from './demo.ts';
import { inputTopicsOf, loadTopologies, renderDescriptions } from './describe.ts';
import { queryKey, queryUrl } from './query.ts';
import { resetApplication } from './reset.ts';
import { type SecurityFlags, securityFromFlags, withSecurityOptions } from './security.ts';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** `--to-datetime` value: an ISO-8601 date-time, as ms since the epoch. */
export function parseDateTime(value: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new InvalidArgumentError(
      `"${value}" is not an ISO-8601 date-time: write e.g. 2026-01-31T12:00:00Z`,
    );
  }
  return ms;
}

/** A non-negative integer option (ms, counts). */
export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  return Number(value);
}

/** A comma-separated list option that can also be repeated. */
export function parseList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

export function buildProgram(io: CliIo = processIo): Command {
  const program = new Command('kafka-pattern')
    .description(
      'Kafka Streams-style stream processing for TypeScript: inspect topologies, reset applications, run the pattern demos',
    )
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  program
    .command('describe')
    .description(
      'print the topology a module exports (text as Kafka Streams prints it, or a Mermaid flowchart)',
    )
    .argument(
      '<module>',
      'a .ts/.js file exporting a Topology (or a function of no arguments building one), or a pattern name such as windowing',
    )
    .option('--mermaid', 'print a Mermaid flowchart instead of the text description')
    .addHelpText(
      'after',
      '\nExamples:\n  kafka-pattern describe windowing\n  kafka-pattern describe ./src/topology.ts --mermaid\n',
    )
    .action(async (module: string, options: { mermaid?: boolean }) => {
      const topologies = await loadTopologies(module);
      io.out(renderDescriptions(topologies, options.mermaid ? 'mermaid' : 'text'));
    });

  withSecurityOptions(
    program
      .command('reset')
      .description(
        "reset an application (Kafka Streams' application reset tool): input offsets to the beginning or a date-time, internal topics deleted, local state wiped",
      )
      .argument('<applicationId>', 'the application id (= consumer group id and internal topic prefix)')
      .option('--bootstrap-servers <list>', 'Kafka bootstrap servers, comma-separated', parseList),
  )
    .option(
      '--input-topics <list>',
      'input topics whose committed offsets are reset, comma-separated or repeated',
      parseList,
      [],
    )
    .option(
      '--topology <module>',
      'take the input topics from the topology this module exports (as for describe)',
    )
    .option('--to-earliest', 'reset input offsets to the beginning of each partition (default)')
    .option(
      '--to-datetime <iso>',
      'reset input offsets to the first record at or after this ISO-8601 date-time',
      parseDateTime,
    )
    .option(
      '--state-dir <dir>',
      'the state directory the application ran with; <dir>/<applicationId> is deleted',
    )
    .option('--dry-run', 'list what would be done and change nothing')
    .addHelpText(
      'after',
      '\nStop every instance of the application first: reset refuses while its consumer group has members.\n\nExample:\n  kafka-pattern reset word-count --input-topics text --state-dir /var/lib/word-count --dry-run\n',
    )
    .action(
      async (
        applicationId: string,
        options: {
          bootstrapServers?: string[];
          inputTopics: string[];
          topology?: string;
          toEarliest?: boolean;
          toDatetime?: number;
          stateDir?: string;
          dryRun?: boolean;
        } & SecurityFlags,
      ) => {
        const security = securityFromFlags(options);
        if (options.toEarliest && options.toDatetime !== undefined) {
          throw new InvalidArgumentError('--to-earliest and --to-datetime exclude each other: give one');
        }
        const fromTopology =
          options.topology === undefined ? [] : inputTopicsOf(await loadTopologies(options.topology));
        if (options.topology !== undefined) {
          io.err(`Input topics of ${options.topology}: ${fromTopology.join(', ') || 'none'}\n`);
        }
        const bootstrapServers =
          options.bootstrapServers ?? parseList(process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092');
        await resetApplication({
          applicationId,
          clients: createPlatformaticClientFactory({
            bootstrapServers,
            clientId: 'kafka-pattern-cli-reset',
            ...security,
          }),
          bootstrapServers,
          inputTopics: [...new Set([...options.inputTopics, ...fromTopology])].sort(),
          ...(options.toDatetime !== undefined ? { toDateTime: options.toDatetime } : {}),
          ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
          dryRun: options.dryRun ?? false,
          progress: (line) => io.err(`${line}\n`),
        });
      },
    );

  program
    .command('query')
    .description("read one key of a state store from a running instance's interactive-query endpoint")
    .argument('<store>', 'the store name')
    .argument('<key>', 'the key, as its String/number serde reads it')
    .requiredOption('--url <endpoint>', 'the instance endpoint, e.g. http://127.0.0.1:8080')
    .option('--from <ms>', 'window stores: windows starting at or after this time', parseNonNegativeInt)
    .option('--to <ms>', 'window stores: windows starting at or before this time', parseNonNegativeInt)
    .action(async (store: string, key: string, options: { url: string; from?: number; to?: number }) => {
      const window = {
        ...(options.from !== undefined ? { from: options.from } : {}),
        ...(options.to !== undefined ? { to: options.to } : {}),
      };
      io.out(await queryKey(queryUrl(options.url, store, key, window)));
    });

  const dlt = program.command('dlt').description('dead-letter topic tools');
  withSecurityOptions(
    dlt
      .command('redrive')
      .description(
        'send dead letters back to their original topics, exactly once (transactions), with filters',
      )
      .argument('<dlt>', 'the dead-letter topic')
      .option('--bootstrap-servers <list>', 'Kafka bootstrap servers, comma-separated', parseList),
  )
    .option('--original-topic <topic>', 'only dead letters that came from this topic')
    .option('--exception <text>', "only dead letters whose exception class (or its cause's) contains this")
    .option('--message <text>', 'only dead letters whose exception message contains this')
    .option('--key <key>', 'only dead letters with exactly this key (UTF-8)')
    .option('--group-id <id>', 'the consumer group recording what was done (default <dlt>.redrive)')
    .option('--timestamp <which>', 'timestamp of re-driven records: original or now', 'original')
    .option('--dry-run', 'report what would be re-driven, producing and committing nothing')
    .action(
      async (
        topic: string,
        options: {
          bootstrapServers?: string[];
          originalTopic?: string;
          exception?: string;
          message?: string;
          key?: string;
          groupId?: string;
          timestamp: string;
          dryRun?: boolean;
        } & SecurityFlags,
      ) => {
        const security = securityFromFlags(options);
        if (options.timestamp !== 'original' && options.timestamp !== 'now') {
          throw new InvalidArgumentError(`--timestamp "${options.timestamp}": give original or now`);
        }
        const { formatReport, redrive } = await import('@kafka-pattern/topologies/dead-letter/redrive');
        const filter = {
          ...(options.originalTopic !== undefined ? { originalTopic: options.originalTopic } : {}),
          ...(options.exception !== undefined ? { exception: options.exception } : {}),
          ...(options.message !== undefined ? { message: options.message } : {}),
          ...(options.key !== undefined ? { key: options.key } : {}),
        };
        io.err(`Re-driving dead letters from ${topic}${options.dryRun ? ' (dry run)' : ''}...\n`);
        const report = await redrive({
          dlt: topic,
          bootstrapServers:
            options.bootstrapServers ?? parseList(process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092'),
          filter,
          timestamp: options.timestamp,
          ...security,
          dryRun: options.dryRun ?? false,
          ...(options.groupId !== undefined ? { groupId: options.groupId } : {}),
          onProgress: (r) =>
            io.err(
              `  read ${r.read}, re-driven ${r.redriven}, skipped ${r.skipped}, unroutable ${r.unroutable.length}\n`,
            ),
        });
        io.out(`${formatReport(report)}\n`);
      },
    );

  program
    .command('demo')
    .description('list the pattern demos, or run one against the local stack (as `pnpm demo <pattern>`)')
    .argument('[pattern]', 'the pattern to run; lists them when left out')
    .option('--no-stack', 'do not start the local stack first (in a checkout of the repository)')
    .action(async (pattern: string | undefined, options: { stack: boolean }) => {
      const patterns = demoPatterns();
      if (pattern === undefined) {
        io.out(
          `Pattern demos (run one with \`kafka-pattern demo <pattern>\`):\n${patterns.map((p) => `  ${p}\n`).join('')}`,
        );
        return;
      }
      if (!patterns.includes(pattern)) {
        throw new InvalidArgumentError(
          `no pattern demo named "${pattern}": choose one of ${patterns.join(', ')}`,
        );
      }
      const run = (command: string, args: string[]) =>
        new Promise<number>((resolveCode, reject) => {
          const child = spawn(command, args, { stdio: 'inherit' });
          child.on('error', reject);
          child.on('exit', (c, signal) => resolveCode(c ?? (signal ? 1 : 0)));
        });
      const script = options.stack ? stackScript() : undefined;
      if (script !== undefined) {
        io.err(`Starting the local stack (${script} up)...\n`);
        const code = await run('bash', [script, 'up']);
        if (code !== 0) {
          process.exitCode = code;
          io.err('The local stack did not start (see above): the demo needs its broker and services.\n');
          return;
        }
      }
      io.err(
        `Running the ${pattern} demo${script === undefined ? ' (needs a broker at KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:9092, and the services the pattern uses)' : ''}...\n`,
      );
      const code = await run(process.execPath, [demoFile(pattern)!]);
      if (code !== 0) process.exitCode = code;
    });

  return program;
}
