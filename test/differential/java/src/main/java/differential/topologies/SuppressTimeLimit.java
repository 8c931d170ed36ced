package differential.topologies;

import differential.DiffTopology;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;

public final class SuppressTimeLimit implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    Duration limit = Duration.ofMillis(params.get("limit"));
    long maxRecords = params.get("maxRecords");
    KGroupedStream<String, String> grouped = b.stream("in", Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()));
    grouped.count()
        .suppress(Suppressed.untilTimeLimit(limit, Suppressed.BufferConfig.maxRecords(maxRecords)))
        .toStream()
        .to("out-counts", Produced.with(Serdes.String(), Serdes.Long()));
    b.table("tin", Consumed.with(Serdes.String(), Serdes.String()))
        .suppress(Suppressed.untilTimeLimit(limit, Suppressed.BufferConfig.unbounded()))
        .toStream()
        .to("out-table", Produced.with(Serdes.String(), Serdes.String()));
    long size = params.get("size");
    grouped.windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(size), Duration.ofMillis(params.get("grace"))))
        .count()
        .suppress(Suppressed.untilTimeLimit(limit, Suppressed.BufferConfig.maxRecords(maxRecords)))
        .toStream()
        .to("out-windowed", Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, size), Serdes.Long()));
    return b.build();
  }
}
