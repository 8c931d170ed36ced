package differential;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.BuiltInDslStoreSuppliers;
import org.apache.kafka.streams.state.DslWindowParams;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.WindowBytesStoreSupplier;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.apache.kafka.streams.state.internals.WrappedStateStore;

/**
 * In-memory stores that behave as Kafka Streams' default RocksDB stores where the two differ in
 * results: a null put into a window store that keeps duplicates (a stream-stream join's buffer)
 * is skipped by RocksDBWindowStore, while InMemoryWindowStore lets it advance stream time and
 * expire older records. A RocksDB database per store per case would make the run minutes long.
 */
public final class RocksDbNullPutSemantics extends BuiltInDslStoreSuppliers.InMemoryDslStoreSuppliers {
  @Override
  public WindowBytesStoreSupplier windowStore(DslWindowParams params) {
    WindowBytesStoreSupplier inner = super.windowStore(params);
    if (!inner.retainDuplicates()) return inner;
    return new WindowBytesStoreSupplier() {
      @Override public String name() { return inner.name(); }
      @Override public WindowStore<Bytes, byte[]> get() { return new SkipNullPuts(inner.get()); }
      @Override public String metricsScope() { return inner.metricsScope(); }
      @Override public long segmentIntervalMs() { return inner.segmentIntervalMs(); }
      @Override public long windowSize() { return inner.windowSize(); }
      @Override public boolean retainDuplicates() { return true; }
      @Override public long retentionPeriod() { return inner.retentionPeriod(); }
    };
  }

  private static final class SkipNullPuts extends WrappedStateStore<WindowStore<Bytes, byte[]>, Bytes, byte[]> implements WindowStore<Bytes, byte[]> {
    SkipNullPuts(WindowStore<Bytes, byte[]> inner) {
      super(inner);
    }

    @Override
    public void put(Bytes key, byte[] value, long windowStartTimestamp) {
      if (value != null) wrapped().put(key, value, windowStartTimestamp);
    }

    @Override public byte[] fetch(Bytes key, long time) { return wrapped().fetch(key, time); }
    @Override public WindowStoreIterator<byte[]> fetch(Bytes key, long from, long to) { return wrapped().fetch(key, from, to); }
    @Override public WindowStoreIterator<byte[]> backwardFetch(Bytes key, long from, long to) { return wrapped().backwardFetch(key, from, to); }
    @Override public KeyValueIterator<Windowed<Bytes>, byte[]> fetch(Bytes keyFrom, Bytes keyTo, long from, long to) { return wrapped().fetch(keyFrom, keyTo, from, to); }
    @Override public KeyValueIterator<Windowed<Bytes>, byte[]> backwardFetch(Bytes keyFrom, Bytes keyTo, long from, long to) { return wrapped().backwardFetch(keyFrom, keyTo, from, to); }
    @Override public KeyValueIterator<Windowed<Bytes>, byte[]> fetchAll(long from, long to) { return wrapped().fetchAll(from, to); }
    @Override public KeyValueIterator<Windowed<Bytes>, byte[]> backwardFetchAll(long from, long to) { return wrapped().backwardFetchAll(from, to); }
    @Override public KeyValueIterator<Windowed<Bytes>, byte[]> all() { return wrapped().all(); }
    @Override public KeyValueIterator<Windowed<Bytes>, byte[]> backwardAll() { return wrapped().backwardAll(); }
  }
}
