package differential.topologies;

import differential.DiffTopology;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

public final class AggregateJoin implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> source = b.stream("in", Consumed.with(Serdes.String(), Serdes.String()));
    KTable<String, Long> counts = source.groupByKey(Grouped.with(Serdes.String(), Serdes.String())).count();
    KTable<String, String> labels = b.table("labels", Consumed.with(Serdes.String(), Serdes.String()));
    counts.join(labels, (c, l) -> l + ":" + c).toStream().to("out-joined", Produced.with(Serdes.String(), Serdes.String()));
    source.join(counts, (v, c) -> v + "#" + c).to("out-enriched", Produced.with(Serdes.String(), Serdes.String()));
    source
        .selectKey((k, v) -> v == null || v.isEmpty() ? null : v.substring(v.length() - 1))
        .toTable(Materialized.with(Serdes.String(), Serdes.String()))
        .leftJoin(labels, (v, l) -> v + "~" + l)
        .toStream()
        .to("out-totable", Produced.with(Serdes.String(), Serdes.String()));
    return b.build();
  }
}
