export { type TestInputRecord, TestInputTopic, type TestInputTopicOptions } from './test-input-topic.ts';
export { TestOutputTopic } from './test-output-topic.ts';
export type { TestRecord } from './test-record.ts';
export { TopologyTestDriver, type TopologyTestDriverOptions } from './topology-test-driver.ts';
