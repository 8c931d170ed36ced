export { TopologyTestDriver, type TopologyTestDriverOptions } from './topology-test-driver.ts';
export { TestInputTopic, type TestInputTopicOptions, type TestInputRecord } from './test-input-topic.ts';
export { TestOutputTopic } from './test-output-topic.ts';
export type { TestRecord } from './test-record.ts';
