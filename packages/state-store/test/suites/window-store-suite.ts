// The behaviour every WindowBytesStore must have, whatever the backend.

import { afterEach, describe, expect, it } from 'vitest';
import type { WindowBytesStore, WindowBytesStoreOptions } from '../../src/window/window-bytes-store.ts';
import { b, type Opened, s } from '../support/backends.ts';

const show = (entries: Iterable<{ key?: Buffer; windowStart: number; value: Buffer }>): string[] =>
  [...entries].map(
    (e) => `${e.key === undefined ? '' : `${e.key.toString('hex')}@`}${e.windowStart}=${e.value.toString()}`,
  );

export function describeWindowStore(
  name: string,
  open: (options: WindowBytesStoreOptions) => Opened<WindowBytesStore>,
): void {
  describe(`${name} window store`, () => {
    let opened: Opened<WindowBytesStore> | undefined;
    const create = (options: Partial<WindowBytesStoreOptions> = {}): WindowBytesStore => {
      opened = open({ retentionMs: 1_000_000, windowSizeMs: 100, ...options });
      return opened.store;
    };
    afterEach(() => opened?.cleanup());

    it('puts, fetches, overwrites and deletes single windows', () => {
      const store = create();
      expect(store.observedStreamTime()).toBe(-1);
      expect(store.put(s('a'), s('1'), 100)).toBe(true);
      store.put(s('a'), s('2'), 100);
      store.put(s('a'), s('3'), 200);
      expect(store.fetch(s('a'), 100)?.toString()).toBe('2');
      expect(store.fetch(s('a'), 150)).toBeUndefined();
      expect(store.fetch(s('b'), 100)).toBeUndefined();
      store.put(s('a'), null, 100);
      expect(store.fetch(s('a'), 100)).toBeUndefined();
      expect(show(store.fetchRange(s('a'), 0, 1_000))).toEqual(['200=3']);
      expect(store.observedStreamTime()).toBe(200);
    });

    it('fetchRange is inclusive, ascending; backwardFetchRange descending', () => {
      const store = create();
      for (const t of [300, 0, 200, 100, 400]) store.put(s('k'), s(String(t)), t);
      store.put(s('other'), s('x'), 200);
      expect(show(store.fetchRange(s('k'), 100, 300))).toEqual(['100=100', '200=200', '300=300']);
      expect(show(store.backwardFetchRange(s('k'), 100, 300))).toEqual(['300=300', '200=200', '100=100']);
      expect(show(store.fetchRange(s('k'), 301, 399))).toEqual([]);
      expect(show(store.fetchRange(s('k'), 300, 100))).toEqual([]);
    });

    it('orders key ranges by key bytes, then window start', () => {
      const store = create();
      store.put(b(0x80), s('p'), 50);
      store.put(b(0x01), s('q'), 300);
      store.put(b(0x01), s('r'), 100);
      store.put(b(0x01, 0x00), s('s'), 0);
      store.put(b(0xff), s('t'), 200);
      store.put(b(), s('u'), 400);
      expect(show(store.all())).toEqual([
        '@400=u',
        '01@100=r',
        '01@300=q',
        '0100@0=s',
        '80@50=p',
        'ff@200=t',
      ]);
      expect(show(store.fetchAll(100, 300))).toEqual(['01@100=r', '01@300=q', 'ff@200=t']);
      expect(show(store.fetchKeyRange(b(0x01), b(0x80), 0, 250))).toEqual([
        '01@100=r',
        '0100@0=s',
        '80@50=p',
      ]);
      expect(show(store.fetchKeyRange(null, b(0x01), 0, 1_000))).toEqual(['@400=u', '01@100=r', '01@300=q']);
      expect(show(store.fetchKeyRange(b(0x80), null, 0, 1_000))).toEqual(['80@50=p', 'ff@200=t']);
      expect(show(store.fetchKeyRange(b(0xff), b(0x01), 0, 1_000))).toEqual([]);
    });

    it('pages through large key ranges in order', () => {
      const store = create();
      const expected: string[] = [];
      for (let k = 0; k < 40; k++) {
        for (let t = 0; t < 20; t++) {
          store.put(b(k), s('v'), t * 10);
          expected.push(`${b(k).toString('hex')}@${t * 10}=v`);
        }
      }
      expect(show(store.all())).toEqual(expected);
      expect(show(store.fetchKeyRange(b(5), b(30), 50, 100))).toEqual(
        expected.filter((e) => {
          const [k, rest] = e.split('@') as [string, string];
          const t = Number(rest.split('=')[0]);
          return Number.parseInt(k, 16) >= 5 && Number.parseInt(k, 16) <= 30 && t >= 50 && t <= 100;
        }),
      );
    });

    it('drops late puts and hides expired windows as stream time advances', () => {
      const store = create({ retentionMs: 1_000 });
      store.put(s('a'), s('old'), 0);
      store.put(s('a'), s('mid'), 500);
      store.put(s('b'), s('b'), 600);
      expect(show(store.fetchRange(s('a'), 0, 10_000))).toEqual(['0=old', '500=mid']);
      // stream time 1000: windowStart <= 0 is expired
      store.put(s('c'), s('now'), 1_000);
      expect(store.fetch(s('a'), 0)).toBeUndefined();
      expect(show(store.fetchRange(s('a'), 0, 10_000))).toEqual(['500=mid']);
      expect(store.put(s('a'), s('late'), 0)).toBe(false);
      expect(store.put(s('a'), s('just in time'), 1)).toBe(true);
      expect(show(store.fetchRange(s('a'), 0, 10_000))).toEqual(['1=just in time', '500=mid']);
      store.put(s('c'), s('later'), 1_550);
      expect(show(store.all())).toEqual([
        `${s('b').toString('hex')}@600=b`,
        `${s('c').toString('hex')}@1000=now`,
        `${s('c').toString('hex')}@1550=later`,
      ]);
      expect(show(store.fetchAll(0, 700))).toEqual([`${s('b').toString('hex')}@600=b`]);
      expect(store.observedStreamTime()).toBe(1_550);
      // An older put does not move stream time back.
      store.put(s('d'), s('x'), 1_200);
      expect(store.observedStreamTime()).toBe(1_550);
    });

    it('physically removes expired segments', () => {
      const store = create({ retentionMs: 120_000, segmentIntervalMs: 60_000 });
      store.put(s('a'), s('1'), 10_000);
      store.put(s('a'), s('2'), 70_000);
      // Jump far ahead: everything above is expired and its segments dropped.
      store.put(s('z'), s('3'), 1_000_000);
      expect(show(store.all())).toEqual([`${s('z').toString('hex')}@1000000=3`]);
      expect(show(store.fetchRange(s('a'), 0, 2_000_000))).toEqual([]);
    });

    it('retainDuplicates appends every put and ignores deletes', () => {
      const store = create({ retainDuplicates: true });
      expect(store.retainDuplicates).toBe(true);
      store.put(s('k'), s('1'), 100);
      store.put(s('k'), s('2'), 100);
      store.put(s('k'), s('3'), 50);
      expect(store.put(s('k'), null, 100)).toBe(false);
      expect(show(store.fetchRange(s('k'), 0, 200))).toEqual(['50=3', '100=1', '100=2']);
      expect(show(store.backwardFetchRange(s('k'), 0, 200))).toEqual(['100=2', '100=1', '50=3']);
      expect(store.fetch(s('k'), 100)?.toString()).toBe('1');
      expect(show(store.all())).toHaveLength(3);
    });

    it('restores changelog records, advancing stream time', () => {
      const store = create({ retentionMs: 1_000 });
      store.restoreBatch([
        { key: s('a'), windowStart: 100, value: s('1') },
        { key: s('a'), windowStart: 200, value: s('2') },
        { key: s('a'), windowStart: 100, value: null },
        { key: s('b'), windowStart: 1_150, value: s('3') },
      ]);
      expect(store.observedStreamTime()).toBe(1_150);
      expect(show(store.fetchRange(s('a'), 0, 5_000))).toEqual(['200=2']);
      expect(show(store.fetchAll(0, 5_000))).toHaveLength(2);
    });

    it('restores duplicates at their changelog sequence numbers', () => {
      const store = create({ retainDuplicates: true });
      store.restoreBatch([
        { key: s('k'), windowStart: 10, value: s('b'), seqnum: 7 },
        { key: s('k'), windowStart: 10, value: s('a'), seqnum: 3 },
        { key: s('k'), windowStart: 10, value: s('b2'), seqnum: 7 },
      ]);
      store.put(s('k'), s('c'), 10);
      expect(show(store.fetchRange(s('k'), 0, 100))).toEqual(['10=a', '10=b2', '10=c']);
    });
  });
}
