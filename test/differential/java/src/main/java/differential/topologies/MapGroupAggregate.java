package differential.topologies;

import differential.DiffTopology;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

public final class MapGroupAggregate implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    b.stream("in", Consumed.with(Serdes.String(), Serdes.String()))
        .map((k, v) -> KeyValue.pair(v == null || v.isEmpty() ? null : v.substring(0, 1), k == null ? "none" : k))
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
        .aggregate(() -> "", (k, v, agg) -> DiffTopology.tail(agg + v),
            Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("by-first-letter").withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
        .toStream()
        .to("out", Produced.with(Serdes.String(), Serdes.String()));
    return b.build();
  }
}
