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

public final class TableOps implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, String> table = b.table("tin", Consumed.with(Serdes.String(), Serdes.String()));
    table.toStream().to("out-raw", Produced.with(Serdes.String(), Serdes.String()));
    table
        .filter((k, v) -> v.length() % 2 == 0)
        .mapValues((k, v) -> k + "=" + v + "!")
        .toStream()
        .to("out", Produced.with(Serdes.String(), Serdes.String()));
    table
        .filter((k, v) -> v.length() != k.length(),
            Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("filtered").withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
        .toStream()
        .to("out-mat", Produced.with(Serdes.String(), Serdes.String()));
    table
        .mapValues(v -> (long) v.length())
        .filterNot((k, n) -> n > 4)
        .toStream()
        .to("out-not", Produced.with(Serdes.String(), Serdes.Long()));
    return b.build();
  }
}
