/**
 * What the CDC fault tests share: a table of versioned rows and a writer that commits a stream of
 * transactions into it (knowing, also across a PostgreSQL restart, which of them committed), the
 * change events read back from Kafka and checked per key against the committed sequence, a
 * test_decoding slot that tells each transaction's commit end LSN (to judge the capture's
 * confirmed_flush_lsn against what Kafka had), the capture child process, and a PostgreSQL
 * restart done as scripts/stack.sh does it.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { dropCapture } from '@kafka-pattern/topologies/cdc';
import pg from 'pg';
import { bootstrapServers, collect, createTopics, deleteTopics, uniqueName } from '../support/kafka.ts';
import { databaseUrl } from '../support/services.ts';
import type { Teardown } from '../support/teardown.ts';
import type { CdcAppSpec } from './fixtures/cdc-app.ts';
import { AppProcess, endOffsets, killAll, sleep, waitUntil } from './support.ts';

export const CDC_APP = fileURLToPath(new URL('./fixtures/cdc-app.ts', import.meta.url));

/** Appends `value` to the list under `key`, creating it. */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export const parseLsn = (text: string): bigint => {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};
export const formatLsn = (lsn: bigint): string =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;

// ---------------------------------------------------------------------------------------------
// The captured table and its writer
// ---------------------------------------------------------------------------------------------

/**
 * A captured table `public.<table>` (k int key, version int, REPLICA IDENTITY FULL so a delete
 * carries the version it deleted) and its uncaptured companion `<table>_tx`, one row per
 * transaction, which tells after a lost connection whether a COMMIT went through.
 */
export async function createVersionTable(admin: pg.Pool, table: string): Promise<void> {
  await admin.query(`CREATE TABLE ${table} (k int PRIMARY KEY, version int NOT NULL, note text)`);
  await admin.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
  await admin.query(`CREATE TABLE ${table}_tx (id bigint PRIMARY KEY)`);
}

export async function dropVersionTable(admin: pg.Pool, table: string): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_tx`);
}

/** The event label of a change: op and version, `c1`, `u2`, `d2` (unique per key). */
type Label = string;

/**
 * Commits transactions of 1-4 changes on keys 0..keys-1: an absent key is inserted with the next
 * version of its life, a present one updated (version + 1) or sometimes deleted; a few
 * transactions are rolled back. `expected` holds, per key, the labels of committed changes in
 * commit order. A connection lost mid-transaction is re-opened (waiting while PostgreSQL is
 * away); a transaction whose COMMIT got no answer counts as committed exactly when its `_tx` row
 * is there.
 */
export class VersionWriter {
  readonly expected = new Map<number, Label[]>();
  committed = 0;
  rolledBack = 0;
  /** Transactions that failed on a lost connection and did not commit. */
  lost = 0;
  /** Commits that got no answer and were found committed. */
  inDoubtCommitted = 0;
  reconnects = 0;
  #client: pg.Client | undefined;
  #present = new Map<number, number>();
  #lastVersion = new Map<number, number>();
  #txId = 0;
  #stop = false;
  #loop: Promise<void> | undefined;
  #rng: () => number;

  readonly table: string;
  readonly keys: number;

  constructor(table: string, keys: number, seed = 1) {
    this.table = table;
    this.keys = keys;
    let s = seed >>> 0 || 1;
    this.#rng = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 2 ** 32;
    };
  }

  get changes(): number {
    let n = 0;
    for (const l of this.expected.values()) n += l.length;
    return n;
  }

  /** Keeps committing until stop(), a transaction every `paceMs`. */
  start(paceMs: number): void {
    this.#stop = false;
    this.#loop = (async () => {
      while (!this.#stop) {
        await this.transaction();
        if (paceMs > 0) await sleep(paceMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#loop;
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
  }

  async #connect(): Promise<pg.Client> {
    for (;;) {
      const client = new pg.Client({ connectionString: databaseUrl(), application_name: 'cdc-fault-writer' });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return client;
      } catch {
        await client.end().catch(() => undefined);
        await sleep(200);
      }
    }
  }

  /** One transaction; resolves once its outcome is known. */
  async transaction(rollback = this.#rng() < 0.05): Promise<void> {
    const id = ++this.#txId;
    const n = 1 + Math.floor(this.#rng() * 4);
    const keys = new Set<number>();
    while (keys.size < n) keys.add(Math.floor(this.#rng() * this.keys));
    const present = new Map(this.#present);
    const last = new Map(this.#lastVersion);
    const labels: [number, Label][] = [];
    const statements: [string, unknown[]][] = [[`INSERT INTO ${this.table}_tx (id) VALUES ($1)`, [id]]];
    for (const k of keys) {
      const v = present.get(k);
      if (v === undefined) {
        const next = (last.get(k) ?? 0) + 1;
        statements.push([
          `INSERT INTO ${this.table} (k, version, note) VALUES ($1, $2, $3)`,
          [k, next, `tx ${id}`],
        ]);
        present.set(k, next);
        last.set(k, next);
        labels.push([k, `c${next}`]);
      } else if (this.#rng() < 0.85) {
        statements.push([
          `UPDATE ${this.table} SET version = version + 1, note = $2 WHERE k = $1`,
          [k, `tx ${id}`],
        ]);
        present.set(k, v + 1);
        last.set(k, v + 1);
        labels.push([k, `u${v + 1}`]);
      } else {
        statements.push([`DELETE FROM ${this.table} WHERE k = $1`, [k]]);
        present.delete(k);
        labels.push([k, `d${v}`]);
      }
    }
    let commitSent = false;
    try {
      this.#client ??= await this.#connect();
      const c = this.#client;
      await c.query('BEGIN');
      for (const [sql, params] of statements) await c.query(sql, params);
      if (rollback) {
        await c.query('ROLLBACK');
        this.rolledBack++;
        return;
      }
      commitSent = true;
      const r = await c.query('COMMIT');
      if (r.command !== 'COMMIT') throw new Error(`COMMIT answered ${r.command}`);
    } catch (e) {
      await this.#client?.end().catch(() => undefined);
      this.#client = undefined;
      this.reconnects++;
      if (!commitSent) {
        if (rollback) this.rolledBack++;
        else this.lost++;
        return;
      }
      this.#client = await this.#connect();
      const found = await this.#client.query(`SELECT 1 FROM ${this.table}_tx WHERE id = $1`, [id]);
      if (found.rowCount === 0) {
        this.lost++;
        return;
      }
      this.inDoubtCommitted++;
      void e;
    }
    this.committed++;
    this.#present = present;
    this.#lastVersion = last;
    for (const [k, label] of labels) {
      pushTo(this.expected, k, label);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The change events on Kafka
// ---------------------------------------------------------------------------------------------

export interface ChangeRow {
  partition: number;
  offset: bigint;
  key: number;
  /** null for a tombstone. */
  label: Label | null;
  txId: number | null;
  lsn: bigint | null;
}

/** Debezium change events of the version table, in partition and offset order. */
export function decodeChanges(records: readonly ConsumedRecord[]): ChangeRow[] {
  return [...records]
    .sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
    .map((r) => {
      const key = (JSON.parse(r.key!.toString()) as { k: number }).k;
      if (r.value === null)
        return { partition: r.partition, offset: r.offset, key, label: null, txId: null, lsn: null };
      const v = JSON.parse(r.value.toString()) as {
        op: string;
        before: { version: number } | null;
        after: { version: number } | null;
        source: { txId: number; lsn: number };
      };
      const version = v.op === 'd' ? v.before!.version : v.after!.version;
      return {
        partition: r.partition,
        offset: r.offset,
        key,
        label: `${v.op}${version}`,
        txId: v.source.txId,
        lsn: BigInt(v.source.lsn),
      };
    });
}

export async function readChanges(
  topic: string,
  isolationLevel: 'read_committed' | 'read_uncommitted',
): Promise<ChangeRow[]> {
  return decodeChanges(await collect(topic, { isolationLevel, timeoutMs: 30_000 }));
}

export interface SequenceCheck {
  keys: number;
  events: number;
  /** Records that repeat a change already seen for their key. */
  repeats: number;
  /** Places where a key's sequence went back to an earlier change and repeated from there. */
  restarts: number;
  maxRestartsPerKey: number;
  /** A key whose sequence skipped a change, or showed one never committed. */
  violations: string[];
  /** Keys whose sequence stops short of the last committed change. */
  incomplete: string[];
  /** Keys on Kafka without a committed change. */
  unexpected: number[];
  /** Keys found on more than one partition. */
  splitKeys: number[];
  /** Deletes without their tombstone right after. */
  missingTombstones: number;
}

/**
 * Per key, the labels on Kafka against the committed sequence: each record must be the next
 * committed change or, after a restart of the capture, go back to an earlier one and repeat the
 * run from there in order (an exact repeat of a contiguous run). Nothing may be skipped and the
 * sequence must reach the last committed change.
 */
export function checkSequences(
  rows: readonly ChangeRow[],
  expected: ReadonlyMap<number, readonly Label[]>,
  ignoreKeys: ReadonlySet<number> = new Set(),
): SequenceCheck {
  const byKey = new Map<number, ChangeRow[]>();
  const partitionOf = new Map<number, number>();
  const split = new Set<number>();
  let missingTombstones = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (ignoreKeys.has(r.key)) continue;
    const p = partitionOf.get(r.key);
    if (p === undefined) partitionOf.set(r.key, r.partition);
    else if (p !== r.partition) split.add(r.key);
    if (r.label === null) continue;
    if (r.label.startsWith('d')) {
      const next = rows[i + 1];
      if (!next || next.partition !== r.partition || next.key !== r.key || next.label !== null)
        missingTombstones++;
    }
    pushTo(byKey, r.key, r);
  }
  const out: SequenceCheck = {
    keys: 0,
    events: 0,
    repeats: 0,
    restarts: 0,
    maxRestartsPerKey: 0,
    violations: [],
    incomplete: [],
    unexpected: [...byKey.keys()].filter((k) => !expected.has(k)),
    splitKeys: [...split],
    missingTombstones,
  };
  for (const [k, want] of expected) {
    out.keys++;
    out.events += want.length;
    const seen = byKey.get(k) ?? [];
    let cur = 0;
    let max = 0;
    let restarts = 0;
    for (const r of seen) {
      const label = r.label!;
      if (cur < want.length && want[cur] === label) {
        if (cur < max) out.repeats++;
        cur++;
        max = Math.max(max, cur);
        continue;
      }
      const q = want.indexOf(label);
      if (q >= 0 && q < cur) {
        out.repeats++;
        restarts++;
        cur = q + 1;
        continue;
      }
      out.violations.push(
        `key ${k}: ${label} at p${r.partition}@${r.offset} where ${want[cur] ?? 'nothing more'} was due (${q < 0 ? 'never committed' : `skips ${want.slice(cur, q).join(',')}`})`,
      );
      break;
    }
    if (cur < want.length && !out.violations.some((v) => v.startsWith(`key ${k}:`)))
      out.incomplete.push(`key ${k}: reached ${cur}/${want.length} (next ${want[cur]})`);
    out.restarts += restarts;
    out.maxRestartsPerKey = Math.max(out.maxRestartsPerKey, restarts);
  }
  return out;
}

export function sequenceFigures(c: SequenceCheck): Record<string, unknown> {
  return {
    keys: c.keys,
    committedChanges: c.events,
    repeats: c.repeats,
    restarts: c.restarts,
    maxRestartsPerKey: c.maxRestartsPerKey,
    violations: c.violations.length,
    incomplete: c.incomplete.length,
  };
}

/** Whether every committed change of every key is on Kafka (the last one per key is enough, in order). */
export function caughtUp(
  rows: readonly ChangeRow[],
  expected: ReadonlyMap<number, readonly Label[]>,
): boolean {
  const c = checkSequences(rows, expected);
  return c.incomplete.length === 0 && c.violations.length === 0;
}

// ---------------------------------------------------------------------------------------------
// The oracle: commit end LSNs from a test_decoding slot
// ---------------------------------------------------------------------------------------------

export interface Commit {
  xid: number;
  /** The commit record's end: the position a capture confirms once Kafka has the transaction. */
  end: bigint;
  /** Change LSNs of the captured table in this transaction. */
  changes: bigint[];
}

export async function createOracleSlot(admin: pg.Pool, slot: string): Promise<void> {
  await admin.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [slot]);
}

/** The committed transactions that changed `table`, in commit order, as the oracle slot decodes them. */
export async function oracleCommits(admin: pg.Pool, slot: string, table: string): Promise<Commit[]> {
  const { rows } = await admin.query<{ lsn: string; xid: string; data: string }>(
    `SELECT lsn, xid, data FROM pg_logical_slot_peek_changes($1, NULL, NULL, 'include-xids', '1', 'skip-empty-xacts', '1')`,
    [slot],
  );
  const prefix = `table public.${table}:`;
  const open = new Map<number, bigint[]>();
  const out: Commit[] = [];
  for (const r of rows) {
    const xid = Number(r.xid);
    if (r.data.startsWith(prefix)) {
      pushTo(open, xid, parseLsn(r.lsn));
    } else if (r.data.startsWith('COMMIT')) {
      const changes = open.get(xid);
      if (changes) out.push({ xid, end: parseLsn(r.lsn), changes });
      open.delete(xid);
    }
  }
  return out;
}

/** A confirmed position and the Kafka end offsets taken right after it (the capture stopped). */
export interface ConfirmedAt {
  what: string;
  confirmed: bigint;
  ends: bigint[];
}

/**
 * Transactions the slot had confirmed (end LSN at or before `confirmed`) whose changes Kafka
 * did not all have at the time (below the end offsets then taken): each would be lost.
 */
export function confirmedButMissing(
  rows: readonly ChangeRow[],
  commits: readonly Commit[],
  at: ConfirmedAt,
): string[] {
  const there = new Set<bigint>();
  for (const r of rows) if (r.lsn !== null && r.offset < (at.ends[r.partition] ?? 0n)) there.add(r.lsn);
  const out: string[] = [];
  for (const c of commits) {
    if (c.end > at.confirmed) continue;
    const missing = c.changes.filter((l) => !there.has(l));
    if (missing.length > 0)
      out.push(
        `${at.what}: xid ${c.xid} (end ${formatLsn(c.end)}) confirmed at ${formatLsn(at.confirmed)}, ${missing.length} of its changes not in Kafka`,
      );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The slot
// ---------------------------------------------------------------------------------------------

export async function slotRow(
  admin: pg.Pool,
  slot: string,
): Promise<{ active: boolean; confirmed: bigint } | undefined> {
  const { rows } = await admin.query<{ active: boolean; confirmed_flush_lsn: string | null }>(
    'SELECT active, confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { active: row.active, confirmed: row.confirmed_flush_lsn ? parseLsn(row.confirmed_flush_lsn) : 0n };
}

/** The slot's position once no walsender holds it (the capture that read it is gone), with Kafka's end offsets right after. */
export async function confirmedAfterStop(
  admin: pg.Pool,
  slot: string,
  topic: string,
  what: string,
): Promise<ConfirmedAt> {
  const row = await waitUntil(
    async () => {
      const r = await slotRow(admin, slot);
      return r && !r.active ? r : undefined;
    },
    30_000,
    `slot ${slot} released`,
    100,
  );
  return { what, confirmed: row.confirmed, ends: await endOffsets(topic) };
}

// ---------------------------------------------------------------------------------------------
// One case's names, objects and teardown
// ---------------------------------------------------------------------------------------------

export interface CdcCase {
  name: string;
  table: string;
  slot: string;
  publication: string;
  oracle: string;
  offsetsTopic: string;
  topicPrefix: string;
  admin: pg.Pool;
  spec(guarantee: CdcAppSpec['guarantee'], more?: Partial<CdcAppSpec>): CdcAppSpec;
}

export const PARTITIONS = 3;

/**
 * Names for one case, a pool, the version table and the oracle slot; everything removed after
 * the test (children killed first, then slots, publication, tables, topics).
 */
export async function cdcCase(teardown: Teardown, tag: string, extraTopics: string[] = []): Promise<CdcCase> {
  const id = uniqueName(tag).replaceAll('-', '_');
  const table = `t_${id}`;
  const slot = `s_${id}`;
  const publication = `p_${id}`;
  const oracle = `o_${id}`;
  const offsetsTopic = `${tag}-offsets-${id}`;
  const topicPrefix = `${tag}-${id}`;
  const admin = new pg.Pool({ connectionString: databaseUrl(), max: 3 });
  admin.on('error', () => undefined);
  const topics = [offsetsTopic, `${topicPrefix}.public.${table}`, ...extraTopics];
  teardown.push(async () => {
    const errors: unknown[] = [];
    const step = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    await step(() => dropCapture(databaseUrl(), { slotName: slot, publicationName: publication }));
    await step(() =>
      admin.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
        [oracle],
      ),
    );
    await step(() => dropVersionTable(admin, table));
    await step(() => deleteTopics(topics));
    await admin.end().catch(() => undefined);
    if (errors.length > 0) console.warn(`[faults] teardown of ${tag}: ${errors.map(String).join('; ')}`);
  });
  // Children go first (teardown runs last-registered first): no capture holds the slot while it is dropped.
  teardown.push(() => killAll());
  await createVersionTable(admin, table);
  await createTopics([{ name: `${topicPrefix}.public.${table}`, partitions: PARTITIONS }]);
  return {
    name: tag,
    table,
    slot,
    publication,
    oracle,
    offsetsTopic,
    topicPrefix,
    admin,
    spec: (guarantee, more = {}) => ({
      kind: 'cdc',
      postgres: databaseUrl(),
      bootstrapServers: bootstrapServers(),
      slotName: slot,
      publicationName: publication,
      guarantee,
      offsetsTopic,
      partitions: PARTITIONS,
      topicPrefix,
      tables: [`public.${table}`],
      ...more,
    }),
  };
}

/** Starts the capture child and waits until it has started (slot there) and streams. */
export async function startCapture(spec: CdcAppSpec, name: string): Promise<AppProcess> {
  const app = new AppProcess(spec, name, CDC_APP);
  await app.waitForEvent((e) => e.event === 'started', 60_000, 'started');
  await app.waitForEvent((e) => e.event === 'state' && e.state === 'streaming', 60_000, 'streaming');
  return app;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL restart, as scripts/stack.sh does it
// ---------------------------------------------------------------------------------------------

/**
 * Runs `pg_ctlcluster --skip-systemctl-redirect <version> main <command>` (the newest cluster
 * under /etc/postgresql, as stack.sh's pg_ctl) with every descriptor above 2 closed and the
 * output in a file, so the postmaster it starts keeps no pipe or lock of this process open.
 */
export async function pgCtl(command: 'restart' | 'start'): Promise<string> {
  const log = join(tmpdir(), `kp-pgctl-${process.pid}-${Date.now()}.log`);
  const fd = openSync(log, 'w');
  const script = `for f in /proc/$$/fd/*; do n=\${f##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"; done; exec pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main "$0"`;
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('bash', ['-c', script, command], { stdio: ['ignore', fd, fd] });
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    const out = readFileSync(log, 'utf8');
    if (code !== 0) throw new Error(`pg_ctlcluster ${command} exited ${code}: ${out}`);
    return out;
  } finally {
    closeSync(fd);
    rmSync(log, { force: true });
  }
}

export async function postgresReady(): Promise<boolean> {
  const c = new pg.Client({ connectionString: databaseUrl(), connectionTimeoutMillis: 2_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** For teardown: PostgreSQL answering again, started if it is not. */
export async function ensurePostgresUp(): Promise<void> {
  if (await postgresReady()) return;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await postgresReady()) return;
    await sleep(500);
  }
  await pgCtl('start').catch(() => undefined);
  await waitUntil(async () => ((await postgresReady()) ? true : undefined), 60_000, 'PostgreSQL up', 500);
}
