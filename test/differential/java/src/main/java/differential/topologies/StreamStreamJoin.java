package differential.topologies;

import differential.DiffTopology;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.StreamJoined;

public final class StreamStreamJoin implements DiffTopology {
  @Override
  public Topology build(Params params) {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> left = b.stream("left", Consumed.with(Serdes.String(), Serdes.String()));
    KStream<String, String> right = b.stream("right", Consumed.with(Serdes.String(), Serdes.String()));
    JoinWindows windows = JoinWindows.ofTimeDifferenceAndGrace(Duration.ofMillis(params.get("diff")), Duration.ofMillis(params.get("grace")))
        .after(Duration.ofMillis(params.get("after")));
    StreamJoined<String, String, String> serdes = StreamJoined.with(Serdes.String(), Serdes.String(), Serdes.String());
    left.join(right, (l, r) -> l + "&" + r, windows, serdes).to("out-inner", Produced.with(Serdes.String(), Serdes.String()));
    left.leftJoin(right, (l, r) -> l + "&" + r, windows, serdes).to("out-left", Produced.with(Serdes.String(), Serdes.String()));
    left.outerJoin(right, (l, r) -> l + "&" + r, windows, serdes).to("out-outer", Produced.with(Serdes.String(), Serdes.String()));
    return b.build();
  }
}
