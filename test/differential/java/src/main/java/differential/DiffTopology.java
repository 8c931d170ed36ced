package differential;

import java.util.Map;
import org.apache.kafka.streams.Topology;

/** A topology of the differential tests; its twin of the same name is in test/differential/topologies.ts. */
public interface DiffTopology {
  Topology build(Params params);

  /** Numeric parameters of a generated case (window sizes, grace periods). */
  record Params(Map<String, Long> values) {
    public long get(String name) {
      Long v = values.get(name);
      if (v == null) throw new IllegalArgumentException("Missing parameter \"" + name + "\"");
      return v;
    }
  }

  /** Keeps the tail of a growing string aggregate, so values stay short whatever the input. */
  static String tail(String s) {
    return s.length() > 12 ? s.substring(s.length() - 12) : s;
  }
}
