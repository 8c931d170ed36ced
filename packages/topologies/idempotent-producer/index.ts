export { DedicatedBroker, type DedicatedBrokerOptions, freePorts } from './broker.ts';
export { type BatchRole, batchRoles, describeValues, examineLog, type LogFindings } from './evidence.ts';
export {
  type DumpOptions,
  dumpLogSegments,
  type LogBatch,
  type LogRecord,
  parseDumpLogSegments,
  readPartitionLog,
} from './log-segments.ts';
export { type FaultRunOptions, type FaultRunReport, produceThroughFaults } from './producer-run.ts';
export { type ProxiedBroker, startProxiedBroker } from './proxied-broker.ts';
export { FaultInjectingProxy, type FaultPlan, type ProxyOptions, type ProxyStats } from './tcp-proxy.ts';
