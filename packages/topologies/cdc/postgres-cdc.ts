/**
 * PostgresCdc: row changes of PostgreSQL tables as Debezium's PostgreSQL connector writes them,
 * from a TypeScript process instead of a Kafka Connect cluster. See README.md for the guarantee,
 * the type mapping and what can still go wrong.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { type CaptureState, ChangeCapture, defaultClientId } from './change-capture.ts';
import { changeRecords, type EnvelopeSettings, envelopeSettings } from './change-events.ts';
import type { CaptureGuarantee } from './change-writer.ts';

export interface PostgresCdcOptions {
  /** A connection string (postgres://user@host:5432/db) or pg's client settings. */
  postgres: string | pg.ClientConfig;
  bootstrapServers: string | string[];
  /** Debezium's topic.prefix: topics are `<topicPrefix>.<schema>.<table>`, and `source.name`. */
  topicPrefix: string;
  /** Schema-qualified tables: `public.customers`. Each needs a primary key or REPLICA IDENTITY FULL. */
  tables: string[];
  /** Default `kp_cdc_<topicPrefix>`, made of lower-case letters, digits and underscores. */
  slotName?: string;
  /** Default `kp_cdc_<topicPrefix>_pub`. */
  publicationName?: string;
  /** 'initial' (default): every existing row first (op r), then the changes; 'never': changes only. */
  snapshot?: 'initial' | 'never';
  /**
   * 'at_least_once' (default): the idempotent producer, and the slot confirmed once Kafka
   * acknowledged; 'exactly_once_v2': one Kafka transaction per batch, with the capture's position
   * written in it, so a restart repeats nothing Kafka committed.
   */
  processingGuarantee?: CaptureGuarantee;
  /** Compacted topic with the capture's progress (default `kafka-pattern-cdc-offsets`). */
  offsetsTopic?: string;
  /** Partitions of the change topics the capture creates (default 1). */
  partitions?: number;
  replicationFactor?: number;
  /** How often the capture reports to PostgreSQL when its tables are quiet (default 10 000). */
  heartbeatIntervalMs?: number;
  clientId?: string;
  /** Where retries and reconnects are reported; default console.warn. */
  warn?(message: string): void;
}

/** `source.version` of the events: this package, where Debezium writes its own version. */
export const CDC_VERSION = 'kafka-pattern-0.1.0';

/** Wall-clock nanoseconds since the epoch. */
function nowNanos(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** A UUID version 7 (time-ordered), as Debezium's run ids are. */
function uuidv7(): string {
  const b = randomBytes(16);
  b.writeUIntBE(Date.now(), 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function identifier(prefix: string): string {
  return prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

export class PostgresCdc {
  readonly #capture: ChangeCapture;
  readonly slotName: string;
  readonly publicationName: string;

  constructor(options: PostgresCdcOptions) {
    if (!options.topicPrefix)
      throw new Error('topicPrefix: give the logical name of the server, e.g. dbserver1');
    const slotName = options.slotName ?? `kp_cdc_${identifier(options.topicPrefix)}`;
    const publicationName = options.publicationName ?? `${slotName}_pub`;
    this.slotName = slotName;
    this.publicationName = publicationName;
    const settings = { topicPrefix: options.topicPrefix, version: CDC_VERSION, runId: uuidv7() };
    let envelope: EnvelopeSettings | undefined;
    this.#capture = new ChangeCapture({
      postgres: options.postgres,
      bootstrapServers: options.bootstrapServers,
      tables: options.tables,
      slotName,
      publicationName,
      snapshot: options.snapshot ?? 'initial',
      guarantee: options.processingGuarantee ?? 'at_least_once',
      clientId: options.clientId ?? defaultClientId('cdc', slotName),
      toRecords: (change, database) => {
        // The database is known once connected; the settings (and their headers) are built once.
        if (envelope?.database !== database) envelope = envelopeSettings({ ...settings, database });
        return changeRecords(change, envelope, nowNanos());
      },
      ...(options.offsetsTopic ? { offsetsTopic: options.offsetsTopic } : {}),
      ...(options.partitions ? { partitions: options.partitions } : {}),
      ...(options.replicationFactor ? { replicationFactor: options.replicationFactor } : {}),
      ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
      ...(options.warn ? { warn: options.warn } : {}),
    });
  }

  /** Resolves once the slot exists: a change committed after this arrives as c/u/d, never in the snapshot. */
  start(): Promise<void> {
    return this.#capture.start();
  }

  /** Resolves once every snapshot record is in Kafka. */
  snapshotCompleted(): Promise<void> {
    return this.#capture.snapshotCompleted();
  }

  /** Waits until Kafka has what was read, confirms it to the slot, and disconnects. The slot stays. */
  close(): Promise<void> {
    return this.#capture.close();
  }

  get state(): CaptureState {
    return this.#capture.state;
  }

  /** The position confirmed to the slot, e.g. `0/16B3748`. */
  get confirmedLsn(): string {
    return this.#capture.confirmedLsn;
  }

  get failure(): Error | undefined {
    return this.#capture.failure;
  }
}
