package retrytopics;

import java.nio.ByteBuffer;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

import org.springframework.kafka.retrytopic.RetryTopicHeaders;

/**
 * What both listener variants do with a record: report it, then fail while its attempt is below
 * rt.failUntil (99: always, 1: never).
 */
final class Handler {

	private static final int FAIL_UNTIL = Integer.getInteger("rt.failUntil", 99);

	private Handler() {
	}

	/** The attempt as Spring counts it: 1 without the header, else the header's 4-byte int. */
	static int attempt(ConsumerRecord<byte[], byte[]> record) {
		Header h = record.headers().lastHeader(RetryTopicHeaders.DEFAULT_HEADER_ATTEMPTS);
		return h == null ? 1 : ByteBuffer.wrap(h.value()).getInt();
	}

	static void handle(ConsumerRecord<byte[], byte[]> record) {
		int attempt = attempt(record);
		Events.emit(Events.record("attempt", record, attempt));
		if (attempt < FAIL_UNTIL) {
			throw new IllegalStateException("payment gateway declined attempt " + attempt);
		}
		Events.emit(Events.record("success", record, attempt));
	}

	static void dlt(ConsumerRecord<byte[], byte[]> record) {
		Events.emit(Events.record("dlt", record, attempt(record)));
	}

}
