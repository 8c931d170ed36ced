/**
 * The outage measurement's input: records generated at a fixed rate and sent on, through the
 * outage too. A send that fails keeps its records for the next attempt, half a second later,
 * through a new producer (the old one's connections and sequence numbers belong to a broker
 * that went away); nothing generated is dropped. A send that failed on this side but was
 * written by the broker is written twice: the output check counts what the input topic holds,
 * not what was generated.
 *
 * Record `i` goes to partition `i % partitions` (the keyed workload puts its key there too),
 * stamped with the wall clock when it is generated.
 */
import { type MessageToProduce, Producer } from '@platformatic/kafka';
import { type InputRecord, sleep } from '../harness/broker.ts';

export interface InputStats {
  /** Records generated (and, once `stop()` resolved, all of them acknowledged). */
  readonly generated: number;
  readonly sends: number;
  readonly failedSends: number;
  /** performance.now() of the first and last failed send, if any. */
  readonly firstFailureAt?: number;
  readonly lastFailureAt?: number;
  readonly lastError?: string;
}

const TICK_MS = 10;
const RETRY_AFTER_MS = 500;
const MAX_PER_SEND = 5_000;

export class PacedInput {
  readonly #servers: string[];
  readonly #topic: string;
  readonly #partitions: number;
  readonly #record: (i: number) => InputRecord;
  readonly #ratePerSec: number;
  #producer: Producer | undefined;
  #pending: MessageToProduce[] = [];
  #generated = 0;
  #sends = 0;
  #failedSends = 0;
  #firstFailureAt: number | undefined;
  #lastFailureAt: number | undefined;
  #lastError: string | undefined;
  #generating = true;
  #abandoned = false;
  #loop: Promise<void> | undefined;

  constructor(
    servers: string[],
    topic: string,
    partitions: number,
    record: (i: number) => InputRecord,
    ratePerSec: number,
  ) {
    this.#servers = servers;
    this.#topic = topic;
    this.#partitions = partitions;
    this.#record = record;
    this.#ratePerSec = ratePerSec;
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Stops generating, then sends what is still pending (retrying for up to `timeoutMs`). */
  async stop(timeoutMs = 60_000): Promise<InputStats> {
    if (!this.#generating) return this.stats();
    this.#generating = false;
    const deadline = performance.now() + timeoutMs;
    while (this.#pending.length > 0 && performance.now() < deadline) await sleep(TICK_MS);
    this.#abandoned = true;
    // A send in flight to a broker that does not answer may not end: do not wait for it forever.
    await Promise.race([this.#loop, sleep(5_000)]);
    await this.#producer?.close().catch(() => {});
    if (this.#pending.length > 0)
      throw new Error(`input: ${this.#pending.length} records still unsent after ${timeoutMs} ms`);
    return this.stats();
  }

  stats(): InputStats {
    return {
      generated: this.#generated,
      sends: this.#sends,
      failedSends: this.#failedSends,
      ...(this.#firstFailureAt === undefined ? {} : { firstFailureAt: this.#firstFailureAt }),
      ...(this.#lastFailureAt === undefined ? {} : { lastFailureAt: this.#lastFailureAt }),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  #newProducer(): Producer {
    return new Producer({
      clientId: 'bench-outage-input',
      bootstrapBrokers: this.#servers,
      idempotent: true,
      acks: -1,
      retries: 1,
      retryDelay: 200,
      timeout: 5_000,
    });
  }

  async #run(): Promise<void> {
    const started = performance.now();
    while ((this.#generating || this.#pending.length > 0) && !this.#abandoned) {
      if (this.#generating) {
        const due = Math.floor(((performance.now() - started) * this.#ratePerSec) / 1000);
        const now = Date.now();
        for (; this.#generated < due; this.#generated++) {
          const i = this.#generated;
          const r = this.#record(i);
          this.#pending.push({
            topic: this.#topic,
            partition: i % this.#partitions,
            key: Buffer.from(r.key),
            value: Buffer.from(r.value),
            timestamp: BigInt(now),
          });
        }
      }
      if (this.#pending.length === 0) {
        await sleep(TICK_MS);
        continue;
      }
      const messages = this.#pending.slice(0, MAX_PER_SEND);
      this.#producer ??= this.#newProducer();
      this.#sends++;
      try {
        await this.#producer.send({ messages });
        this.#pending = this.#pending.slice(messages.length);
        await sleep(TICK_MS);
      } catch (error) {
        this.#failedSends++;
        this.#firstFailureAt ??= performance.now();
        this.#lastFailureAt = performance.now();
        this.#lastError = error instanceof Error ? error.message : String(error);
        const failed = this.#producer;
        this.#producer = undefined;
        await failed.close().catch(() => {});
        await sleep(RETRY_AFTER_MS);
      }
    }
  }
}
