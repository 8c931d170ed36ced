/**
 * Bytes that cannot be read as the expected type, or a value that cannot be written in the
 * expected format. Named after Java's `org.apache.kafka.common.errors.SerializationException`
 * so dead-letter headers and logs read the same as a Java application's.
 */
export class SerializationException extends Error {
  override readonly name = 'SerializationException';
  /** The topic whose record failed, when known. */
  readonly topic: string | undefined;

  constructor(message: string, options?: { topic?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.topic = options?.topic;
  }
}
