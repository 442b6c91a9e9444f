package org.prunelab.io;

import org.prunelab.PrunelabException;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The key/value metadata of a GGUF file, in file order, with typed getters.
 *
 * <p>Values are held as Java objects: every integer type as {@link Long} (a uint64 above
 * {@code Long.MAX_VALUE} keeps its bits and is rejected by the getters), FLOAT32 as {@link Float},
 * FLOAT64 as {@link Double}, BOOL as {@link Boolean}, STRING as {@link String}, ARRAY as {@link GgufArray}
 * (whose elements follow the same rules, arrays nesting). Getters widen within a family (any integer type
 * for {@link #getInt}, either float type for {@link #getDouble}) and check ranges. A missing key or a value
 * of the wrong type throws {@link PrunelabException.ModelFormat} naming the file and the key.
 */
public final class GgufMetadata {
    /** One value and the type the file declared for it. */
    public record Entry(GgufValueType type, Object value) {}

    /** An array value: the declared element type and the elements (unmodifiable). */
    public record GgufArray(GgufValueType elementType, List<Object> values) {
        public GgufArray {
            values = Collections.unmodifiableList(values);
        }

        public int size() { return values.size(); }
    }

    private final Path file;
    private final Map<String, Entry> entries;

    GgufMetadata(Path file, Map<String, Entry> entries) {
        this.file = file;
        this.entries = Collections.unmodifiableMap(entries);
    }

    /** All keys, in file order. */
    public Set<String> keys() { return entries.keySet(); }

    public boolean contains(String key) { return entries.containsKey(key); }

    /** The entry for {@code key}. @throws PrunelabException.ModelFormat if absent */
    public Entry entry(String key) {
        Entry e = entries.get(key);
        if (e == null) {
            String prefix = key.contains(".") ? key.substring(0, key.indexOf('.') + 1) : "";
            List<String> near = entries.keySet().stream().filter(k -> k.startsWith(prefix)).sorted().limit(20).toList();
            throw new PrunelabException.ModelFormat("GGUF file " + file + " has no metadata key '" + key
                    + "'. Keys starting with '" + prefix + "': " + near
                    + ". The file may be for another architecture or made by an old converter; re-convert it with a"
                    + " recent llama.cpp convert_hf_to_gguf.py.");
        }
        return e;
    }

    /** The declared type of {@code key}'s value. @throws PrunelabException.ModelFormat if absent */
    public GgufValueType type(String key) { return entry(key).type(); }

    /** The raw value (see the class comment for the Java types). @throws PrunelabException.ModelFormat if absent */
    public Object get(String key) { return entry(key).value(); }

    /** A STRING value. @throws PrunelabException.ModelFormat if absent or not a string */
    public String getString(String key) {
        return expect(key, GgufValueType.STRING, String.class);
    }

    public String getString(String key, String defaultValue) {
        return contains(key) ? getString(key) : defaultValue;
    }

    /** Any integer value that fits a Java int. @throws PrunelabException.ModelFormat if absent, not an integer or out of range */
    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw wrong(key, "a value that fits a 32-bit int", v);
        return (int) v;
    }

    public int getInt(String key, int defaultValue) {
        return contains(key) ? getInt(key) : defaultValue;
    }

    /** Any integer value (a uint64 must be below 2^63). @throws PrunelabException.ModelFormat if absent or not an integer */
    public long getLong(String key) {
        Entry e = entry(key);
        if (!e.type().isInteger()) throw wrong(key, "an integer", e.type());
        long v = (Long) e.value();
        if (e.type() == GgufValueType.UINT64 && v < 0) throw wrong(key, "a uint64 below 2^63", Long.toUnsignedString(v));
        return v;
    }

    public long getLong(String key, long defaultValue) {
        return contains(key) ? getLong(key) : defaultValue;
    }

    /** A FLOAT32 or FLOAT64 value (FLOAT64 rounded to float). @throws PrunelabException.ModelFormat if absent or not a float */
    public float getFloat(String key) {
        return (float) getDouble(key);
    }

    public float getFloat(String key, float defaultValue) {
        return contains(key) ? getFloat(key) : defaultValue;
    }

    /** A FLOAT32 (widened exactly) or FLOAT64 value. @throws PrunelabException.ModelFormat if absent or not a float */
    public double getDouble(String key) {
        Entry e = entry(key);
        return switch (e.value()) {
            case Float f -> f;
            case Double d -> d;
            default -> throw wrong(key, "FLOAT32 or FLOAT64", e.type());
        };
    }

    public double getDouble(String key, double defaultValue) {
        return contains(key) ? getDouble(key) : defaultValue;
    }

    /** A BOOL value. @throws PrunelabException.ModelFormat if absent or not a bool */
    public boolean getBool(String key) {
        return expect(key, GgufValueType.BOOL, Boolean.class);
    }

    public boolean getBool(String key, boolean defaultValue) {
        return contains(key) ? getBool(key) : defaultValue;
    }

    /** An ARRAY value of any element type. @throws PrunelabException.ModelFormat if absent or not an array */
    public GgufArray getArray(String key) {
        return expect(key, GgufValueType.ARRAY, GgufArray.class);
    }

    /** An array of STRING (unmodifiable list). @throws PrunelabException.ModelFormat if absent or of another element type */
    public List<String> getStringArray(String key) {
        GgufArray a = getArray(key);
        if (a.elementType() != GgufValueType.STRING) throw wrong(key, "an array of STRING", "array of " + a.elementType());
        return a.values().stream().map(String.class::cast).toList();
    }

    /** An array of any integer type whose values all fit an int. @throws PrunelabException.ModelFormat otherwise */
    public int[] getIntArray(String key) {
        long[] l = getLongArray(key);
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            if (l[i] < Integer.MIN_VALUE || l[i] > Integer.MAX_VALUE) throw wrong(key, "int values", l[i] + " at index " + i);
            out[i] = (int) l[i];
        }
        return out;
    }

    /** An array of any integer type. @throws PrunelabException.ModelFormat if absent or of another element type */
    public long[] getLongArray(String key) {
        GgufArray a = getArray(key);
        if (!a.elementType().isInteger()) throw wrong(key, "an array of integers", "array of " + a.elementType());
        return a.values().stream().mapToLong(Long.class::cast).toArray();
    }

    /** An array of FLOAT32 or FLOAT64. @throws PrunelabException.ModelFormat if absent or of another element type */
    public float[] getFloatArray(String key) {
        GgufArray a = getArray(key);
        if (a.elementType() != GgufValueType.FLOAT32 && a.elementType() != GgufValueType.FLOAT64) {
            throw wrong(key, "an array of FLOAT32 or FLOAT64", "array of " + a.elementType());
        }
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) a.values().get(i)).floatValue();
        return out;
    }

    /** Number of elements of an ARRAY value. @throws PrunelabException.ModelFormat if absent or not an array */
    public int arrayLength(String key) {
        return getArray(key).size();
    }

    private <T> T expect(String key, GgufValueType type, Class<T> javaType) {
        Entry e = entry(key);
        if (e.type() != type) throw wrong(key, type.name(), e.type());
        return javaType.cast(e.value());
    }

    private PrunelabException.ModelFormat wrong(String key, String expected, Object actual) {
        return new PrunelabException.ModelFormat("GGUF file " + file + ": metadata key '" + key + "' should be "
                + expected + " but is " + actual + ". The file does not follow the GGUF conventions for this key;"
                + " re-convert it with a recent llama.cpp.");
    }

    @Override
    public String toString() {
        return entries.entrySet().stream()
                .map(e -> e.getKey() + "=" + (e.getValue().value() instanceof GgufArray a
                        ? "[" + a.size() + " x " + a.elementType() + "]" : e.getValue().value()))
                .collect(Collectors.joining(", ", "{", "}"));
    }
}
