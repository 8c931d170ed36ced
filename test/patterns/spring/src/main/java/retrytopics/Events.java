package retrytopics;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/** One JSON object per line on stdout: what the test reads back. */
final class Events {

	private Events() {
	}

	static synchronized void emit(String json) {
		System.out.println(json);
		System.out.flush();
	}

	static String string(String s) {
		if (s == null) {
			return "null";
		}
		StringBuilder b = new StringBuilder("\"");
		for (char c : s.toCharArray()) {
			switch (c) {
				case '"' -> b.append("\\\"");
				case '\\' -> b.append("\\\\");
				case '\n' -> b.append("\\n");
				case '\r' -> b.append("\\r");
				case '\t' -> b.append("\\t");
				default -> {
					if (c < 0x20) {
						b.append(String.format("\\u%04x", (int) c));
					}
					else {
						b.append(c);
					}
				}
			}
		}
		return b.append('"').toString();
	}

	static String hex(byte[] bytes) {
		if (bytes == null) {
			return "null";
		}
		StringBuilder b = new StringBuilder("\"");
		for (byte x : bytes) {
			b.append(String.format("%02x", x));
		}
		return b.append('"').toString();
	}

	static String strings(List<String> list) {
		StringBuilder b = new StringBuilder("[");
		for (int i = 0; i < list.size(); i++) {
			b.append(i == 0 ? "" : ",").append(string(list.get(i)));
		}
		return b.append(']').toString();
	}

	/** A record as the listener got it, with every header as hex bytes, in order. */
	static String record(String event, ConsumerRecord<byte[], byte[]> r, int attempt) {
		StringBuilder headers = new StringBuilder("[");
		boolean first = true;
		for (Header h : r.headers()) {
			headers.append(first ? "" : ",").append('[').append(string(h.key())).append(',').append(hex(h.value()))
					.append(']');
			first = false;
		}
		headers.append(']');
		return "{\"event\":" + string(event) + ",\"topic\":" + string(r.topic()) + ",\"partition\":" + r.partition()
				+ ",\"offset\":" + r.offset() + ",\"timestamp\":" + r.timestamp() + ",\"key\":"
				+ (r.key() == null ? "null" : string(new String(r.key(), StandardCharsets.UTF_8))) + ",\"value\":"
				+ (r.value() == null ? "null" : string(new String(r.value(), StandardCharsets.UTF_8))) + ",\"attempt\":"
				+ attempt + ",\"now\":" + System.currentTimeMillis() + ",\"headers\":" + headers + "}";
	}

}
