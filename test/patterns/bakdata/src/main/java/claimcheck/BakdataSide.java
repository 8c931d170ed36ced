package claimcheck;

import com.bakdata.kafka.LargeMessageDeserializer;
import com.bakdata.kafka.LargeMessageSerializer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * bakdata's large-message-serde in a plain producer or consumer, so that the test can put its
 * records beside ours on one topic and one S3 server.
 *
 * <p>-Dlm.role=produce writes one record per entry of -Dlm.payloads ("key:size:seed,..."), the
 * payload being pattern(size, seed); -Dlm.role=consume reads -Dlm.count records of partition 0 from
 * the start. Every -Dlarge.message.* property is passed to the serde as is. One JSON line per
 * record on stdout.
 */
public final class BakdataSide {
  private BakdataSide() {}

  /** The bytes both sides agree on: byte i is (i * 31 + seed) mod 256. */
  static byte[] pattern(final int size, final int seed) {
    final byte[] bytes = new byte[size];
    for (int i = 0; i < size; i++) bytes[i] = (byte) ((i * 31 + seed) & 0xff);
    return bytes;
  }

  static Map<String, Object> serdeConfig() {
    final Map<String, Object> config = new HashMap<>();
    for (final String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("large.message.")) config.put(name, System.getProperty(name));
    }
    return config;
  }

  static String required(final String name) {
    final String value = System.getProperty(name);
    if (value == null) throw new IllegalArgumentException("missing -D" + name);
    return value;
  }

  static String json(final String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  static String headersJson(final Iterable<Header> headers) {
    final List<String> out = new ArrayList<>();
    for (final Header h : headers) {
      out.add("[" + json(h.key()) + "," + json(HexFormat.of().formatHex(h.value())) + "]");
    }
    return "[" + String.join(",", out) + "]";
  }

  public static void main(final String[] args) throws Exception {
    final String role = required("lm.role");
    try {
      if (role.equals("produce")) produce();
      else if (role.equals("consume")) consume();
      else throw new IllegalArgumentException("lm.role must be produce or consume, not " + role);
    } catch (final Exception e) {
      System.out.println("{\"event\":\"error\",\"message\":" + json(String.valueOf(e)) + ",\"cause\":"
          + json(String.valueOf(e.getCause())) + "}");
      System.exit(1);
    }
  }

  static void produce() throws Exception {
    final String topic = required("lm.topic");
    final Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, required("lm.bootstrap"));
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    final LargeMessageSerializer<byte[]> serializer = new LargeMessageSerializer<>();
    serializer.configure(serdeConfig(), false);
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(props, new StringSerializer(), serializer)) {
      for (final String entry : required("lm.payloads").split(",")) {
        final String[] parts = entry.split(":");
        final byte[] payload = pattern(Integer.parseInt(parts[1]), Integer.parseInt(parts[2]));
        final RecordMetadata m = producer.send(new ProducerRecord<>(topic, 0, parts[0], payload)).get();
        System.out.println("{\"event\":\"sent\",\"key\":" + json(parts[0]) + ",\"offset\":" + m.offset()
            + ",\"serializedValueSize\":" + m.serializedValueSize() + "}");
      }
    }
    System.out.println("{\"event\":\"done\"}");
  }

  static void consume() throws Exception {
    final String topic = required("lm.topic");
    final int count = Integer.parseInt(required("lm.count"));
    final Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, required("lm.bootstrap"));
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    final LargeMessageDeserializer<byte[]> deserializer = new LargeMessageDeserializer<>();
    deserializer.configure(serdeConfig(), false);
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), deserializer)) {
      final TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      int seen = 0;
      final long deadline = System.currentTimeMillis() + 60_000;
      while (seen < count && System.currentTimeMillis() < deadline) {
        for (final ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          final byte[] v = r.value();
          final String sha = v == null ? "" : HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(v));
          System.out.println("{\"event\":\"record\",\"key\":" + json(r.key()) + ",\"offset\":" + r.offset()
              + ",\"length\":" + (v == null ? -1 : v.length) + ",\"sha256\":" + json(sha)
              + ",\"headers\":" + headersJson(r.headers()) + "}");
          seen++;
        }
      }
    }
    System.out.println("{\"event\":\"done\"}");
  }
}
