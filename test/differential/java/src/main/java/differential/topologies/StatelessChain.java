package differential.topologies;

import differential.DiffTopology;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;

public final class StatelessChain implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    List<String> seen = new ArrayList<>();
    KStream<String, String> source = b.stream("in", Consumed.with(Serdes.String(), Serdes.String()));
    source
        .filter((k, v) -> v != null)
        .flatMap((k, v) -> Arrays.stream(v.split(" ")).filter(w -> !w.isEmpty()).map(w -> KeyValue.pair(w, k)).toList())
        .mapValues((k, v) -> k + ":" + v)
        .filterNot((k, v) -> k.length() > 2)
        .peek((k, v) -> seen.add(k))
        .flatMapValues(v -> List.of(v, v + "#" + seen.size()))
        .to("out", Produced.with(Serdes.String(), Serdes.String()));
    source
        .map((k, v) -> KeyValue.pair(v, String.valueOf(k)))
        .selectKey((k, v) -> k == null ? null : v + "/" + k.length())
        .to("out-peeked", Produced.with(Serdes.String(), Serdes.String()));
    return b.build();
  }
}
