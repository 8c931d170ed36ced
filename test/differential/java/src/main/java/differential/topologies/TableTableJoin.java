package differential.topologies;

import differential.DiffTopology;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

public final class TableTableJoin implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, String> left = b.table("left", Consumed.with(Serdes.String(), Serdes.String()));
    KTable<String, String> right = b.table("right", Consumed.with(Serdes.String(), Serdes.String()));
    left.join(right, (l, r) -> l + "/" + r).toStream().to("out-inner", Produced.with(Serdes.String(), Serdes.String()));
    left.leftJoin(right, (l, r) -> l + "/" + r).toStream().to("out-left", Produced.with(Serdes.String(), Serdes.String()));
    left.outerJoin(right, (l, r) -> l + "/" + r,
            Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("outer-joined").withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
        .toStream()
        .to("out-outer", Produced.with(Serdes.String(), Serdes.String()));
    left.join(right, (l, r) -> l + r)
        .leftJoin(right, (lr, r) -> lr + ">" + r)
        .toStream()
        .to("out-chained", Produced.with(Serdes.String(), Serdes.String()));
    return b.build();
  }
}
