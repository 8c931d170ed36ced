import { SerializationException } from './serialization-exception.ts';

/**
 * Java's message for this failure starts "Size of data received by XDeserializer is not N"; we keep
 * that prefix so a search for the Java message finds ours, and add what a reader needs to act.
 */
export function wrongSize(
  deserializer: string,
  expected: number,
  topic: string,
  actual: number,
  writtenBy: string,
): SerializationException {
  return new SerializationException(
    `Size of data received by ${deserializer} is not ${expected}: got ${actual} byte${actual === 1 ? '' : 's'} ` +
      `from topic "${topic}". Check that the topic's producer writes ${writtenBy}, and that this serde is ` +
      `configured for the right side of the record (key or value).`,
    { topic },
  );
}

export function cannotWrite(
  serializer: string,
  topic: string,
  value: unknown,
  expected: string,
): SerializationException {
  return new SerializationException(
    `${serializer} cannot write ${describe(value)} to topic "${topic}": expected ${expected}.`,
    { topic },
  );
}

export function describe(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'string':
      return value.length > 40 ? `string "${value.slice(0, 40)}…"` : `string "${value}"`;
    case 'object':
      return value === null ? 'null' : `object (${value.constructor?.name ?? 'Object'})`;
    default:
      return typeof value;
  }
}
