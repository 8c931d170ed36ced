package differential.topologies;

import differential.DiffTopology;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

public final class GroupByKeyAggregate implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KGroupedStream<String, String> grouped = b.stream("in", Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()));
    grouped
        .aggregate(() -> 0L, (k, v, agg) -> agg + (v == null ? 0 : v.length()) + 1,
            Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("lengths").withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
        .toStream()
        .to("out-agg", Produced.with(Serdes.String(), Serdes.Long()));
    grouped
        .reduce((agg, v) -> DiffTopology.tail(agg + "|" + v),
            Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("reduced").withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
        .toStream()
        .to("out-reduce", Produced.with(Serdes.String(), Serdes.String()));
    grouped.count().toStream().to("out-count", Produced.with(Serdes.String(), Serdes.Long()));
    return b.build();
  }
}
