import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.kstream.SessionWindowedDeserializer;
import org.apache.kafka.streams.kstream.SessionWindowedSerializer;
import org.apache.kafka.streams.kstream.TimeWindowedDeserializer;
import org.apache.kafka.streams.kstream.TimeWindowedSerializer;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.kstream.internals.SessionWindow;
import org.apache.kafka.streams.kstream.internals.TimeWindow;

/**
 * Prints, as JSON on stdout, the bytes that the Java Kafka client and Kafka Streams produce for a
 * fixed set of inputs. The TypeScript serdes and partitioner are tested against this output, so
 * every value below is what a Java producer or consumer on the same topic would write or read.
 *
 * 64-bit values are JSON strings (decimal) because JSON numbers lose precision past 2^53.
 * Strings are escaped per UTF-16 code unit so lone surrogates survive the trip into JavaScript.
 */
public class JavaVectors {
    private static final String TOPIC = "vectors";
    private static final int[] PARTITION_COUNTS = {1, 3, 6, 7, 12, 100};

    public static void main(String[] args) {
        StringBuilder out = new StringBuilder();
        out.append("{\n");
        field(out, "kafkaClientsVersion", str(org.apache.kafka.common.utils.AppInfoParser.getVersion()));
        out.append(",\n");

        // Strings: ASCII, empty, BMP and astral characters, and lone surrogates (which Java's
        // encoder replaces with '?').
        String[] strings = {"", "a", "hello world", "order-42", "ünïcødé ☃ 𝄞", "日本語テキスト",
            "tab\tnew\nline\"quote\\", "\u0000", "emoji 😀👍🏽", "lone \uD800 high", "lone \uDC00 low",
            "\uDBFF\uDFFF", "\uFFFF"};
        List<String> items = new ArrayList<>();
        try (Serde<String> s = Serdes.String()) {
            for (String v : strings) {
                items.add(obj("value", str(v), "hex", str(hex(s.serializer().serialize(TOPIC, v)))));
            }
        }
        array(out, "string", items);

        // Decoding malformed UTF-8: how many U+FFFD replacements appear and where.
        String[] badUtf8 = {"c328", "e282", "f09f98", "eda080", "ff", "80", "c0af", "f4908080", "61ff62", "e2282861"};
        items = new ArrayList<>();
        try (Serde<String> s = Serdes.String()) {
            for (String h : badUtf8) {
                items.add(obj("hex", str(h), "value", str(s.deserializer().deserialize(TOPIC, unhex(h)))));
            }
        }
        array(out, "stringDecode", items);

        long[] longs = {0L, 1L, -1L, 42L, -42L, 255L, 256L, -256L, 4294967295L, 4294967296L, -4294967296L,
            -4294967297L, 2147483647L, -2147483648L, 2147483648L, 1700000000000L, -1700000000000L,
            9007199254740991L, -9007199254740991L, 9007199254740992L, -9007199254740992L,
            Long.MAX_VALUE, Long.MIN_VALUE, 0x0123456789abcdefL, 0xfedcba9876543210L};
        items = new ArrayList<>();
        try (Serde<Long> s = Serdes.Long()) {
            for (long v : longs) {
                items.add(obj("value", str(Long.toString(v)), "hex", str(hex(s.serializer().serialize(TOPIC, v)))));
            }
        }
        array(out, "long", items);

        int[] ints = {0, 1, -1, 42, -42, 255, 256, 65535, 65536, Integer.MAX_VALUE, Integer.MIN_VALUE, 0x01020304, -16777216};
        items = new ArrayList<>();
        try (Serde<Integer> s = Serdes.Integer()) {
            for (int v : ints) {
                items.add(obj("value", Integer.toString(v), "hex", str(hex(s.serializer().serialize(TOPIC, v)))));
            }
        }
        array(out, "integer", items);

        short[] shorts = {0, 1, -1, 42, -42, 255, 256, Short.MAX_VALUE, Short.MIN_VALUE, 0x0102};
        items = new ArrayList<>();
        try (Serde<Short> s = Serdes.Short()) {
            for (short v : shorts) {
                items.add(obj("value", Short.toString(v), "hex", str(hex(s.serializer().serialize(TOPIC, v)))));
            }
        }
        array(out, "short", items);

        // Double.toString round-trips exactly through JavaScript's Number().
        double[] doubles = {0.0, -0.0, 1.0, -1.0, 0.1, -0.1, 3.141592653589793, 1e300, -1e-300,
            Double.MIN_VALUE, Double.MAX_VALUE, Double.MIN_NORMAL, Double.NaN, Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY, 9007199254740993.0, 123456.789};
        items = new ArrayList<>();
        try (Serde<Double> s = Serdes.Double()) {
            for (double v : doubles) {
                items.add(obj("value", str(Double.toString(v)), "hex", str(hex(s.serializer().serialize(TOPIC, v)))));
            }
        }
        array(out, "double", items);

        // Float values are printed widened to double so JavaScript sees the exact float32 value.
        float[] floats = {0.0f, -0.0f, 1.0f, -1.0f, 0.1f, -0.1f, 3.1415927f, Float.MIN_VALUE, Float.MAX_VALUE,
            Float.MIN_NORMAL, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 16777217f, 123456.79f};
        items = new ArrayList<>();
        try (Serde<Float> s = Serdes.Float()) {
            for (float v : floats) {
                items.add(obj("value", str(Double.toString((double) v)), "hex", str(hex(s.serializer().serialize(TOPIC, v)))));
            }
        }
        array(out, "float", items);

        items = new ArrayList<>();
        try (Serde<Boolean> s = Serdes.Boolean()) {
            for (boolean v : new boolean[] {true, false}) {
                items.add(obj("value", Boolean.toString(v), "hex", str(hex(s.serializer().serialize(TOPIC, v)))));
            }
        }
        array(out, "boolean", items);

        String[] uuids = {"00000000-0000-0000-0000-000000000000", "123e4567-e89b-12d3-a456-426614174000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff", "f47ac10b-58cc-4372-a567-0e02b2c3d479"};
        items = new ArrayList<>();
        try (Serde<UUID> s = Serdes.UUID()) {
            for (String v : uuids) {
                items.add(obj("value", str(v), "hex", str(hex(s.serializer().serialize(TOPIC, UUID.fromString(v))))));
            }
            // Java accepts upper case on read and always writes lower case.
            UUID upper = s.deserializer().deserialize(TOPIC, "F47AC10B-58CC-4372-A567-0E02B2C3D479".getBytes(StandardCharsets.UTF_8));
            items.add(obj("value", str(upper.toString()), "hex", str(hex(s.serializer().serialize(TOPIC, upper))),
                "readFromUpperCase", "true"));
        }
        array(out, "uuid", items);

        // Time-windowed keys: key bytes followed by the 8-byte window start. The reader recomputes
        // the end from the window size; Long.MAX_VALUE as size stands for "size unknown".
        Object[][] timeWindows = {
            {"order-42", 0L, 60_000L},
            {"order-42", 1_700_000_000_000L, 60_000L},
            {"", 1_000L, 5_000L},
            {"ünïcødé ☃ 𝄞", 1_699_999_980_000L, 300_000L},
            {"k", 9_000_000_000_000L, Long.MAX_VALUE},
            {"k", 0L, Long.MAX_VALUE},
            {"near-max", Long.MAX_VALUE - 10, 100L},
        };
        items = new ArrayList<>();
        try (Serde<String> s = Serdes.String()) {
            for (Object[] tw : timeWindows) {
                String key = (String) tw[0];
                long start = (Long) tw[1];
                long size = (Long) tw[2];
                long end = start + size < 0 ? Long.MAX_VALUE : start + size;
                Windowed<String> w = new Windowed<>(key, new TimeWindow(start, end));
                byte[] bytes = new TimeWindowedSerializer<>(s.serializer()).serialize(TOPIC, w);
                Windowed<String> back = new TimeWindowedDeserializer<>(s.deserializer(), size).deserialize(TOPIC, bytes);
                items.add(obj("key", str(key), "start", str(Long.toString(start)), "windowSize", str(Long.toString(size)),
                    "hex", str(hex(bytes)), "readStart", str(Long.toString(back.window().start())),
                    "readEnd", str(Long.toString(back.window().end()))));
            }
        }
        array(out, "timeWindowedString", items);

        items = new ArrayList<>();
        try (Serde<Long> s = Serdes.Long()) {
            for (long key : new long[] {0L, -1L, 42L, Long.MIN_VALUE}) {
                long start = 1_700_000_000_000L;
                Windowed<Long> w = new Windowed<>(key, new TimeWindow(start, start + 1000));
                byte[] bytes = new TimeWindowedSerializer<>(s.serializer()).serialize(TOPIC, w);
                items.add(obj("key", str(Long.toString(key)), "start", str(Long.toString(start)), "windowSize", str("1000"),
                    "hex", str(hex(bytes))));
            }
        }
        array(out, "timeWindowedLong", items);

        // Session-windowed keys: key bytes, then the 8-byte end, then the 8-byte start.
        Object[][] sessions = {
            {"user-1", 1_700_000_000_000L, 1_700_000_030_000L},
            {"user-1", 5L, 5L},
            {"", 0L, 1L},
            {"ünïcødé ☃ 𝄞", 1_000L, 2_000L},
        };
        items = new ArrayList<>();
        try (Serde<String> s = Serdes.String()) {
            for (Object[] sw : sessions) {
                String key = (String) sw[0];
                long start = (Long) sw[1];
                long end = (Long) sw[2];
                Windowed<String> w = new Windowed<>(key, new SessionWindow(start, end));
                byte[] bytes = new SessionWindowedSerializer<>(s.serializer()).serialize(TOPIC, w);
                Windowed<String> back = new SessionWindowedDeserializer<>(s.deserializer()).deserialize(TOPIC, bytes);
                items.add(obj("key", str(key), "start", str(Long.toString(start)), "end", str(Long.toString(end)),
                    "hex", str(hex(bytes)), "readStart", str(Long.toString(back.window().start())),
                    "readEnd", str(Long.toString(back.window().end()))));
            }
        }
        array(out, "sessionWindowedString", items);

        // murmur2: every tail length (0..3 bytes after the 4-byte blocks), bytes with the high bit
        // set (sign extension is the classic porting bug), and keys as real producers write them.
        List<byte[]> keys = new ArrayList<>();
        String alphabet = "abcdefghijklmnopqrstuvwxyz";
        for (int n = 0; n <= 9; n++) keys.add(alphabet.substring(0, n).getBytes(StandardCharsets.UTF_8));
        for (int n = 1; n <= 9; n++) {
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) b[i] = (byte) (0xff - i * 0x11);
            keys.add(b);
        }
        keys.add(new byte[] {(byte) 0x80});
        keys.add(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80});
        keys.add(new byte[] {0, 0, 0, 0});
        for (String k : new String[] {"order-42", "order-1", "user-1", "user-2", "customer:12345", "key",
                "ünïcødé ☃ 𝄞", "f47ac10b-58cc-4372-a567-0e02b2c3d479", "hello", "world", "word-counts",
                "The quick brown fox jumps over the lazy dog"}) {
            keys.add(k.getBytes(StandardCharsets.UTF_8));
        }
        try (Serde<Long> l = Serdes.Long(); Serde<Integer> i = Serdes.Integer()) {
            for (long v : new long[] {0L, 1L, -1L, 42L, 1_700_000_000_000L, Long.MIN_VALUE}) keys.add(l.serializer().serialize(TOPIC, v));
            for (int v : new int[] {0, 1, -1, 42, Integer.MIN_VALUE}) keys.add(i.serializer().serialize(TOPIC, v));
        }
        Random random = new Random(20240601L);
        for (int n = 0; n < 40; n++) {
            byte[] b = new byte[random.nextInt(64)];
            random.nextBytes(b);
            keys.add(b);
        }
        items = new ArrayList<>();
        for (byte[] k : keys) {
            int h = Utils.murmur2(k);
            int positive = Utils.toPositive(h);
            StringBuilder parts = new StringBuilder("{");
            for (int p = 0; p < PARTITION_COUNTS.length; p++) {
                if (p > 0) parts.append(", ");
                // The Java producer's BuiltInPartitioner.partitionForKey formula.
                parts.append(str(Integer.toString(PARTITION_COUNTS[p]))).append(": ").append(positive % PARTITION_COUNTS[p]);
            }
            parts.append("}");
            items.add(obj("keyHex", str(hex(k)), "murmur2", Integer.toString(h), "positive", Integer.toString(positive),
                "partitions", parts.toString()));
        }
        array(out, "murmur2", items);

        out.setLength(out.length() - 2);
        out.append("\n}\n");
        System.out.print(out);
    }

    private static void field(StringBuilder out, String name, String json) {
        out.append("  ").append(str(name)).append(": ").append(json);
    }

    private static void array(StringBuilder out, String name, List<String> items) {
        out.append("  ").append(str(name)).append(": [\n");
        for (int i = 0; i < items.size(); i++) {
            out.append("    ").append(items.get(i)).append(i + 1 < items.size() ? ",\n" : "\n");
        }
        out.append("  ],\n");
    }

    private static String obj(String... kv) {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            if (i > 0) b.append(", ");
            b.append(str(kv[i])).append(": ").append(kv[i + 1]);
        }
        return b.append("}").toString();
    }

    private static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c >= 0x20 && c < 0x7f) b.append(c);
            else b.append(String.format("\\u%04x", (int) c));
        }
        return b.append('"').toString();
    }

    private static String hex(byte[] bytes) {
        StringBuilder b = new StringBuilder();
        for (byte x : bytes) b.append(String.format("%02x", x & 0xff));
        return b.toString();
    }

    private static byte[] unhex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        return b;
    }
}
