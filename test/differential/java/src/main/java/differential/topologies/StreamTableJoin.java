package differential.topologies;

import differential.DiffTopology;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Produced;

public final class StreamTableJoin implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> stream = b.stream("sin", Consumed.with(Serdes.String(), Serdes.String()));
    KTable<String, String> table = b.table("tin", Consumed.with(Serdes.String(), Serdes.String()));
    stream.join(table, (sv, tv) -> sv + "+" + tv).to("out-join", Produced.with(Serdes.String(), Serdes.String()));
    stream.leftJoin(table, (sv, tv) -> sv + "+" + tv).to("out-left", Produced.with(Serdes.String(), Serdes.String()));
    stream
        .selectKey((k, v) -> v == null || v.isEmpty() ? null : v.substring(0, 1))
        .leftJoin(table, (sv, tv) -> sv + "*" + tv, Joined.with(Serdes.String(), Serdes.String(), Serdes.String()))
        .to("out-rekeyed", Produced.with(Serdes.String(), Serdes.String()));
    return b.build();
  }
}
