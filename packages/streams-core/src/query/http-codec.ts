/**
 * How the query endpoint turns URL text into store keys and store values into JSON.
 */
import type { QueryableStoreInfo } from './store-views.ts';

/** Reads a key from its URL text; throw to answer 400. */
export type KeyParser = (text: string, store: QueryableStoreInfo) => unknown;

/** A key that cannot be read from the URL: the client's mistake (400). */
export class KeyParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyParseError';
  }
}

/**
 * Keys of the built-in scalar serdes, read as the serde's JS type. Other key types (JSON,
 * windowed, custom) have no single text form: the server's `parseKey` option decides.
 */
export function parseKeyText(
  text: string,
  store: QueryableStoreInfo,
  custom: KeyParser | undefined,
): unknown {
  if (custom) return custom(text, store);
  const serde = store.keySerde.name;
  switch (serde) {
    case 'String':
    case 'UUID':
      return text;
    case 'Long':
    case 'Integer':
    case 'Short': {
      const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(n))
        throw new KeyParseError(
          `Key "${text}" of store "${store.name}" is not an integer (its keys are ${serde})`,
        );
      return n;
    }
    case 'LongBigInt':
      if (!/^-?\d+$/.test(text))
        throw new KeyParseError(
          `Key "${text}" of store "${store.name}" is not an integer (its keys are ${serde})`,
        );
      return BigInt(text);
    case 'Double':
    case 'Float': {
      const n = text.trim() === '' ? Number.NaN : Number(text);
      if (Number.isNaN(n))
        throw new KeyParseError(
          `Key "${text}" of store "${store.name}" is not a number (its keys are ${serde})`,
        );
      return n;
    }
    default:
      throw new KeyParseError(
        `Store "${store.name}" has ${serde} keys, which have no URL form here: start the query server with a parseKey option that reads them`,
      );
  }
}

/**
 * JSON for store contents. JSON has no bigint and no bytes: bigints become decimal strings (a
 * number would lose digits past 2^53), Buffers and byte arrays base64 strings; Maps become objects
 * and Sets arrays.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    if (typeof raw === 'bigint') return raw.toString();
    if (raw instanceof Uint8Array)
      return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
    if (raw instanceof Map) return Object.fromEntries([...raw].map(([k, x]) => [String(k), x]));
    if (raw instanceof Set) return [...raw];
    return v;
  });
}
