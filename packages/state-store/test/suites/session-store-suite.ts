// The behaviour every SessionBytesStore must have, whatever the backend.

import { afterEach, describe, expect, it } from 'vitest';
import type {
  SessionBytes,
  SessionBytesStore,
  SessionBytesStoreOptions,
} from '../../src/session/session-bytes-store.ts';
import { b, type Opened, s } from '../support/backends.ts';

const show = (sessions: Iterable<SessionBytes>): string[] =>
  [...sessions].map((x) => `${x.key.toString('hex')}[${x.start},${x.end}]=${x.value.toString()}`);
const A = s('a').toString('hex');

export function describeSessionStore(
  name: string,
  open: (options: SessionBytesStoreOptions) => Opened<SessionBytesStore>,
): void {
  describe(`${name} session store`, () => {
    let opened: Opened<SessionBytesStore> | undefined;
    const create = (options: Partial<SessionBytesStoreOptions> = {}): SessionBytesStore => {
      opened = open({ retentionMs: 1_000_000, ...options });
      return opened.store;
    };
    afterEach(() => opened?.cleanup());

    it('puts, fetches and removes sessions', () => {
      const store = create();
      expect(store.observedStreamTime()).toBe(-1);
      store.put(s('a'), 10, 20, s('1'));
      store.put(s('a'), 10, 20, s('2'));
      store.put(s('a'), 30, 30, s('3'));
      expect(store.fetchSession(s('a'), 10, 20)?.toString()).toBe('2');
      expect(store.fetchSession(s('a'), 10, 21)).toBeUndefined();
      expect(show(store.fetch(s('a')))).toEqual([`${A}[10,20]=2`, `${A}[30,30]=3`]);
      store.remove(s('a'), 10, 20);
      expect(store.fetchSession(s('a'), 10, 20)).toBeUndefined();
      store.put(s('a'), 30, 30, null);
      expect(show(store.fetch(s('a')))).toEqual([]);
      expect(store.observedStreamTime()).toBe(30);
    });

    it('a delete advances stream time, as in Kafka Streams', () => {
      const store = create({ retentionMs: 10 });
      store.put(s('a'), 0, 5, s('1'));
      store.put(s('b'), 30, 30, null);
      expect(store.observedStreamTime()).toBe(30);
      expect(show(store.fetch(s('a')))).toEqual([]);
    });

    it('findSessions returns sessions with end >= earliestEnd and start <= latestStart, by end time', () => {
      const store = create();
      store.put(s('a'), 0, 100, s('long'));
      store.put(s('a'), 10, 20, s('early'));
      store.put(s('a'), 50, 60, s('middle'));
      store.put(s('a'), 200, 250, s('late'));
      store.put(s('a'), 40, 60, s('sameEnd'));
      store.put(s('b'), 50, 60, s('other key'));
      // Sessions overlapping [55, 150], i.e. mergeable with a record at 55..150.
      expect(show(store.findSessions(s('a'), 55, 150))).toEqual([
        `${A}[40,60]=sameEnd`,
        `${A}[50,60]=middle`,
        `${A}[0,100]=long`,
      ]);
      // Touching bounds are inclusive.
      expect(show(store.findSessions(s('a'), 20, 10))).toEqual([`${A}[10,20]=early`, `${A}[0,100]=long`]);
      expect(show(store.findSessions(s('a'), 251, 1_000))).toEqual([]);
    });

    it('findSessionsKeyRange orders by key bytes, then end, then start', () => {
      const store = create();
      store.put(b(0x80), 0, 10, s('p'));
      store.put(b(0x01), 5, 50, s('q'));
      store.put(b(0x01), 0, 20, s('r'));
      store.put(b(0x01, 0x00), 0, 5, s('t'));
      store.put(b(0xff), 0, 30, s('u'));
      expect(show(store.findSessionsKeyRange(null, null, 0, 100))).toEqual([
        '01[0,20]=r',
        '01[5,50]=q',
        '0100[0,5]=t',
        '80[0,10]=p',
        'ff[0,30]=u',
      ]);
      expect(show(store.findSessionsKeyRange(b(0x01, 0x00), b(0x80), 0, 100))).toEqual([
        '0100[0,5]=t',
        '80[0,10]=p',
      ]);
      expect(show(store.findSessionsKeyRange(null, b(0x01), 25, 100))).toEqual(['01[5,50]=q']);
      expect(show(store.findSessionsKeyRange(b(0x80), null, 0, 0))).toEqual(['80[0,10]=p', 'ff[0,30]=u']);
      expect(show(store.findSessionsKeyRange(b(0xff), b(0x01), 0, 100))).toEqual([]);
    });

    it('pages through large key ranges', () => {
      const store = create();
      for (let k = 0; k < 300; k++) store.put(Buffer.from([k >> 8, k & 0xff]), k, k + 1, s('v'));
      const all = show(store.findSessionsKeyRange(null, null, 0, 10_000));
      expect(all).toHaveLength(300);
      expect(all[299]).toBe('012b[299,300]=v');
    });

    it('expires sessions by end time and drops late puts', () => {
      const store = create({ retentionMs: 1_000 });
      store.put(s('a'), 0, 100, s('old'));
      store.put(s('a'), 500, 600, s('mid'));
      store.put(s('b'), 1_050, 1_100, s('now'));
      // stream time 1100: end <= 100 is expired
      expect(store.fetchSession(s('a'), 0, 100)).toBeUndefined();
      expect(show(store.fetch(s('a')))).toEqual([`${A}[500,600]=mid`]);
      store.put(s('a'), 0, 50, s('late'));
      expect(store.fetchSession(s('a'), 0, 50)).toBeUndefined();
      store.put(s('a'), 0, 101, s('just in time'));
      expect(show(store.findSessions(s('a'), 0, 1_000))).toEqual([
        `${A}[0,101]=just in time`,
        `${A}[500,600]=mid`,
      ]);
      store.put(s('b'), 1_500, 1_700, s('later'));
      // stream time 1700: end <= 700 is expired
      const B = s('b').toString('hex');
      expect(show(store.findSessionsKeyRange(null, null, 0, 10_000))).toEqual([
        `${B}[1050,1100]=now`,
        `${B}[1500,1700]=later`,
      ]);
      expect(store.observedStreamTime()).toBe(1_700);
    });

    it('restores changelog records', () => {
      const store = create();
      store.restoreBatch([
        { key: s('a'), start: 0, end: 10, value: s('1') },
        { key: s('a'), start: 0, end: 10, value: null },
        { key: s('a'), start: 0, end: 20, value: s('2') },
      ]);
      expect(show(store.fetch(s('a')))).toEqual([`${A}[0,20]=2`]);
      expect(store.observedStreamTime()).toBe(20);
    });
  });
}
