package differential.topologies;

import differential.DiffTopology;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

public final class TableFilterGroupBy implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, Long> table = b.table("tin", Consumed.with(Serdes.String(), Serdes.Long()));
    table
        .filter((k, v) -> v % 2 == 0)
        .mapValues(v -> v * 10)
        .groupBy((k, v) -> KeyValue.pair(k.substring(0, 1), v), Grouped.with(Serdes.String(), Serdes.Long()))
        .reduce((agg, v) -> agg + v, (agg, v) -> agg - v, Materialized.with(Serdes.String(), Serdes.Long()))
        .toStream()
        .to("out-sum", Produced.with(Serdes.String(), Serdes.Long()));
    table
        .filterNot((k, v) -> v > k.length() * 5L)
        .groupBy((k, v) -> KeyValue.pair(String.valueOf(v % 4), v), Grouped.with(Serdes.String(), Serdes.Long()))
        .count()
        .toStream()
        .to("out-count", Produced.with(Serdes.String(), Serdes.Long()));
    table
        .filter((k, v) -> v % 2 == 0,
            Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("evens").withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
        .mapValues(v -> v * 10,
            Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("even-tens").withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
        .groupBy((k, v) -> KeyValue.pair("all", v), Grouped.with(Serdes.String(), Serdes.Long()))
        .aggregate(() -> 0L, (k, v, agg) -> agg + v, (k, v, agg) -> agg - v, Materialized.with(Serdes.String(), Serdes.Long()))
        .toStream()
        .to("out-mat", Produced.with(Serdes.String(), Serdes.Long()));
    return b.build();
  }
}
