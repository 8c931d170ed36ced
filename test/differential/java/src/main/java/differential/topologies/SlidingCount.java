package differential.topologies;

import differential.DiffTopology;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;

public final class SlidingCount implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KGroupedStream<String, String> grouped = b.stream("in", Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()));
    long diff = params.get("diff");
    SlidingWindows windows = SlidingWindows.ofTimeDifferenceAndGrace(Duration.ofMillis(diff), Duration.ofMillis(params.get("grace")));
    grouped.windowedBy(windows).count().toStream()
        .to("out", Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, diff), Serdes.Long()));
    grouped.windowedBy(windows)
        .aggregate(() -> "", (k, v, agg) -> DiffTopology.tail(agg + (v == null ? "~" : String.valueOf(v.length()))), Materialized.with(Serdes.String(), Serdes.String()))
        .toStream()
        .to("out-agg", Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, diff), Serdes.String()));
    return b.build();
  }
}
