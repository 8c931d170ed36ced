package cdc;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.SimpleHeaderConverter;

/**
 * Runs Debezium's PostgreSQL connector in the embedded engine and prints one JSON line per record
 * to stdout: {"event":"record","topic","key","value","headers":[[name, hex]]}, where key and value
 * are what JsonConverter with schemas.enable=false writes and header bytes are what Kafka Connect's
 * default SimpleHeaderConverter writes, i.e. exactly the bytes a Kafka Connect worker would produce.
 * The engine runs until stdin closes.
 *
 * <p>With --kafka host:port the records are not printed but produced to that broker, as a Kafka
 * Connect worker would: the same converters' bytes, through a KafkaProducer with the worker's
 * producer settings (acks=all, one request in flight, no delivery timeout) and idempotence on;
 * each batch the engine hands over is flushed before its offsets are marked processed. The
 * started, completed and stopped lines are printed all the same.
 *
 * <p>Arguments: --name N (engine and topic prefix), --slot S, --publication P, --tables a.b,c.d,
 * --outbox (apply io.debezium.transforms.outbox.EventRouter), --kafka B (produce to B instead of
 * printing), and any number of --prop k=v that override or add connector properties.
 */
public final class DebeziumCapture {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final PrintStream OUT = new PrintStream(System.out, false, StandardCharsets.UTF_8);

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new LinkedHashMap<>();
    Map<String, String> extra = new LinkedHashMap<>();
    boolean outbox = false;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--outbox")) {
        outbox = true;
      } else if (a.equals("--prop")) {
        String kv = args[++i];
        int eq = kv.indexOf('=');
        extra.put(kv.substring(0, eq), kv.substring(eq + 1));
      } else if (a.startsWith("--")) {
        opts.put(a.substring(2), args[++i]);
      } else {
        throw new IllegalArgumentException("Unexpected argument " + a);
      }
    }

    Properties props = new Properties();
    props.setProperty("name", required(opts, "name"));
    props.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
    // Offsets live only as long as the process: each run is one test's capture from a fresh slot.
    props.setProperty("offset.storage", "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
    props.setProperty("offset.flush.interval.ms", "0");
    props.setProperty("database.hostname", opts.getOrDefault("host", "127.0.0.1"));
    props.setProperty("database.port", opts.getOrDefault("port", "5432"));
    props.setProperty("database.user", opts.getOrDefault("user", "postgres"));
    props.setProperty("database.password", opts.getOrDefault("password", ""));
    props.setProperty("database.dbname", opts.getOrDefault("dbname", "kafka_pattern"));
    props.setProperty("topic.prefix", opts.getOrDefault("topic-prefix", required(opts, "name")));
    props.setProperty("plugin.name", "pgoutput");
    props.setProperty("slot.name", required(opts, "slot"));
    props.setProperty("publication.name", required(opts, "publication"));
    // Only the captured tables go into the publication, so parallel runs do not see each other.
    props.setProperty("publication.autocreate.mode", "filtered");
    props.setProperty("table.include.list", required(opts, "tables"));
    props.setProperty("slot.drop.on.stop", "true");
    props.setProperty("snapshot.mode", "initial");
    props.setProperty("status.update.interval.ms", "1000");
    props.setProperty("poll.interval.ms", "50");
    if (outbox) {
      props.setProperty("transforms", "outbox");
      props.setProperty("transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter");
      // The event type travels as a header next to the id header the router adds by default.
      props.setProperty("transforms.outbox.table.fields.additional.placement", "type:header:type");
    }
    extra.forEach(props::setProperty);

    JsonConverter keyConverter = new JsonConverter();
    keyConverter.configure(Map.of("schemas.enable", "false"), true);
    JsonConverter valueConverter = new JsonConverter();
    valueConverter.configure(Map.of("schemas.enable", "false"), false);
    SimpleHeaderConverter headerConverter = new SimpleHeaderConverter();
    headerConverter.configure(Map.of());

    DebeziumEngine.Builder<RecordChangeEvent<SourceRecord>> builder =
        DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
            .using(props)
            .using(
                new DebeziumEngine.ConnectorCallback() {
                  @Override
                  public void taskStarted() {
                    // The slot exists once the task has started: changes from here on are captured.
                    emit(JSON.createObjectNode().put("event", "started"));
                  }
                })
            .using(
                (success, message, error) -> {
                  ObjectNode done = JSON.createObjectNode().put("event", "completed");
                  done.put("success", success).put("message", message);
                  if (error != null) done.put("error", error.toString());
                  emit(done);
                });
    String kafka = opts.get("kafka");
    KafkaProducer<byte[], byte[]> producer = kafka == null ? null : producer(kafka);
    if (producer == null) {
      builder = builder.notifying(
          event -> {
            SourceRecord r = event.record();
            ObjectNode line = JSON.createObjectNode().put("event", "record");
            line.put("topic", r.topic());
            line.set("key", parse(keyConverter.fromConnectData(r.topic(), r.keySchema(), r.key())));
            line.set("value", parse(valueConverter.fromConnectData(r.topic(), r.valueSchema(), r.value())));
            ArrayNode headers = line.putArray("headers");
            for (Header h : r.headers()) {
              byte[] bytes = headerConverter.fromConnectHeader(r.topic(), h.key(), h.schema(), h.value());
              headers.addArray().add(h.key()).add(bytes == null ? null : HexFormat.of().formatHex(bytes));
            }
            emit(line);
          });
    } else {
      AtomicReference<Exception> failed = new AtomicReference<>();
      builder = builder.notifying(
          (List<RecordChangeEvent<SourceRecord>> events,
              DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) -> {
            for (RecordChangeEvent<SourceRecord> event : events) {
              SourceRecord r = event.record();
              RecordHeaders headers = new RecordHeaders();
              for (Header h : r.headers())
                headers.add(h.key(), headerConverter.fromConnectHeader(r.topic(), h.key(), h.schema(), h.value()));
              producer.send(
                  new ProducerRecord<>(
                      r.topic(),
                      r.kafkaPartition(),
                      r.timestamp(),
                      keyConverter.fromConnectData(r.topic(), r.keySchema(), r.key()),
                      valueConverter.fromConnectData(r.topic(), r.valueSchema(), r.value()),
                      headers),
                  (metadata, error) -> {
                    if (error != null) failed.compareAndSet(null, error);
                  });
            }
            // Offsets only for what the broker acknowledged, as the worker commits them.
            producer.flush();
            Exception error = failed.get();
            if (error != null) throw new IllegalStateException("Producing to Kafka failed", error);
            for (RecordChangeEvent<SourceRecord> event : events) committer.markProcessed(event);
            committer.markBatchFinished();
          });
    }
    DebeziumEngine<RecordChangeEvent<SourceRecord>> engine = builder.build();

    ExecutorService executor = Executors.newSingleThreadExecutor();
    executor.execute(engine);
    BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    while (stdin.readLine() != null) {
      // Nothing to read: the end of stdin is the signal to stop.
    }
    engine.close();
    executor.shutdown();
    executor.awaitTermination(30, TimeUnit.SECONDS);
    if (producer != null) producer.close();
    emit(JSON.createObjectNode().put("event", "stopped"));
    System.exit(0);
  }

  /** A Kafka Connect worker's producer (Worker.baseProducerConfigs), with idempotence on. */
  private static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    config.put(ProducerConfig.CLIENT_ID_CONFIG, "debezium-capture");
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    config.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.toString(Integer.MAX_VALUE));
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(Long.MAX_VALUE));
    return new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static String required(Map<String, String> opts, String name) {
    String v = opts.get(name);
    if (v == null) throw new IllegalArgumentException("Missing --" + name);
    return v;
  }

  private static com.fasterxml.jackson.databind.JsonNode parse(byte[] bytes) {
    try {
      return bytes == null ? JSON.nullNode() : JSON.readTree(bytes);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static synchronized void emit(ObjectNode line) {
    OUT.println(line.toString());
    OUT.flush();
  }
}
