/**
 * OutboxRelay: publishes each committed outbox row to Kafka as Debezium's outbox event router
 * does: topic `outbox.event.<aggregatetype>`, key the aggregate id, value the payload, headers
 * `id` and `type`. It reads the outbox table's inserts from PostgreSQL's write-ahead log through
 * a replication slot, so events come in commit order (also a row whose transaction committed after
 * one with a later id), nothing of a rolled-back transaction appears, and a crash resumes at the
 * first transaction Kafka may lack. Rows are deleted once Kafka has them (`cleanup: 'delete'`).
 */
import type { ProducedRecord } from '@kafka-pattern/streams-core/client';
import type pg from 'pg';
import { type CaptureState, ChangeCapture, defaultClientId } from '../cdc/change-capture.ts';
import type { RowChange } from '../cdc/change-events.ts';
import type { CaptureGuarantee } from '../cdc/change-writer.ts';
import { connect, parseTableName, where } from '../cdc/replication-slot.ts';
import { TEXT_OUTPUT_OPTIONS } from '../cdc/table-snapshot.ts';
import { compactJson } from './compact-json.ts';
import { DEFAULT_OUTBOX_TABLE, ensureOutboxTable, outboxTableName } from './outbox-table.ts';

export interface OutboxRelayOptions {
  /** A connection string (postgres://user@host:5432/db) or pg's client settings. */
  postgres: string | pg.ClientConfig;
  bootstrapServers: string | string[];
  /** Default `outbox` (in schema public); created when absent. */
  table?: string;
  /** Topics are `<topicPrefix>.<aggregatetype>` (default `outbox.event`, as Debezium's router). */
  topicPrefix?: string;
  /** Default `kp_outbox_<table>`. */
  slotName?: string;
  publicationName?: string;
  /** 'delete' (default): rows are deleted once Kafka has them; 'keep': left for the application. */
  cleanup?: 'delete' | 'keep';
  /** 'at_least_once' (default) or 'exactly_once_v2' (one Kafka transaction per batch, position included). */
  processingGuarantee?: CaptureGuarantee;
  offsetsTopic?: string;
  partitions?: number;
  replicationFactor?: number;
  heartbeatIntervalMs?: number;
  clientId?: string;
  warn?(message: string): void;
}

interface OutboxRow {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  payload: string | null;
}

export class OutboxRelay {
  readonly slotName: string;
  readonly publicationName: string;
  readonly #options: OutboxRelayOptions;
  readonly #table: string;
  readonly #capture: ChangeCapture;
  readonly #topicPrefix: string;
  /** Ids of the rows of the transaction being read. */
  #current: string[] = [];
  /** Ids per transaction end, until Kafka has them. */
  readonly #pending: { end: bigint; ids: string[] }[] = [];
  #deletable: string[] = [];
  #cleaner: pg.Client | undefined;
  #published = 0;

  constructor(options: OutboxRelayOptions) {
    this.#options = options;
    const table = parseTableName(options.table ?? DEFAULT_OUTBOX_TABLE);
    this.#table = `${table.schema}.${table.table}`;
    this.#topicPrefix = options.topicPrefix ?? 'outbox.event';
    const base = `kp_outbox_${table.table.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
    this.slotName = options.slotName ?? base;
    this.publicationName = options.publicationName ?? `${this.slotName}_pub`;
    const cleanup = (options.cleanup ?? 'delete') === 'delete';
    this.#capture = new ChangeCapture({
      postgres: options.postgres,
      bootstrapServers: options.bootstrapServers,
      tables: [this.#table],
      slotName: this.slotName,
      publicationName: this.publicationName,
      // Rows written before the relay's first start are published from the snapshot.
      snapshot: 'initial',
      guarantee: options.processingGuarantee ?? 'at_least_once',
      clientId: options.clientId ?? defaultClientId('outbox', this.slotName),
      toRecords: (change) => this.#records(change),
      ...(cleanup
        ? {
            onTransactionEnd: (end: bigint) => {
              if (this.#current.length > 0) this.#pending.push({ end, ids: this.#current });
              this.#current = [];
            },
            // Rows go before the slot moves past them: a crash in between only publishes them again.
            beforeConfirm: (lsn: bigint) => this.#deleteUpTo(lsn),
          }
        : {
            onTransactionEnd: () => {
              this.#current = [];
            },
          }),
      ...(options.offsetsTopic ? { offsetsTopic: options.offsetsTopic } : {}),
      ...(options.partitions ? { partitions: options.partitions } : {}),
      ...(options.replicationFactor ? { replicationFactor: options.replicationFactor } : {}),
      ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
      ...(options.warn ? { warn: options.warn } : {}),
    });
  }

  /** Creates the table when absent, then the slot: an event committed after this is published. */
  async start(): Promise<void> {
    const client = await connect(this.#connection());
    try {
      await ensureOutboxTable(client, this.#table);
    } finally {
      await client.end().catch(() => undefined);
    }
    await this.#capture.start();
  }

  /** Waits until Kafka has what was read, deletes those rows, and disconnects. */
  async close(): Promise<void> {
    await this.#capture.close();
    await this.#cleaner?.end().catch(() => undefined);
  }

  get state(): CaptureState {
    return this.#capture.state;
  }

  get confirmedLsn(): string {
    return this.#capture.confirmedLsn;
  }

  get failure(): Error | undefined {
    return this.#capture.failure;
  }

  /** Events handed to Kafka so far by this relay. */
  get published(): number {
    return this.#published;
  }

  #connection(): pg.ClientConfig {
    const base =
      typeof this.#options.postgres === 'string'
        ? { connectionString: this.#options.postgres }
        : this.#options.postgres;
    return { ...base, options: TEXT_OUTPUT_OPTIONS };
  }

  /** Only inserts (and rows found by the snapshot) are events: updates and deletes of the table are not. */
  #records(change: RowChange): ProducedRecord[] {
    if (change.op !== 'c' && change.op !== 'r') return [];
    const row = change.after as unknown as OutboxRow;
    this.#current.push(row.id);
    this.#published++;
    return [
      {
        topic: `${this.#topicPrefix}.${row.aggregatetype}`,
        key: Buffer.from(row.aggregateid, 'utf8'),
        value: row.payload === null ? null : Buffer.from(compactJson(row.payload), 'utf8'),
        headers: [
          ['id', Buffer.from(row.id, 'utf8')],
          ['type', Buffer.from(row.type, 'utf8')],
        ],
      },
    ];
  }

  /** Deletes the rows of the transactions up to `lsn`, which Kafka has; undefined when there are none. */
  #deleteUpTo(lsn: bigint): Promise<void> | undefined {
    while (this.#pending.length > 0 && this.#pending[0]!.end <= lsn)
      this.#deletable.push(...this.#pending.shift()!.ids);
    return this.#deletable.length > 0 ? this.#deleteRows() : undefined;
  }

  async #deleteRows(): Promise<void> {
    while (this.#deletable.length > 0) {
      const batch = this.#deletable.slice(0, 1_000);
      try {
        this.#cleaner ??= await connect(this.#connection());
        let missing = batch;
        // PostgreSQL can decode a commit a moment before other sessions see it: rows not found
        // yet are looked for again (rows a crashed relay already deleted are simply not found).
        for (const wait of [0, 20, 100, 500]) {
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const { rows } = await this.#cleaner.query<{ id: string }>(
            `DELETE FROM ${outboxTableName(this.#table)} WHERE id = ANY($1::uuid[]) RETURNING id::text`,
            [missing],
          );
          const deleted = new Set(rows.map((r) => r.id));
          missing = missing.filter((id) => !deleted.has(id));
          if (missing.length === 0) break;
        }
      } catch (e) {
        await this.#cleaner?.end().catch(() => undefined);
        this.#cleaner = undefined;
        throw new Error(
          `deleting ${this.#deletable.length} published outbox rows at ${where(this.#connection())} failed (${(e as Error).message}); the slot moves on once they are deleted`,
          { cause: e },
        );
      }
      this.#deletable.splice(0, batch.length);
    }
  }
}
