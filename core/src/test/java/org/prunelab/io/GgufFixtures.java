package org.prunelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;

/** Reads the fixtures made by tools/reference/gguf_fixtures.py (under fixtures/gguf/ on the test classpath). */
final class GgufFixtures {
    private GgufFixtures() {}

    static JsonNode load(String name) {
        try (InputStream in = GgufFixtures.class.getResourceAsStream("/fixtures/gguf/" + name)) {
            if (in == null) throw new IllegalStateException("missing fixture fixtures/gguf/" + name);
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] bytes(JsonNode node) {
        return Base64.getDecoder().decode(node.asText());
    }

    /** Base64 of little-endian float32 values. */
    static float[] floats(JsonNode node) {
        ByteBuffer b = ByteBuffer.wrap(bytes(node)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }
}
