package differential.topologies;

import differential.DiffTopology;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedTable;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

public final class TableGroupBy implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, Long> table = b.table("tin", Consumed.with(Serdes.String(), Serdes.Long()));
    KGroupedTable<String, Long> byResidue = table.groupBy((k, v) -> KeyValue.pair("r" + (v % 3), v), Grouped.with(Serdes.String(), Serdes.Long()));
    byResidue.count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("group-counts"))
        .toStream().to("out-count", Produced.with(Serdes.String(), Serdes.Long()));
    byResidue
        .aggregate(() -> 0L, (k, v, agg) -> agg + v, (k, v, agg) -> agg - v,
            Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("group-sums").withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
        .toStream()
        .to("out-sum", Produced.with(Serdes.String(), Serdes.Long()));
    byResidue
        .reduce((agg, v) -> agg + v, (agg, v) -> agg - v,
            Materialized.with(Serdes.String(), Serdes.Long()))
        .toStream()
        .to("out-reduce", Produced.with(Serdes.String(), Serdes.Long()));
    table
        .groupBy((k, v) -> KeyValue.pair(k.substring(0, 1), k + v), Grouped.with(Serdes.String(), Serdes.String()))
        .aggregate(() -> "", (k, v, agg) -> DiffTopology.tail(agg + "+" + v), (k, v, agg) -> DiffTopology.tail(agg + "-" + v),
            Materialized.with(Serdes.String(), Serdes.String()))
        .toStream()
        .to("out-agg", Produced.with(Serdes.String(), Serdes.String()));
    return b.build();
  }
}
