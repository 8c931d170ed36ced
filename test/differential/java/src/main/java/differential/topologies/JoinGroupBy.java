package differential.topologies;

import differential.DiffTopology;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

public final class JoinGroupBy implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, String> left = b.table("left", Consumed.with(Serdes.String(), Serdes.String()));
    KTable<String, String> right = b.table("right", Consumed.with(Serdes.String(), Serdes.String()));
    left.leftJoin(right, (l, r) -> l + "/" + r)
        .groupBy((k, v) -> KeyValue.pair("len" + (v.length() % 3), v), Grouped.with(Serdes.String(), Serdes.String()))
        .count()
        .toStream()
        .to("out-left-count", Produced.with(Serdes.String(), Serdes.Long()));
    left.outerJoin(right, (l, r) -> l + "/" + r)
        .groupBy((k, v) -> KeyValue.pair(k.substring(0, 1), v), Grouped.with(Serdes.String(), Serdes.String()))
        .aggregate(() -> "", (k, v, agg) -> DiffTopology.tail(agg + "+" + v.length()), (k, v, agg) -> DiffTopology.tail(agg + "-" + v.length()),
            Materialized.with(Serdes.String(), Serdes.String()))
        .toStream()
        .to("out-outer-agg", Produced.with(Serdes.String(), Serdes.String()));
    left.join(right, (l, r) -> l + r)
        .groupBy((k, v) -> KeyValue.pair(v.contains("a") ? "a" : "none", v), Grouped.with(Serdes.String(), Serdes.String()))
        .count()
        .toStream()
        .to("out-inner-count", Produced.with(Serdes.String(), Serdes.Long()));
    return b.build();
  }
}
