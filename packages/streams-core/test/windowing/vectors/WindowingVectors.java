// Runs windowing scenarios through Kafka Streams 4.1.1's TopologyTestDriver and prints what each
// topology writes, so that ../java-vectors.test.ts can hold our implementation to Java's exact
// output. A scenario is a mode line, then one record per line ("L|R key value timestamp", "null"
// for a null key or value), then END:
//   time <size> <advance> <grace> [suppress | limit<ms>]   windowed aggregate (string concatenation)
//   sliding <timeDifference> <grace> 0 [suppress]
//   session <gap> <grace> 0 [suppress]
//   join-inner|join-left|join-outer <before> <after> <grace>
// The outer-join emit interval is set to 0: the test driver emits whatever is due on every record.
import org.apache.kafka.common.serialization.*;
import org.apache.kafka.streams.*;
import org.apache.kafka.streams.kstream.*;
import org.apache.kafka.streams.test.TestRecord;
import java.time.Duration;
import java.util.*;
import java.io.*;

public class WindowingVectors {
  public static void main(String[] a) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    String line;
    List<String[]> recs = new ArrayList<>();
    String[] mode = null;
    StringBuilder out = new StringBuilder();
    while ((line = in.readLine()) != null) {
      line = line.trim();
      if (line.isEmpty()) continue;
      if (line.equals("END")) { out.append(run(mode, recs)).append("END\n"); mode = null; recs = new ArrayList<>(); continue; }
      String[] p = line.split(" ");
      if (mode == null) mode = p; else recs.add(p);
    }
    System.out.print(out);
  }
  static Duration ms(String s) { return Duration.ofMillis(Long.parseLong(s)); }
  static String run(String[] mode, List<String[]> recs) {
    StreamsBuilder b = new StreamsBuilder();
    Serde<String> S = Serdes.String();
    KStream<String, String> left = b.stream("L", Consumed.with(S, S));
    String kind = mode[0];
    if (kind.startsWith("join")) {
      KStream<String, String> right = b.stream("R", Consumed.with(S, S));
      JoinWindows w = JoinWindows.ofTimeDifferenceAndGrace(ms(mode[1]), ms(mode[3])).before(ms(mode[1])).after(ms(mode[2]));
      ValueJoiner<String, String, String> j = (l, r) -> l + "+" + r;
      StreamJoined<String, String, String> sj = StreamJoined.with(S, S, S);
      KStream<String, String> res = kind.equals("join-inner") ? left.join(right, j, w, sj) : kind.equals("join-left") ? left.leftJoin(right, j, w, sj) : left.outerJoin(right, j, w, sj);
      res.to("O", Produced.with(S, S));
    } else {
      KGroupedStream<String, String> g = left.groupByKey(Grouped.with(S, S));
      Aggregator<String, String, String> agg = (k, v, x) -> x + v + ",";
      KTable<Windowed<String>, String> t;
      if (kind.equals("time")) {
        TimeWindows w = TimeWindows.ofSizeAndGrace(ms(mode[1]), ms(mode[3])).advanceBy(ms(mode[2]));
        t = g.windowedBy(w).aggregate(() -> "", agg, Materialized.with(S, S));
      } else if (kind.equals("sliding")) {
        t = g.windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(ms(mode[1]), ms(mode[2]))).aggregate(() -> "", agg, Materialized.with(S, S));
      } else {
        t = g.windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(mode[1]), ms(mode[2]))).aggregate(() -> "", agg, (k, x, y) -> x + y, Materialized.with(S, S));
      }
      if (mode.length > 4 && mode[4].equals("suppress")) t = t.suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()));
      if (mode.length > 4 && mode[4].startsWith("limit")) t = t.suppress(Suppressed.untilTimeLimit(ms(mode[4].substring(5)), Suppressed.BufferConfig.unbounded()));
      t.toStream((wk, v) -> wk.key() + "@" + wk.window().start() + "-" + wk.window().end()).to("O", Produced.with(S, S));
    }
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "h");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:1");
    props.put("__emit.interval.ms.kstreams.outer.join.spurious.results.fix__", 0L);
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    StringBuilder sb = new StringBuilder();
    try (TopologyTestDriver d = new TopologyTestDriver(b.build(), props)) {
      TestInputTopic<String, String> L = d.createInputTopic("L", S.serializer(), S.serializer());
      TestInputTopic<String, String> R = kind.startsWith("join") ? d.createInputTopic("R", S.serializer(), S.serializer()) : null;
      TestOutputTopic<String, String> O = d.createOutputTopic("O", S.deserializer(), S.deserializer());
      for (String[] r : recs) {
        String v = r[2].equals("null") ? null : r[2];
        String k = r[1].equals("null") ? null : r[1];
        (r[0].equals("L") ? L : R).pipeInput(k, v, Long.parseLong(r[3]));
        for (TestRecord<String, String> o : O.readRecordsToList()) sb.append(o.key()).append(' ').append(o.value()).append(' ').append(o.timestamp()).append('\n');
      }
    }
    return sb.toString();
  }
}
