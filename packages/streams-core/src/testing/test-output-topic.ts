import type { KeyValue } from '../processor/api/record.ts';
import type { Serde } from '../serdes/serde.ts';
import type { TestRecord, TestRecordBytes } from './test-record.ts';

/** Reads what the topology wrote to one topic, oldest first; each read consumes. */
export class TestOutputTopic<K, V> {
  readonly topic: string;
  readonly #keySerde: Serde<K>;
  readonly #valueSerde: Serde<V>;
  readonly #queue: TestRecordBytes[];

  /** @internal created by TopologyTestDriver.createOutputTopic */
  constructor(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>, queue: TestRecordBytes[]) {
    this.topic = topic;
    this.#keySerde = keySerde;
    this.#valueSerde = valueSerde;
    this.#queue = queue;
  }

  #take(): TestRecordBytes {
    const r = this.#queue.shift();
    if (!r) throw new Error(`No more records in output topic "${this.topic}"`);
    return r;
  }

  #decode(r: TestRecordBytes): TestRecord<K, V> {
    return {
      key: this.#keySerde.deserialize(this.topic, r.key, r.headers) as K,
      value: this.#valueSerde.deserialize(this.topic, r.value, r.headers) as V,
      timestamp: r.timestamp,
      headers: r.headers,
    };
  }

  readRecord(): TestRecord<K, V> {
    return this.#decode(this.#take());
  }

  readValue(): V {
    return this.readRecord().value;
  }

  readKeyValue(): KeyValue<K, V> {
    const r = this.readRecord();
    return { key: r.key, value: r.value };
  }

  readRecordsToList(): TestRecord<K, V>[] {
    return this.#queue.splice(0).map((r) => this.#decode(r));
  }

  readKeyValuesToList(): KeyValue<K, V>[] {
    return this.readRecordsToList().map((r) => ({ key: r.key, value: r.value }));
  }

  readValuesToList(): V[] {
    return this.readRecordsToList().map((r) => r.value);
  }

  /**
   * The latest value per key; a later record of a key replaces an earlier one. Records without a
   * key would all collapse into one entry, so they are refused, as Kafka's test driver does.
   */
  readKeyValuesToMap(): Map<K, V> {
    const out = new Map<K, V>();
    for (const r of this.readRecordsToList()) {
      if (r.key === null || r.key === undefined) {
        throw new Error(
          `Output topic "${this.topic}" has a record with a null key: readKeyValuesToMap needs keys, use readKeyValuesToList`,
        );
      }
      out.set(r.key, r.value);
    }
    return out;
  }

  isEmpty(): boolean {
    return this.#queue.length === 0;
  }

  getQueueSize(): number {
    return this.#queue.length;
  }
}
