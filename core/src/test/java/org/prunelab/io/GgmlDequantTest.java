package org.prunelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Dequantisation against gguf-py's gguf.quants.dequantize (fixtures from tools/reference/gguf_fixtures.py). */
class GgmlDequantTest {
    private static final JsonNode FIXTURES = GgufFixtures.load("dequant.json");

    @Test
    void everySupportedTypeMatchesGgufPy() {
        Set<GgmlType> checked = EnumSet.noneOf(GgmlType.class);
        for (JsonNode c : FIXTURES.get("cases")) {
            GgmlType type = GgmlType.valueOf(c.get("type").asText());
            assertThat(type.id()).as("ggml id of %s", type).isEqualTo(c.get("type_id").asInt());
            byte[] raw = GgufFixtures.bytes(c.get("raw_b64"));
            float[] expected = GgufFixtures.floats(c.get("values_f32le_b64"));
            int n = c.get("n_elements").asInt();
            assertThat(raw.length).as("bytes of %s", type).isEqualTo(type.byteSize(n));

            float[] actual = GgmlDequant.dequantize(type, MemorySegment.ofArray(raw), n);

            for (int i = 0; i < n; i++) {
                assertThat(actual[i]).as("%s element %d", type, i).isCloseTo(expected[i], within(1e-6f));
            }
            checked.add(type);
        }
        assertThat(checked).isEqualTo(GgmlType.DEQUANTISABLE);
    }

    @Test
    void dequantisesIntoAnOffsetOfTheDestination() {
        JsonNode q4k = caseOf("Q4_K");
        byte[] raw = GgufFixtures.bytes(q4k.get("raw_b64"));
        float[] expected = GgufFixtures.floats(q4k.get("values_f32le_b64"));
        float[] dst = new float[expected.length + 3];

        GgmlDequant.dequantize(GgmlType.Q4_K, MemorySegment.ofArray(raw), dst, 3, expected.length);

        assertThat(dst[0]).isZero();
        assertThat(java.util.Arrays.copyOfRange(dst, 3, dst.length)).containsExactly(expected);
    }

    @Test
    void bf16RoundingMatchesGgufPyQuantiser() {
        // gguf_fixtures.py quantised x * 0.1 (float32) to BF16; x is the F32 case's input.
        float[] x = GgufFixtures.floats(caseOf("F32").get("values_f32le_b64"));
        byte[] bf16 = GgufFixtures.bytes(caseOf("BF16").get("raw_b64"));
        for (int i = 0; i < x.length; i++) {
            short expected = (short) ((bf16[2 * i] & 0xFF) | (bf16[2 * i + 1] << 8));
            assertThat(SafetensorsWriter.floatToBf16(x[i] * 0.1f)).as("element %d", i).isEqualTo(expected);
        }
    }

    @Test
    void rejectsUnsupportedTypesAndPartialBlocks() {
        MemorySegment src = MemorySegment.ofArray(new byte[1024]);
        assertThatThrownBy(() -> GgmlDequant.dequantize(GgmlType.Q3_K, src, 256))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Q3_K");
        assertThatThrownBy(() -> GgmlDequant.dequantize(GgmlType.Q4_0, src, 33))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blocks of 32");
        assertThatThrownBy(() -> GgmlDequant.dequantize(GgmlType.Q8_0, MemorySegment.ofArray(new byte[33]), 32))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("need 34 bytes");
    }

    private static JsonNode caseOf(String type) {
        for (JsonNode c : FIXTURES.get("cases")) if (c.get("type").asText().equals(type)) return c;
        throw new IllegalStateException("no fixture for " + type);
    }
}
