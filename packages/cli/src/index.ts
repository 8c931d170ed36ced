export { demoPatterns } from './demo.ts';
export {
  DescribeError,
  loadTopologies,
  type NamedTopology,
  renderDescriptions,
  topologiesOf,
} from './describe.ts';
export { buildProgram, type CliIo, parseDateTime, parseList, parseNonNegativeInt } from './program.ts';
export { QueryError, queryKey, queryUrl } from './query.ts';
export {
  describePlan,
  internalTopicsOf,
  ResetError,
  type ResetOptions,
  type ResetPlan,
  resetApplication,
} from './reset.ts';
