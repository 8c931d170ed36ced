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
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;

public final class TumblingWindows implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KGroupedStream<String, String> grouped = b.stream("in", Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()));
    long size = params.get("size");
    TimeWindows windows = TimeWindows.ofSizeAndGrace(Duration.ofMillis(size), Duration.ofMillis(params.get("grace")));
    grouped.windowedBy(windows).count().toStream()
        .to("out-count", Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, size), Serdes.Long()));
    grouped.windowedBy(windows)
        .reduce((agg, v) -> DiffTopology.tail(agg + "," + v), Materialized.with(Serdes.String(), Serdes.String()))
        .toStream()
        .to("out-reduce", Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, size), Serdes.String()));
    return b.build();
  }
}
