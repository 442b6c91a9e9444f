package org.prunelab.prune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;
import org.prunelab.tensor.FloatMatrix;

/**
 * Reads the fixtures written by {@code tools/reference/prune_reference.py}: {@code prune.json} (index of
 * arrays and the test cases) and {@code prune.bin} (little-endian arrays; masks as bits, little bit order).
 */
final class PruneFixtures {
    private static PruneFixtures instance;

    final JsonNode index;
    private final ByteBuffer blob;

    private PruneFixtures() {
        try (InputStream json = resource("prune.json"); InputStream bin = resource("prune.bin")) {
            index = new ObjectMapper().readTree(json);
            blob = ByteBuffer.wrap(bin.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static synchronized PruneFixtures load() {
        if (instance == null) instance = new PruneFixtures();
        return instance;
    }

    private static InputStream resource(String name) {
        InputStream in = PruneFixtures.class.getResourceAsStream("/fixtures/prune/" + name);
        if (in == null) throw new IllegalStateException("fixture " + name + " missing: run tools/reference/prune_reference.py");
        return in;
    }

    private JsonNode array(String name) {
        JsonNode a = index.get("arrays").get(name);
        if (a == null) throw new IllegalStateException("no array " + name + " in prune.json");
        return a;
    }

    int[] shape(String name) {
        JsonNode s = array(name).get("shape");
        int[] out = new int[s.size()];
        for (int i = 0; i < out.length; i++) out[i] = s.get(i).asInt();
        return out;
    }

    float[] floats(String name) {
        JsonNode a = array(name);
        float[] out = new float[a.get("length").asInt() / 4];
        blob.slice(a.get("offset").asInt(), a.get("length").asInt()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    double[] doubles(String name) {
        JsonNode a = array(name);
        double[] out = new double[a.get("length").asInt() / 8];
        blob.slice(a.get("offset").asInt(), a.get("length").asInt()).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
        return out;
    }

    FloatMatrix matrix(String name) {
        int[] s = shape(name);
        return new FloatMatrix(s[0], s[1], floats(name));
    }

    Mask mask(String name) {
        JsonNode a = array(name);
        int[] s = shape(name);
        byte[] bytes = new byte[a.get("length").asInt()];
        blob.get(a.get("offset").asInt(), bytes);
        BitSet bits = BitSet.valueOf(bytes); // little bit order within bytes, bytes in order: numpy packbits "little"
        bits.clear(s[0] * s[1], bytes.length * 8);
        return Mask.of(s[0], s[1], bits);
    }
}
