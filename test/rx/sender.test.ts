/**
 * KafkaSender on the broker: one result per record, in input order, with the offset the record
 * was written at (checked by reading the topic back); a failed record ends the results by
 * default, or gets an error result of its own with stopOnError false while the others are
 * written.
 */
import { Serdes, type Serializer } from '@kafka-pattern/streams-core';
import { KafkaSender, type SenderResult } from '@kafka-pattern/streams-core/rx';
import { firstValueFrom, from, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapServers, collect, createTopic, uniqueName } from '../support/kafka.ts';

const S = Serdes.String();
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A value serializer that refuses the value "poison". */
const picky: Serializer<string> = {
  serialize(topic, data) {
    if (data === 'poison') throw new Error('cannot serialize "poison"');
    return S.serialize(topic, data);
  },
};

describe('KafkaSender', () => {
  it('reports every record with the offset it was written at, in input order', async () => {
    const topic = await createTopic(uniqueName('rx-send'), 3);
    const sender = KafkaSender.create({
      bootstrapServers: bootstrapServers(),
      keySerializer: S,
      valueSerializer: S,
      maxInFlight: 64,
    });
    cleanup.push(() => sender.close());
    const input = Array.from({ length: 2_000 }, (_, i) => ({
      topic,
      key: i % 10 === 0 ? null : `key-${i % 37}`,
      value: `value-${i}`,
      correlationMetadata: i,
    }));
    const results = await firstValueFrom(sender.send(from(input)).pipe(toArray()));
    expect(results.map((r) => r.correlationMetadata)).toEqual(input.map((r) => r.correlationMetadata));
    expect(results.every((r) => r.error === undefined)).toBe(true);
    const written = new Map(
      (await collect(topic)).map((r) => [`${r.partition}:${r.offset}`, r.value!.toString()]),
    );
    expect(written.size).toBe(2_000);
    for (const r of results) {
      const m = r.recordMetadata!;
      expect(written.get(`${m.partition}:${m.offset}`)).toBe(`value-${r.correlationMetadata}`);
    }
  });

  it('ends the results with the first error by default', async () => {
    const topic = await createTopic(uniqueName('rx-send-stop'), 1);
    const sender = KafkaSender.create({
      bootstrapServers: bootstrapServers(),
      keySerializer: S,
      valueSerializer: picky,
      maxInFlight: 1,
    });
    cleanup.push(() => sender.close());
    const input = ['a', 'b', 'poison', 'c'].map((v) => ({ topic, key: v, value: v, correlationMetadata: v }));
    const seen: SenderResult<string>[] = [];
    const error = await new Promise<Error>((resolve, reject) =>
      sender.send(from(input)).subscribe({
        next: (r) => seen.push(r),
        error: resolve,
        complete: () => reject(new Error('completed')),
      }),
    );
    expect(error.message).toBe('cannot serialize "poison"');
    expect(seen.map((r) => r.correlationMetadata)).toEqual(['a', 'b']);
    expect((await collect(topic)).map((r) => r.value!.toString())).toEqual(['a', 'b']);
  });

  it('delivers errors per record and goes on with stopOnError false', async () => {
    const topic = await createTopic(uniqueName('rx-send-go'), 1);
    const missing = uniqueName('rx-send-missing');
    const sender = KafkaSender.create({
      bootstrapServers: bootstrapServers(),
      keySerializer: S,
      valueSerializer: picky,
      stopOnError: false,
    });
    cleanup.push(() => sender.close());
    const input = [
      { topic, key: 'a', value: 'a', correlationMetadata: 'a' },
      { topic, key: 'p', value: 'poison', correlationMetadata: 'poison' },
      { topic: missing, key: 'm', value: 'm', correlationMetadata: 'missing-topic' },
      { topic, key: 'c', value: 'c', correlationMetadata: 'c' },
    ];
    const results = await firstValueFrom(sender.send(from(input)).pipe(toArray()));
    expect(results.map((r) => [r.correlationMetadata, r.error?.message ?? r.recordMetadata?.offset])).toEqual(
      [
        ['a', 0n],
        ['poison', 'cannot serialize "poison"'],
        ['missing-topic', `Topic "${missing}" does not exist: create it before sending to it`],
        ['c', 1n],
      ],
    );
    expect((await collect(topic)).map((r) => r.value!.toString())).toEqual(['a', 'c']);
  });
});
