#!/usr/bin/env node
/** Entry point of the `kafka-pattern` binary. */
import { CommanderError } from 'commander';
import { buildProgram } from './program.ts';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
