import { readFileSync } from 'node:fs';

interface Encoded<V> {
  value: V;
  hex: string;
}

export interface JavaVectors {
  kafkaClientsVersion: string;
  string: Encoded<string>[];
  stringDecode: { hex: string; value: string }[];
  long: Encoded<string>[];
  integer: Encoded<number>[];
  short: Encoded<number>[];
  double: Encoded<string>[];
  float: Encoded<string>[];
  boolean: Encoded<boolean>[];
  uuid: (Encoded<string> & { readFromUpperCase?: boolean })[];
  timeWindowedString: {
    key: string;
    start: string;
    windowSize: string;
    hex: string;
    readStart: string;
    readEnd: string;
  }[];
  timeWindowedLong: { key: string; start: string; windowSize: string; hex: string }[];
  sessionWindowedString: {
    key: string;
    start: string;
    end: string;
    hex: string;
    readStart: string;
    readEnd: string;
  }[];
  murmur2: { keyHex: string; murmur2: number; positive: number; partitions: Record<string, number> }[];
}

export const vectors: JavaVectors = JSON.parse(
  readFileSync(new URL('./java-vectors.json', import.meta.url), 'utf8'),
);

export const LONG_MAX = '9223372036854775807';

export function hex(buf: Buffer | null): string | null {
  return buf === null ? null : buf.toString('hex');
}

export function bytes(h: string): Buffer {
  return Buffer.from(h, 'hex');
}
