package org.prunelab.tensor.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.prunelab.tensor.FloatMatrix;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The round-to-nearest quantisers and the dequantisers against gguf-py ({@code gguf.quants}, the numpy port of ggml's
 * {@code quantize_row_q8_0_ref} / {@code quantize_row_q4_0_ref}), byte for byte, on the inputs of
 * {@code tools/reference/quant_fixtures.py} (fixtures/quant/rtn.json): ties at .5, zeros, huge and tiny magnitudes,
 * negative maxima, fp16-subnormal, fp16-underflowing and fp16-overflowing scales, random and real SmolLM2 weights.
 */
class QuantFixtureTest {
    private static final JsonNode CASES = load().get("cases");

    private static JsonNode load() {
        try (InputStream in = QuantFixtureTest.class.getResourceAsStream("/fixtures/quant/rtn.json")) {
            if (in == null) throw new IllegalStateException("missing fixture fixtures/quant/rtn.json");
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] bytes(JsonNode n) {
        return Base64.getDecoder().decode(n.asText());
    }

    private static float[] floats(JsonNode n) {
        ByteBuffer b = ByteBuffer.wrap(bytes(n)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    private static String sha256(float[] v) throws NoSuchAlgorithmException {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putInt(Float.floatToRawIntBits(f));
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
    }

    private static String key(QuantType t) {
        return t.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Test
    void fixtureCoversTheAwkwardCases() {
        List<String> names = new ArrayList<>();
        CASES.fieldNames().forEachRemaining(names::add);
        assertThat(names).contains("zeros", "q8_ties", "q4_ties", "q4_positive_max", "amax_tie_negative_first",
                "negative_max", "huge", "fp16_overflow", "fp16_subnormal_scale", "fp16_scale_underflow", "gaussian",
                "smollm2_blk_0_attn_q_weight_row0_first576");
    }

    @Test
    void quantisersMatchGgufPyByteForByte() {
        int blocks = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = CASES.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> c = it.next();
            float[] x = floats(c.getValue().get("values_f32le_b64"));
            for (QuantType t : QuantType.values()) {
                byte[] expected = bytes(c.getValue().get(key(t) + "_b64"));
                byte[] actual = new byte[expected.length];
                t.quantize(x, 0, x.length, actual, 0);
                assertThat(actual).as("%s of case %s", t, c.getKey()).isEqualTo(expected);
                // The same through the matrix API (one row), and through a mapped-style wrap of the bytes.
                QuantMatrix m = QuantMatrix.quantize(t, new FloatMatrix(1, x.length, x));
                assertThat(m.toByteArray()).as("%s matrix of case %s", t, c.getKey()).isEqualTo(expected);
            }
            blocks += x.length / QuantType.BLOCK_SIZE;
        }
        assertThat(blocks).isGreaterThan(30);
    }

    @Test
    void dequantisersMatchGgufPyBitForBit() throws Exception {
        for (Iterator<Map.Entry<String, JsonNode>> it = CASES.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> c = it.next();
            for (QuantType t : QuantType.values()) {
                byte[] raw = bytes(c.getValue().get(key(t) + "_b64"));
                int n = raw.length / t.blockBytes() * QuantType.BLOCK_SIZE;
                float[] scalar = new float[n];
                t.dequantize(raw, 0, n, scalar, 0);
                assertThat(sha256(scalar)).as("%s dequantisation of case %s", t, c.getKey())
                        .isEqualTo(c.getValue().get(key(t) + "_dequant_sha256").asText());
                float[] tile = new float[n];
                QuantKernels.dequantizeTile(QuantMatrix.of(t, 1, n, raw), 0, 1, tile);
                assertThat(sha256(tile)).as("%s vector dequantisation of case %s", t, c.getKey())
                        .isEqualTo(sha256(scalar));
            }
        }
    }
}
