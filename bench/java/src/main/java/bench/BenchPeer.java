package bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.StateRestoreListener;

/**
 * The bench's Kafka Streams subject: one JVM for all of a subject's runs, driven over stdin and
 * stdout by bench/src/peers/kafka-streams-java.ts, one JSON command a line:
 *
 * <pre>
 *   {"command":"run", "scenario":…, "inputs":[…], "output":…, "applicationId":…, "guarantee":…,
 *    "commitIntervalMs":…, "stateDir":…, "bootstrapServers":…}   → "owned {…}" once RUNNING
 *   {"command":"stop"}                                           → "stopped" once closed
 * </pre>
 *
 * A failure answers "error &lt;message&gt;"; a stream thread dying between commands writes the
 * same line unasked. Each run is a new KafkaStreams instance with one stream thread, RocksDB
 * stores, the record cache off and the producer's defaults.
 */
public final class BenchPeer {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static PrintStream protocol;

  private BenchPeer() {}

  public static void main(String[] args) throws Exception {
    protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    // Anything else printed goes to stderr, never onto the protocol's lines.
    System.setOut(System.err);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    Run current = null;
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) continue;
      try {
        JsonNode command = JSON.readTree(line);
        switch (command.get("command").asText()) {
          case "run" -> {
            if (current != null) current.close();
            current = null;
            current = Run.start(command);
            answer("owned " + JSON.writeValueAsString(current.measured()));
          }
          case "stop" -> {
            if (current != null) current.close();
            current = null;
            answer("stopped");
          }
          case "exit" -> {
            if (current != null) current.close();
            return;
          }
          default -> answer("error unknown command " + line);
        }
      } catch (Exception e) {
        answer("error " + describe(e));
      }
    }
  }

  static synchronized void answer(String line) {
    protocol.println(line);
  }

  static String describe(Throwable e) {
    StringBuilder s = new StringBuilder(String.valueOf(e));
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) s.append(" <- ").append(c);
    return s.toString().replace('\n', ' ');
  }

  /** One KafkaStreams instance, from its start until it is closed. */
  static final class Run {
    private final KafkaStreams streams;
    private final ObjectNode measured = JSON.createObjectNode();

    private Run(KafkaStreams streams) {
      this.streams = streams;
    }

    static Run start(JsonNode c) throws Exception {
      String scenario = c.get("scenario").asText();
      List<String> inputs = new ArrayList<>();
      c.get("inputs").forEach(n -> inputs.add(n.asText()));
      String output = c.get("output").asText();
      Topology topology = Topologies.of(scenario, inputs, output);

      Properties props = new Properties();
      props.put(StreamsConfig.APPLICATION_ID_CONFIG, c.get("applicationId").asText());
      props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, c.get("bootstrapServers").asText());
      props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, c.get("guarantee").asText());
      props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, c.get("commitIntervalMs").asLong());
      props.put(StreamsConfig.STATE_DIR_CONFIG, c.get("stateDir").asText());
      props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
      props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0L);
      props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
      props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);

      KafkaStreams streams = new KafkaStreams(topology, props);
      Run run = new Run(streams);
      CompletableFuture<Void> running = new CompletableFuture<>();
      streams.setStateListener((next, previous) -> {
        if (next == KafkaStreams.State.RUNNING) running.complete(null);
        if (next == KafkaStreams.State.ERROR || next == KafkaStreams.State.PENDING_ERROR)
          running.completeExceptionally(new IllegalStateException("Kafka Streams went to " + next));
      });
      streams.setUncaughtExceptionHandler(e -> {
        if (!running.completeExceptionally(e)) answer("error " + describe(e));
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      RestoreTimer restore = new RestoreTimer();
      streams.setGlobalStateRestoreListener(restore);
      streams.start();
      try {
        running.get(180, TimeUnit.SECONDS);
      } catch (Exception e) {
        streams.close(Duration.ofSeconds(30));
        throw e;
      }
      if (restore.records.get() > 0) {
        run.measured.put("records", restore.records.get());
        run.measured.put("ms", (restore.lastEnd.get() - restore.firstStart.get()) / 1e6);
      }
      return run;
    }

    JsonNode measured() {
      return measured;
    }

    /**
     * Leaves the group on close (Kafka Streams' default stays in it until the session times out):
     * a restoration's next instance, of another subject, joins the same group right after.
     */
    void close() {
      streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
          .withTimeout(Duration.ofSeconds(60)));
      streams.cleanUp();
    }
  }

  /** Records restored, and the time from the first partition's start to the last one's end. */
  static final class RestoreTimer implements StateRestoreListener {
    final AtomicLong records = new AtomicLong();
    final AtomicLong firstStart = new AtomicLong(Long.MAX_VALUE);
    final AtomicLong lastEnd = new AtomicLong(Long.MIN_VALUE);

    @Override
    public void onRestoreStart(TopicPartition tp, String store, long start, long end) {
      firstStart.accumulateAndGet(System.nanoTime(), Math::min);
    }

    @Override
    public void onBatchRestored(TopicPartition tp, String store, long batchEnd, long restored) {}

    @Override
    public void onRestoreEnd(TopicPartition tp, String store, long total) {
      records.addAndGet(total);
      lastEnd.accumulateAndGet(System.nanoTime(), Math::max);
    }
  }

  /** The scenarios' topologies, each the same work as the framework's subject of that scenario. */
  static final class Topologies {
    private Topologies() {}

    static Topology of(String scenario, List<String> inputs, String output) {
      StreamsBuilder builder = new StreamsBuilder();
      switch (scenario) {
        case "stateless" -> builder.<String, String>stream(inputs.get(0))
            .mapValues(Topologies::priceOrder)
            .filter((key, order) -> order.get("total").asDouble() >= 100)
            .to(output, Produced.with(Serdes.String(), JSON_SERDE));
        case "count" -> builder.<String, String>stream(inputs.get(0))
            .groupByKey()
            .count(Materialized.as("counts"))
            .toStream()
            .to(output, Produced.with(Serdes.String(), Serdes.Long()));
        case "windowed" -> builder.<String, String>stream(inputs.get(0))
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofSeconds(60)))
            .count(Materialized.as("window-counts"))
            .toStream()
            .map((key, count) -> KeyValue.pair(key.key() + "@" + key.window().start(), count))
            .to(output, Produced.with(Serdes.String(), Serdes.Long()));
        case "join" -> {
          KStream<String, String> orders = builder.stream(inputs.get(0));
          KStream<String, String> payments = builder.stream(inputs.get(1));
          orders
              .join(
                  payments,
                  (order, payment) -> "{\"order\":" + order + ",\"payment\":" + payment + "}",
                  JoinWindows.ofTimeDifferenceWithNoGrace(Duration.ofSeconds(5)))
              .to(output);
        }
        default -> throw new IllegalArgumentException("no topology for scenario " + scenario);
      }
      return builder.build();
    }

    /** The stateless scenario's mapValues: the order with its total and whether it is a VIP order. */
    static ObjectNode priceOrder(String value) {
      try {
        ObjectNode order = (ObjectNode) JSON.readTree(value);
        double total = Math.round(order.get("qty").asDouble() * order.get("price").asDouble() * 100) / 100.0;
        order.put("total", total);
        order.put("vip", total >= 500);
        return order;
      } catch (Exception e) {
        throw new IllegalArgumentException("not an order: " + value, e);
      }
    }

    /** What the stateless scenario's sink writes: the priced order as JSON. */
    static final Serde<ObjectNode> JSON_SERDE = Serdes.serdeFrom(
        (topic, order) -> {
          try {
            return JSON.writeValueAsBytes(order);
          } catch (Exception e) {
            throw new IllegalArgumentException(e);
          }
        },
        (topic, bytes) -> {
          try {
            return (ObjectNode) JSON.readTree(bytes);
          } catch (Exception e) {
            throw new IllegalArgumentException(e);
          }
        });
  }
}
