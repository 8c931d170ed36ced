package differential;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import differential.topologies.AggregateJoin;
import differential.topologies.ForeignKeyJoin;
import differential.topologies.GlobalTableJoin;
import differential.topologies.GroupByCount;
import differential.topologies.GroupByKeyAggregate;
import differential.topologies.HoppingCount;
import differential.topologies.JoinGroupBy;
import differential.topologies.MapGroupAggregate;
import differential.topologies.RepartitionMerge;
import differential.topologies.SessionWindowsTopology;
import differential.topologies.SlidingCount;
import differential.topologies.SplitMerge;
import differential.topologies.StatelessChain;
import differential.topologies.StreamStreamJoin;
import differential.topologies.StreamTableJoin;
import differential.topologies.SuppressTimeLimit;
import differential.topologies.SuppressedWindows;
import differential.topologies.TableFilterGroupBy;
import differential.topologies.TableGroupBy;
import differential.topologies.TableOps;
import differential.topologies.TableTableJoin;
import differential.topologies.TumblingWindows;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.HexFormat;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;

/**
 * Runs every case of a JSON file through Kafka Streams' TopologyTestDriver, in one JVM:
 * {@code java differential.DifferentialRunner cases.json results.json}. Inputs arrive as bytes
 * and outputs leave as bytes (hex), so the comparison on the TypeScript side is byte for byte.
 */
public final class DifferentialRunner {
  private static final Map<String, DiffTopology> TOPOLOGIES = Map.ofEntries(
      Map.entry("stateless-chain", new StatelessChain()),
      Map.entry("split-merge", new SplitMerge()),
      Map.entry("group-by-count", new GroupByCount()),
      Map.entry("group-by-key-aggregate", new GroupByKeyAggregate()),
      Map.entry("map-group-aggregate", new MapGroupAggregate()),
      Map.entry("table-ops", new TableOps()),
      Map.entry("table-group-by", new TableGroupBy()),
      Map.entry("stream-table-join", new StreamTableJoin()),
      Map.entry("table-table-join", new TableTableJoin()),
      Map.entry("tumbling-windows", new TumblingWindows()),
      Map.entry("hopping-count", new HoppingCount()),
      Map.entry("sliding-count", new SlidingCount()),
      Map.entry("session-windows", new SessionWindowsTopology()),
      Map.entry("suppressed-windows", new SuppressedWindows()),
      Map.entry("stream-stream-join", new StreamStreamJoin()),
      Map.entry("aggregate-join", new AggregateJoin()),
      Map.entry("table-filter-group-by", new TableFilterGroupBy()),
      Map.entry("join-group-by", new JoinGroupBy()),
      Map.entry("suppress-time-limit", new SuppressTimeLimit()),
      Map.entry("repartition-merge", new RepartitionMerge()),
      Map.entry("foreign-key-join", new ForeignKeyJoin()),
      Map.entry("global-table-join", new GlobalTableJoin()));

  private static final HexFormat HEX = HexFormat.of();
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: DifferentialRunner <cases.json> <results.json>");
      System.exit(2);
    }
    JsonNode cases = JSON.readTree(new File(args[0])).get("cases");
    ArrayNode results = JSON.createArrayNode();
    for (JsonNode c : cases) results.add(run(c));
    ObjectNode root = JSON.createObjectNode();
    root.set("results", results);
    JSON.writeValue(new File(args[1]), root);
  }

  private static ObjectNode run(JsonNode c) {
    ObjectNode result = JSON.createObjectNode();
    result.put("id", c.get("id").asText());
    String name = c.get("topology").asText();
    DiffTopology topology = TOPOLOGIES.get(name);
    if (topology == null) {
      result.put("error", "No Java topology named \"" + name + "\": add it to DifferentialRunner.TOPOLOGIES");
      return result;
    }
    Map<String, Long> params = new HashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = c.get("params").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      params.put(e.getKey(), e.getValue().asLong());
    }
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "differential");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    // DIFF_ROCKSDB=1 leaves Kafka Streams on its default RocksDB stores, to check that the
    // in-memory ones of RocksDbNullPutSemantics give the same results (much slower: a database
    // per store per case).
    if (!"1".equals(System.getenv("DIFF_ROCKSDB"))) {
      props.put(StreamsConfig.DSL_STORE_SUPPLIERS_CLASS_CONFIG, RocksDbNullPutSemantics.class.getName());
    }
    JsonNode config = c.get("config");
    if (config != null) {
      for (Iterator<Map.Entry<String, JsonNode>> it = config.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        props.put(e.getKey(), e.getValue().asText());
      }
    }
    // Left and outer stream-stream joins emit unmatched records at most once per this interval
    // of wall-clock time; the test driver's clock stands still, so emit whenever stream time moves.
    props.put(StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_OUTER_JOIN_SPURIOUS_RESULTS_FIX, 0L);

    Map<String, TestInputTopic<byte[], byte[]>> inputs = new HashMap<>();
    Map<String, TestOutputTopic<byte[], byte[]>> outputs = new LinkedHashMap<>();
    ObjectNode outJson = result.putObject("outputs");
    try (TopologyTestDriver driver = new TopologyTestDriver(topology.build(new DiffTopology.Params(params)), props, Instant.ofEpochMilli(0))) {
      for (JsonNode topic : c.get("outputs")) {
        outputs.put(topic.asText(), driver.createOutputTopic(topic.asText(), new ByteArrayDeserializer(), new ByteArrayDeserializer()));
      }
      try {
        for (JsonNode step : c.get("steps")) {
          if (step.has("advanceWallClockMs")) {
            driver.advanceWallClockTime(java.time.Duration.ofMillis(step.get("advanceWallClockMs").asLong()));
            continue;
          }
          String topic = step.get("topic").asText();
          TestInputTopic<byte[], byte[]> input = inputs.computeIfAbsent(topic, t -> driver.createInputTopic(t, new ByteArraySerializer(), new ByteArraySerializer()));
          input.pipeInput(new TestRecord<>(bytes(step.get("key")), bytes(step.get("value")), null, step.get("timestamp").asLong()));
        }
      } catch (RuntimeException e) {
        result.put("error", describe(e));
      }
      for (Map.Entry<String, TestOutputTopic<byte[], byte[]>> e : outputs.entrySet()) {
        ArrayNode records = outJson.putArray(e.getKey());
        for (TestRecord<byte[], byte[]> r : e.getValue().readRecordsToList()) {
          ObjectNode o = records.addObject();
          o.put("key", hex(r.key()));
          o.put("value", hex(r.value()));
          o.put("timestamp", r.timestamp());
        }
      }
      ObjectNode storesJson = result.putObject("stores");
      JsonNode stores = c.get("stores");
      if (stores != null) {
        for (JsonNode s : stores) {
          ArrayNode entries = storesJson.putArray(s.get("name").asText());
          KeyValueStore<String, Object> store = driver.getKeyValueStore(s.get("name").asText());
          try (KeyValueIterator<String, Object> it = store.all()) {
            while (it.hasNext()) {
              KeyValue<String, Object> kv = it.next();
              ArrayNode entry = entries.addArray();
              entry.add(kv.key);
              if (kv.value instanceof Long l) entry.add(l);
              else entry.add(String.valueOf(kv.value));
            }
          }
        }
      }
    } catch (RuntimeException e) {
      result.put("error", describe(e));
    }
    return result;
  }

  private static byte[] bytes(JsonNode hex) {
    return hex == null || hex.isNull() ? null : HEX.parseHex(hex.asText());
  }

  private static String hex(byte[] bytes) {
    return bytes == null ? null : HEX.formatHex(bytes);
  }

  private static String describe(Throwable e) {
    StringWriter w = new StringWriter();
    e.printStackTrace(new PrintWriter(w));
    String[] lines = w.toString().split("\n");
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < Math.min(lines.length, 8); i++) b.append(lines[i]).append('\n');
    return b.toString();
  }
}
