/**
 * KafkaReceiver.receiveExactlyOnce in a child process, SIGKILLed three times mid-stream and
 * restarted with the same transactional id each time: under read_committed, the output holds
 * exactly one record per input record (none lost, none twice), though each killed incarnation
 * left an open transaction with sent outputs and added offsets behind.
 *
 * Each kill lands mid-stream and mid-transaction by construction, not by timing: once an
 * incarnation has committed 2,000 records of its own, its next transaction stops before its
 * commit (outputs sent, offsets added) and says so, and the test kills it then; the group's
 * committed offsets must still be short of the end of the input, and read_uncommitted must show
 * exactly the held transactions' records beyond the committed output (they were written, then
 * aborted when the next incarnation registered the transactional id). The last incarnation runs until
 * the committed offsets reach the end, and then closes.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AppProcess, killAll, readCommitted } from '../faults/support.ts';
import { collect, createTopic, eventually, produce, record, uniqueName } from '../support/kafka.ts';
import type { EosAppSpec } from './fixtures/eos-app.ts';
import { committed, endOffsets, sum } from './support.ts';

const APP = fileURLToPath(new URL('./fixtures/eos-app.ts', import.meta.url));
const PARTITIONS = 3;
const RECORDS = 30_000;
const KILLS = 3;
/** Records an incarnation commits before it is killed. */
const PROGRESS = 2_000;

afterEach(async () => {
  await killAll();
});

describe('receiveExactlyOnce under SIGKILL', () => {
  it('leaves exactly one output per input record after three kills', async () => {
    const input = await createTopic(uniqueName('rx-eos-in'), PARTITIONS);
    const output = await createTopic(uniqueName('rx-eos-out'), PARTITIONS);
    for (let i = 0; i < RECORDS; i += 10_000)
      await produce(Array.from({ length: 10_000 }, (_, j) => record(input, `k${(i + j) % 97}`, `${i + j}`)));
    const spec: EosAppSpec = {
      input,
      output,
      groupId: uniqueName('rx-eos-g'),
      transactionalId: uniqueName('rx-eos-tx'),
    };
    const committedSum = async () => sum(await committed(spec.groupId, input, PARTITIONS));

    const atKill: number[] = [];
    const heldRecords: number[] = [];
    for (let k = 1; k <= KILLS; k++) {
      const app = new AppProcess({ ...spec, holdAfter: PROGRESS }, `rx-eos-${k}`, APP);
      const holding = await app.waitForEvent(
        (e) => e.event === 'holding',
        90_000,
        `a transaction held open after ${PROGRESS} records`,
      );
      await app.kill();
      const done = await committedSum();
      expect(done, `incarnation ${k} was killed mid-stream`).toBeLessThan(RECORDS);
      atKill.push(done);
      heldRecords.push(holding.records as number);
    }

    const last = new AppProcess(spec, 'rx-eos-last', APP);
    const ends = await endOffsets(input, PARTITIONS);
    await eventually(
      async () => {
        const c = await committed(spec.groupId, input, PARTITIONS);
        return c.every((o, i) => o === ends[i]) ? true : undefined;
      },
      120_000,
      'all input committed by the last incarnation',
    );
    expect(await last.stop()).toBe(true);

    const out = await readCommitted(output);
    const perInput = new Map<string, number>();
    for (const r of out) {
      const [p, o] = r.value!.toString().split(':');
      const key = `${p}:${o}`;
      perInput.set(key, (perInput.get(key) ?? 0) + 1);
    }
    const twice = [...perInput.entries()].filter(([, n]) => n > 1);
    // Records of transactions the kills left open (aborted when the next incarnation registered).
    const written = (await collect(output, { isolationLevel: 'read_uncommitted' })).length;
    console.log(
      `rx eos: committed input at the kills ${atKill.join(', ')}; ${out.length} committed outputs for ${RECORDS} inputs, ${twice.length} inputs twice; ${written - out.length} records of aborted transactions read back, ${heldRecords.join(', ')} records in the held transactions`,
    );
    expect(written - out.length).toBe(heldRecords.reduce((a, b) => a + b, 0));
    expect(twice).toEqual([]);
    expect(perInput.size).toBe(RECORDS);
    expect(out.length).toBe(RECORDS);
    for (let i = 1; i < atKill.length; i++) expect(atKill[i]!).toBeGreaterThan(atKill[i - 1]!);
  }, 400_000);
});
