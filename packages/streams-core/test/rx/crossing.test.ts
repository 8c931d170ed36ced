/**
 * A KStream as an Observable on the in-memory cluster: the topology commits a record only once
 * the subscriber acknowledged it and all before it, a failed record goes to the exception
 * handler, records wait for a late subscriber, and a second subscriber is refused.
 */
import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { type StreamElement, streamToObservable } from '@kafka-pattern/streams-core/rx';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { eventually, rec, useHarness } from '../support/harness.ts';

const harness = useHarness();
const S = Serdes.String();

function setup(options: { timeoutMs?: number } = {}) {
  const h = harness();
  h.kafka.createTopic('in', 1);
  h.kafka.createTopic('in-dlt', 1);
  const b = new StreamsBuilder();
  const records$ = streamToObservable(
    b.stream('in', { key: S, value: S }).mapValues((v) => v.toUpperCase()),
    options,
  );
  const app = h.app(b.build(), { applicationId: 'rx-cross', commitIntervalMs: 0 });
  return { kafka: h.kafka, app, records$ };
}

describe('streamToObservable', () => {
  it('commits a record only after the subscriber acknowledged it and every record before it', async () => {
    const { kafka, app, records$ } = setup();
    const seen: StreamElement<string, string>[] = [];
    const subscription = records$.subscribe((e) => seen.push(e));
    await app.start();
    kafka.produce([rec('in', 'a', 'a1'), rec('in', 'b', 'b1'), rec('in', 'c', 'c1')]);
    await eventually(() => seen.length === 3, 'three records delivered');
    expect(seen.map((e) => [e.key, e.value])).toEqual([
      ['a', 'A1'],
      ['b', 'B1'],
      ['c', 'C1'],
    ]);
    seen[1]!.acknowledge();
    seen[2]!.acknowledge();
    await new Promise((r) => setTimeout(r, 100));
    expect(kafka.committedOffset('rx-cross', 'in', 0) ?? 0n).toBe(0n);
    seen[0]!.acknowledge();
    await eventually(() => kafka.committedOffset('rx-cross', 'in', 0) === 3n, 'offset 3 committed');
    subscription.unsubscribe();
  });

  it('sends a failed record to the dead-letter topic and goes on', async () => {
    const { kafka, app, records$ } = setup();
    records$.subscribe((e) => (e.value === 'BAD' ? e.fail(new Error('cannot use it')) : e.acknowledge()));
    await app.start();
    kafka.produce([rec('in', 'a', 'bad'), rec('in', 'b', 'good')]);
    await eventually(() => kafka.committedOffset('rx-cross', 'in', 0) === 2n, 'offset 2 committed');
    const dlt = kafka.records('in-dlt');
    expect(dlt.map((r) => r.value?.toString())).toEqual(['bad']);
    expect(dlt[0]!.headers.getString('kafka_dlt-exception-message')).toBe('cannot use it');
  });

  it('holds records for a subscriber that comes late, and refuses a second one at a time', async () => {
    const { kafka, app, records$ } = setup({ timeoutMs: 4_000 });
    await app.start();
    kafka.produce([rec('in', 'a', 'x'), rec('in', 'b', 'y')]);
    await new Promise((r) => setTimeout(r, 100));
    expect(kafka.committedOffset('rx-cross', 'in', 0) ?? 0n).toBe(0n);
    const elements: StreamElement<string, string>[] = [];
    const subscription = records$.subscribe((e) => elements.push(e));
    expect(elements.map((e) => e.value)).toEqual(['X', 'Y']);
    await expect(firstValueFrom(records$)).rejects.toThrow(/one subscriber at a time.*share\(\)/);
    for (const e of elements) e.acknowledge();
    await eventually(() => kafka.committedOffset('rx-cross', 'in', 0) === 2n, 'offset 2 committed');
    subscription.unsubscribe();
  });
});
