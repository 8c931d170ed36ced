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

public final class ForeignKeyJoin implements DiffTopology {
  static String firstWord(String v) {
    return v.isEmpty() ? null : v.split(" ", -1)[0];
  }

  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KTable<String, String> orders = b.table("orders", Consumed.with(Serdes.String(), Serdes.String()));
    KTable<String, String> customers = b.table("customers", Consumed.with(Serdes.String(), Serdes.String()));
    orders
        .join(customers, ForeignKeyJoin::firstWord, (o, c) -> o + "@" + c,
            Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("fk-inner").withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
        .toStream()
        .to("out-inner", Produced.with(Serdes.String(), Serdes.String()));
    KTable<String, String> left = orders.leftJoin(customers, (k, v) -> v.length() > 4 ? k : firstWord(v), (o, c) -> o + "@" + c,
        Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("fk-left").withKeySerde(Serdes.String()).withValueSerde(Serdes.String()));
    left.toStream().to("out-left", Produced.with(Serdes.String(), Serdes.String()));
    left.groupBy((k, v) -> KeyValue.pair(String.valueOf(v.length() % 3), v), Grouped.with(Serdes.String(), Serdes.String()))
        .count()
        .toStream()
        .to("out-grouped", Produced.with(Serdes.String(), Serdes.Long()));
    return b.build();
  }
}
