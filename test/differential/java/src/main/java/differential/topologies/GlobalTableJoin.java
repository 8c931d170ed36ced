package differential.topologies;

import differential.DiffTopology;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;

public final class GlobalTableJoin implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    GlobalKTable<String, String> global = b.globalTable("global", Consumed.with(Serdes.String(), Serdes.String()));
    KStream<String, String> stream = b.stream("in", Consumed.with(Serdes.String(), Serdes.String()));
    stream.join(global, (k, v) -> v == null ? null : ForeignKeyJoin.firstWord(v), (v, g) -> v + "^" + g)
        .to("out-join", Produced.with(Serdes.String(), Serdes.String()));
    stream.leftJoin(global, (k, v) -> v == null ? k : ForeignKeyJoin.firstWord(v), (v, g) -> v + "^" + g)
        .to("out-left", Produced.with(Serdes.String(), Serdes.String()));
    return b.build();
  }
}
