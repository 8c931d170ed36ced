package differential.topologies;

import differential.DiffTopology;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;

public final class HoppingCount implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    long size = params.get("size");
    b.stream("in", Consumed.with(Serdes.String(), Serdes.String()))
        .groupBy((k, v) -> v == null ? k : k + (v.length() % 2), Grouped.with(Serdes.String(), Serdes.String()))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(size), Duration.ofMillis(params.get("grace"))).advanceBy(Duration.ofMillis(params.get("advance"))))
        .count()
        .toStream()
        .to("out", Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, size), Serdes.Long()));
    return b.build();
  }
}
