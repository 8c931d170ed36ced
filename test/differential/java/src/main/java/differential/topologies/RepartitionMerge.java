package differential.topologies;

import differential.DiffTopology;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;

public final class RepartitionMerge implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> rekeyed = b.stream("in", Consumed.with(Serdes.String(), Serdes.String()))
        .flatMap((k, v) -> v == null ? List.<KeyValue<String, String>>of() : Arrays.stream(v.split(" ", -1)).map(w -> KeyValue.pair(w, String.valueOf(k))).toList())
        .repartition(Repartitioned.with(Serdes.String(), Serdes.String()));
    rekeyed.to("out-repartitioned", Produced.with(Serdes.String(), Serdes.String()));
    rekeyed.merge(b.stream("in2", Consumed.with(Serdes.String(), Serdes.String())))
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
        .count()
        .toStream()
        .to("out", Produced.with(Serdes.String(), Serdes.Long()));
    return b.build();
  }
}
