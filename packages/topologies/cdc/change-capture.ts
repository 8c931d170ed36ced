/**
 * The capture both PostgresCdc and the outbox relay run: a publication and a replication slot
 * (created when absent), the initial snapshot read at the slot's starting point, then every
 * committed transaction from the slot in commit order, each change turned into Kafka records by
 * the caller's mapping and written by the ChangeWriter.
 *
 * The slot's confirmed position only moves to a transaction's end once Kafka has it (or, with no
 * change of ours outstanding, to where PostgreSQL says it has sent everything), so a crash or a
 * restart resumes at the first transaction Kafka may lack. PostgreSQL restarting, or the
 * connection dropping, is retried until it answers again; transactions already handed to Kafka in
 * this process are not written twice.
 */
import { hostname } from 'node:os';
import {
  type AdminPort,
  createPlatformaticClientFactory,
  type KafkaClientFactory,
  type ProducedRecord,
  type SecuritySettings,
} from '@kafka-pattern/streams-core/client';
import type pg from 'pg';
import { DEFAULT_OFFSETS_TOPIC, ensureOffsetsTopic, readOffset } from './capture-offsets.ts';
import type { ChangePosition, RowChange, TableShape, Tuple } from './change-events.ts';
import { type CaptureGuarantee, ChangeWriter } from './change-writer.ts';
import { formatLsn, parseLsn } from './lsn.ts';
import {
  checkLogicalReplication,
  checkSlotName,
  checkTables,
  connect,
  createSlot,
  dropSlot,
  ensurePublication,
  parseTableName,
  slotState,
  type TableName,
} from './replication-slot.ts';
import { shapeFromRelation, TypeCatalog } from './table-shapes.ts';
import { TableSnapshot, TEXT_OUTPUT_OPTIONS } from './table-snapshot.ts';
import { StreamStopped, WalStream } from './wal-stream.ts';

/** `tls` and `sasl`: how to reach a secured cluster (as the application's client.tls and client.sasl). */
export interface CaptureSettings extends SecuritySettings {
  postgres: string | pg.ClientConfig;
  bootstrapServers: string | string[];
  tables: readonly string[];
  slotName: string;
  publicationName: string;
  snapshot: 'initial' | 'never';
  guarantee: CaptureGuarantee;
  offsetsTopic?: string;
  /** Partitions of the topics the capture creates (default 1). */
  partitions?: number;
  replicationFactor?: number;
  /** How often the slot hears from the capture when nothing changes (default 10 s). */
  heartbeatIntervalMs?: number;
  clientId: string;
  /** The Kafka records of one change. */
  toRecords(change: RowChange, database: string): ProducedRecord[];
  warn?(message: string): void;
  /** A transaction's changes (or the snapshot's, at the slot's starting point) were handed to Kafka, up to `endLsn`. */
  onTransactionEnd?(endLsn: bigint): void;
  /**
   * Kafka has everything up to `lsn`, which is confirmed to the slot once the returned work is
   * done (at once when there is none; a rejection keeps the slot where it was, and the
   * confirmation is tried again later).
   */
  beforeConfirm?(lsn: bigint): Promise<void> | undefined;
}

export type CaptureState = 'created' | 'snapshot' | 'streaming' | 'reconnecting' | 'closed' | 'failed';

export class ChangeCapture {
  readonly #settings: CaptureSettings;
  readonly #pg: pg.ClientConfig;
  readonly #tables: TableName[];
  readonly #clients: KafkaClientFactory;
  readonly #warn: (message: string) => void;
  #admin: AdminPort | undefined;
  #control: pg.Client | undefined;
  #writer: ChangeWriter | undefined;
  #stream: WalStream | undefined;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #snapshot: TableSnapshot | undefined;
  #consistentPoint = 0n;
  #database = '';
  #state: CaptureState = 'created';
  #closing = false;
  #failure: Error | undefined;
  /** Highest end LSN Kafka has (or, idle, PostgreSQL has sent): what the slot may confirm. */
  #written = 0n;
  /** What the slot was told. */
  #confirmed = 0n;
  #confirming: Promise<void> | undefined;
  #confirmAgain = false;
  /** End LSN of the last transaction handed to the writer: after a reconnect, older ones are skipped. */
  #appended = 0n;
  #snapshotDone: Promise<void>;
  #resolveSnapshot!: () => void;

  constructor(settings: CaptureSettings) {
    checkSlotName(settings.slotName, 'slotName');
    checkSlotName(settings.publicationName, 'publicationName');
    if (settings.tables.length === 0)
      throw new Error('tables: name at least one table to capture, e.g. public.customers');
    this.#settings = settings;
    this.#tables = settings.tables.map(parseTableName);
    const base: pg.ClientConfig =
      typeof settings.postgres === 'string'
        ? { connectionString: settings.postgres }
        : { ...settings.postgres };
    this.#pg = { ...base, options: TEXT_OUTPUT_OPTIONS, application_name: settings.clientId };
    const servers =
      typeof settings.bootstrapServers === 'string'
        ? settings.bootstrapServers.split(',')
        : settings.bootstrapServers;
    this.#clients = createPlatformaticClientFactory({
      bootstrapServers: servers,
      clientId: settings.clientId,
      tls: settings.tls,
      sasl: settings.sasl,
    });
    this.#warn = settings.warn ?? ((m) => console.warn(`[${settings.clientId}] ${m}`));
    this.#snapshotDone = new Promise((resolve) => {
      this.#resolveSnapshot = resolve;
    });
  }

  get state(): CaptureState {
    return this.#state;
  }

  /** The position the slot has been told is safe. */
  get confirmedLsn(): string {
    return formatLsn(this.#confirmed);
  }

  /** The error that stopped the capture, if one did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Resolves once the snapshot's records are in Kafka (at once with snapshot 'never' or a slot that already existed). */
  snapshotCompleted(): Promise<void> {
    return this.#snapshotDone;
  }

  /**
   * Prepares PostgreSQL and Kafka and fixes the starting point: once this resolves the slot exists,
   * and every change committed afterwards arrives streamed (c/u/d), never in the snapshot.
   */
  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error('start() was called twice: a capture starts once');
    try {
      await this.#prepare();
    } catch (e) {
      await this.#release();
      this.#state = 'failed';
      throw e;
    }
    this.#loop = this.#run();
    this.#heartbeat = setInterval(() => {
      void this.#stream?.heartbeat();
      // A confirmation whose beforeConfirm failed is tried again.
      this.#markWritten(this.#written);
    }, this.#settings.heartbeatIntervalMs ?? 10_000);
  }

  /** Stops reading, waits until Kafka has what was read, confirms it to the slot and disconnects. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    await this.#writer?.flush().catch(() => undefined);
    this.#markWritten(this.#written);
    while (this.#confirming) await this.#confirming;
    await this.#stream?.stop();
    await this.#loop;
    await this.#release();
    this.#state = 'closed';
  }

  async #prepare(): Promise<void> {
    const { slotName: slot, publicationName } = this.#settings;
    const offsetsTopic = this.#settings.offsetsTopic ?? DEFAULT_OFFSETS_TOPIC;
    this.#admin = this.#clients.admin();
    await ensureOffsetsTopic(this.#admin, offsetsTopic);
    const offset = await readOffset(this.#clients, this.#admin, offsetsTopic, slot);
    this.#writer = new ChangeWriter({
      clients: this.#clients,
      admin: this.#admin,
      guarantee: this.#settings.guarantee,
      clientId: this.#settings.clientId,
      transactionalId: `cdc-${slot}`,
      offsetsTopic,
      slot,
      partitions: this.#settings.partitions ?? 1,
      ...(this.#settings.replicationFactor ? { replicationFactor: this.#settings.replicationFactor } : {}),
      onWritten: (lsn) => this.#markWritten(lsn),
      warn: this.#warn,
    });
    this.#control = await connect(this.#pg);
    await checkLogicalReplication(this.#control, this.#pg);
    await checkTables(this.#control, this.#tables);
    this.#database = (await this.#control.query<{ db: string }>('SELECT current_database() AS db'))
      .rows[0]!.db;
    await ensurePublication(this.#control, publicationName, this.#tables);

    let state = await this.#idleSlot(slot);
    if (state.exists && offset?.snapshot === 'in_progress' && this.#settings.snapshot === 'initial') {
      this.#warn(`the snapshot of slot ${slot} did not complete last time; taking it again from a new slot`);
      await dropSlot(this.#control, slot);
      state = { exists: false, active: false };
    }
    if (state.exists) {
      if (state.plugin !== 'pgoutput')
        throw new Error(
          `replication slot ${slot} uses the ${state.plugin} plugin; this capture needs pgoutput: choose another slotName`,
        );
      // Under exactly_once_v2 Kafka may be ahead of the slot: what it has is skipped.
      const resumeAt =
        offset?.lsn !== undefined && offset.lsn > (state.confirmed ?? 0n)
          ? offset.lsn
          : (state.confirmed ?? 0n);
      this.#written = resumeAt;
      this.#confirmed = state.confirmed ?? 0n;
      this.#appended = resumeAt;
      this.#resolveSnapshot();
      return;
    }
    const snapshot = this.#settings.snapshot === 'initial';
    if (snapshot) await this.#writer.append([], undefined, { snapshot: 'in_progress' });
    await this.#writer.flush();
    const created = await createSlot(this.#pg, slot, snapshot);
    try {
      this.#consistentPoint = created.consistentPoint;
      if (snapshot && created.snapshotName) {
        this.#snapshot = await TableSnapshot.open(
          this.#pg,
          created.snapshotName,
          this.#tables,
          (c) => new TypeCatalog(c),
        );
      }
    } finally {
      // Once imported, the snapshot lives in the reading transaction; the exporting connection may go.
      await created.connection.end().catch(() => undefined);
    }
    if (!snapshot) {
      await this.#writer.append([], undefined, { snapshot: 'completed' });
      await this.#writer.flush();
    }
    this.#written = created.consistentPoint;
    this.#confirmed = created.consistentPoint;
    this.#appended = created.consistentPoint;
    if (!this.#snapshot) this.#resolveSnapshot();
  }

  /** The slot's state, waiting a little for a walsender of a killed capture to let it go. */
  async #idleSlot(slot: string): Promise<Awaited<ReturnType<typeof slotState>>> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const state = await slotState(this.#control!, slot);
      if (!state.active) return state;
      if (Date.now() > deadline)
        throw new Error(
          `replication slot ${slot} is in use by another connection: stop the other capture that reads it, or give this one another slotName`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  #markWritten(lsn: bigint): void {
    if (lsn > this.#written) this.#written = lsn;
    if (this.#written <= this.#confirmed) return;
    if (this.#confirming) {
      this.#confirmAgain = true;
      return;
    }
    const target = this.#written;
    const work = this.#settings.beforeConfirm?.(target);
    if (!work) {
      this.#confirmed = target;
      this.#stream?.confirm(target);
      return;
    }
    this.#confirming = this.#confirmWritten(work, target).finally(() => {
      this.#confirming = undefined;
      // Written while the last round was ending: another round.
      if (this.#confirmAgain) {
        this.#confirmAgain = false;
        this.#markWritten(this.#written);
      }
    });
  }

  /** Confirms `target` once the work `beforeConfirm` started for it is done. */
  async #confirmWritten(work: Promise<void>, target: bigint): Promise<void> {
    try {
      await work;
    } catch (e) {
      this.#warn(`the slot stays at ${formatLsn(this.#confirmed)} for now: ${(e as Error).message}`);
      // Tried again with the next write or heartbeat.
      this.#confirmAgain = false;
      return;
    }
    this.#confirmed = target;
    this.#stream?.confirm(target);
  }

  async #run(): Promise<void> {
    try {
      if (this.#snapshot) {
        this.#state = 'snapshot';
        await this.#takeSnapshot(this.#snapshot);
        if (this.#closing) return;
      }
      await this.#stream_();
    } catch (e) {
      if (this.#closing) return;
      this.#failure = e as Error;
      this.#state = 'failed';
      this.#warn(`the capture stopped: ${(e as Error).message}`);
    }
  }

  async #takeSnapshot(snapshot: TableSnapshot): Promise<void> {
    const writer = this.#writer!;
    try {
      let chunk: ProducedRecord[] = [];
      // One time and one transaction for the whole snapshot, as Debezium's.
      const commitMicros = BigInt(Date.now()) * 1000n;
      const txId = await snapshot.transactionId();
      for await (const { shape, row, mark } of snapshot.rows()) {
        if (this.#closing) return;
        const position: ChangePosition = {
          lsn: this.#consistentPoint,
          lastCommitLsn: null,
          txId,
          commitMicros,
          snapshot: mark,
        };
        chunk.push(
          ...this.#settings.toRecords({ op: 'r', shape, before: null, after: row, position }, this.#database),
        );
        if (chunk.length >= 1_000) {
          await writer.append(chunk, undefined, { snapshot: 'in_progress' });
          chunk = [];
        }
      }
      this.#settings.onTransactionEnd?.(this.#consistentPoint);
      await writer.append(chunk, this.#consistentPoint, { snapshot: 'completed' });
      await writer.flush();
      this.#resolveSnapshot();
    } finally {
      this.#snapshot = undefined;
      await snapshot.close();
    }
  }

  /** Streams from the slot, reconnecting while PostgreSQL is away, until closed. */
  async #stream_(): Promise<void> {
    for (let attempt = 0; !this.#closing; attempt++) {
      const stream = new WalStream({
        connection: this.#pg,
        slot: this.#settings.slotName,
        publication: this.#settings.publicationName,
      });
      try {
        await stream.start();
        this.#stream = stream;
        this.#state = 'streaming';
        stream.confirm(this.#confirmed);
        if (attempt > 0) this.#warn('replication stream restored');
        attempt = 0;
        await this.#consume(stream);
      } catch (e) {
        if (this.#closing || e instanceof StreamStopped) return;
        if (e instanceof CaptureError) throw e;
        this.#state = 'reconnecting';
        const delay = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5));
        this.#warn(
          `the replication stream from PostgreSQL failed (${(e as Error).message}); reconnecting in ${delay} ms, resuming at ${formatLsn(this.#written)}`,
        );
        await stream.stop().catch(() => undefined);
        if (this.#stream === stream) this.#stream = undefined;
        await new Promise((r) => setTimeout(r, delay));
        if (!this.#closing) await this.#checkSlotStillThere();
      }
    }
  }

  async #checkSlotStillThere(): Promise<void> {
    try {
      await this.#control?.end().catch(() => undefined);
      this.#control = await connect(this.#pg);
      const state = await slotState(this.#control, this.#settings.slotName);
      if (!state.exists)
        throw new CaptureError(
          `replication slot ${this.#settings.slotName} no longer exists, so the changes since ${formatLsn(this.#written)} cannot be read: start the capture again with snapshot 'initial' to take a new snapshot`,
        );
    } catch (e) {
      if (e instanceof CaptureError) throw e;
      // PostgreSQL is still away: the next attempt to stream will say so.
    }
  }

  async #consume(stream: WalStream): Promise<void> {
    const shapes = new Map<number, TableShape>();
    const catalog = new TypeCatalog(this.#control!);
    const writer = this.#writer!;
    let tx:
      | { xid: number; commitLsn: bigint; commitMicros: bigint; records: ProducedRecord[]; skip: boolean }
      | undefined;
    let lastCommitLsn: bigint | null = null;
    for (;;) {
      const item = await stream.next();
      if (this.#closing) return;
      if (item.kind === 'keepalive') {
        // Nothing of ours outstanding: everything PostgreSQL sent before this point is settled.
        if (!tx && !writer.busy()) this.#markWritten(item.walEnd);
        continue;
      }
      const m = item.message;
      switch (m.tag) {
        case 'begin': {
          const commitLsn = m.commitLsn ? parseLsn(m.commitLsn) : item.lsn;
          tx = {
            xid: m.xid,
            commitLsn,
            commitMicros: BigInt(m.commitTime as bigint),
            records: [],
            skip: commitLsn < this.#appended,
          };
          break;
        }
        case 'relation':
          shapes.set(m.relationOid, await shapeFromRelation(m, catalog));
          break;
        case 'insert':
        case 'update':
        case 'delete': {
          if (!tx) break;
          const shape = shapes.get(m.relation.relationOid);
          if (!shape)
            throw new Error(
              `a change of relation ${m.relation.relationOid} came before its relation message`,
            );
          const position: ChangePosition = {
            lsn: item.lsn,
            lastCommitLsn,
            txId: tx.xid,
            commitMicros: tx.commitMicros,
            snapshot: 'false',
          };
          const change: RowChange =
            m.tag === 'insert'
              ? { op: 'c', shape, before: null, after: m.new as Tuple, position }
              : m.tag === 'update'
                ? {
                    op: 'u',
                    shape,
                    before: ((m.old ?? m.key) as Tuple | null) ?? null,
                    after: m.new as Tuple,
                    position,
                  }
                : { op: 'd', shape, before: (m.old ?? m.key) as Tuple, after: null, position };
          // A skipped transaction (Kafka has it) still goes through the mapping, for its side effects.
          const records = this.#settings.toRecords(change, this.#database);
          if (!tx.skip) tx.records.push(...records);
          break;
        }
        case 'commit': {
          if (!tx) break;
          const end = m.commitEndLsn ? parseLsn(m.commitEndLsn) : tx.commitLsn + 1n;
          this.#settings.onTransactionEnd?.(end);
          if (tx.skip) this.#markWritten(end);
          else {
            this.#appended = end;
            if (tx.records.length > 0 || writer.busy()) await writer.append(tx.records, end);
            else this.#markWritten(end);
          }
          lastCommitLsn = end;
          tx = undefined;
          break;
        }
        default:
          // truncate (skipped, as Debezium's skipped.operations=t), origin, type and logical messages.
          break;
      }
    }
  }

  async #release(): Promise<void> {
    clearInterval(this.#heartbeat);
    await this.#snapshot?.close();
    await this.#writer?.close();
    await this.#admin?.close().catch(() => undefined);
    await this.#control?.end().catch(() => undefined);
  }
}

/** A failure that reconnecting cannot mend. */
class CaptureError extends Error {}

/** A default client id: the process and host, so the walsender's application_name says who reads. */
export function defaultClientId(kind: string, slot: string): string {
  return `${kind}-${slot}-${hostname()}-${process.pid}`.slice(0, 63);
}
