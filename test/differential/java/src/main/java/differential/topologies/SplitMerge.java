package differential.topologies;

import differential.DiffTopology;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;

public final class SplitMerge implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> source = b.stream("in", Consumed.with(Serdes.String(), Serdes.String()));
    Map<String, KStream<String, String>> branches = source.split(Named.as("split-"))
        .branch((k, v) -> v != null && v.length() < 4, Branched.as("short"))
        .branch((k, v) -> v != null && v.contains("a"), Branched.as("withA"))
        .noDefaultBranch();
    KStream<String, String> upper = branches.get("split-short").mapValues(v -> v == null ? "" : v.toUpperCase());
    KStream<String, String> parts = branches.get("split-withA").flatMapValues(v -> v == null ? List.<String>of() : Arrays.asList(v.split(" ", -1)));
    KStream<String, String> other = b.stream("in2", Consumed.with(Serdes.String(), Serdes.String())).filterNot((k, v) -> "a".equals(k));
    upper.merge(parts).merge(other)
        .selectKey((k, v) -> v + "<" + k)
        .to("out", Produced.with(Serdes.String(), Serdes.String()));
    branches.get("split-withA").to("out-a", Produced.with(Serdes.String(), Serdes.String()));
    return b.build();
  }
}
