/**
 * The backlog measurement's floor: a pipe process that only loads what the others load
 * (param `load`: `'client'` for @platformatic/kafka, `'framework'` for the framework, which
 * loads the client too) and does nothing, so its peak resident memory is Node's, the
 * harness's and those modules'.
 */
import type { StartPipe } from '../harness/pipe.ts';

export const start: StartPipe = async (run) => {
  const loaded =
    run.params.load === 'framework'
      ? Object.keys(await import('@kafka-pattern/streams-core'))
      : Object.keys(await import('@platformatic/kafka'));
  if (loaded.length === 0) throw new Error('idle: nothing loaded');
  return { close: async () => {} };
};
