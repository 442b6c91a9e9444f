package org.prunelab.prune;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

/**
 * GPTQ to GGUF grids, SparseGPT's joint prune + quantise and RTN against {@code tools/reference/gptq_reference.py}
 * (a float64 torch re-implementation of IST-DASLab's {@code fasterquant} / {@code fasterprune} with llama.cpp's grid):
 * seeded synthetic layers and SmolLM2-135M block 0 q_proj / down_proj (64 rows) with their real Brown inputs (from
 * the prune fixtures). Block bytes must agree but for codes that fp64 summation order moves across a rounding
 * boundary: at least 99.9% identical codes per case, the rest printed with the largest value difference.
 */
class GptqReferenceTest {

    /** gptq.json / gptq.bin, with names {@code prune:X} resolved in the prune fixtures. */
    static final class Fixtures {
        static Fixtures instance;
        final JsonNode index;
        final ByteBuffer blob;

        Fixtures() {
            try (InputStream json = resource("gptq.json"); InputStream bin = resource("gptq.bin")) {
                index = new ObjectMapper().readTree(json);
                blob = ByteBuffer.wrap(bin.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        static synchronized Fixtures load() {
            if (instance == null) instance = new Fixtures();
            return instance;
        }

        private static InputStream resource(String name) {
            InputStream in = GptqReferenceTest.class.getResourceAsStream("/fixtures/gptq/" + name);
            if (in == null) throw new IllegalStateException("fixture " + name + " missing: run tools/reference/gptq_reference.py");
            return in;
        }

        JsonNode array(String name) {
            JsonNode a = index.get("arrays").get(name);
            if (a == null) throw new IllegalStateException("no array " + name + " in gptq.json");
            return a;
        }

        FloatMatrix matrix(String name) {
            if (name.startsWith("prune:")) return PruneFixtures.load().matrix(name.substring(6));
            JsonNode a = array(name);
            float[] out = new float[a.get("length").asInt() / 4];
            blob.slice(a.get("offset").asInt(), a.get("length").asInt()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return new FloatMatrix(a.get("shape").get(0).asInt(), a.get("shape").get(1).asInt(), out);
        }

        byte[] bytes(String name) {
            JsonNode a = array(name);
            byte[] out = new byte[a.get("length").asInt()];
            blob.get(a.get("offset").asInt(), out);
            return out;
        }

        Mask mask(String name) {
            JsonNode a = array(name);
            int rows = a.get("shape").get(0).asInt();
            int cols = a.get("shape").get(1).asInt();
            BitSet bits = BitSet.valueOf(bytes(name));
            bits.clear(rows * cols, Math.max(rows * cols, bits.length()));
            return Mask.of(rows, cols, bits);
        }
    }

    static Stream<JsonNode> cases() {
        List<JsonNode> out = new ArrayList<>();
        Fixtures.load().index.get("cases").forEach(out::add);
        return out.stream();
    }

    /** The Hessian of {@code inputs}, fed in two uneven batches as a calibration loop would. */
    static HessianStats hessian(FloatMatrix x) {
        HessianStats s = new HessianStats(x.cols());
        int first = x.rows() / 3;
        s.add(x.data(), first);
        s.add(java.util.Arrays.copyOfRange(x.data(), first * x.cols(), x.data().length), x.rows() - first);
        return s;
    }

    /** ||W X^T - Q X^T||_F^2 in double, X [tokens, cols]. */
    static double layerError(FloatMatrix w, FloatMatrix q, FloatMatrix x) {
        int rows = w.rows();
        int cols = w.cols();
        double sum = 0;
        for (int t = 0; t < x.rows(); t++) {
            for (int r = 0; r < rows; r++) {
                double d = 0;
                for (int c = 0; c < cols; c++) d += ((double) w.get(r, c) - q.get(r, c)) * x.get(t, c);
                sum += d * d;
            }
        }
        return sum;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesReference(JsonNode c) {
        Fixtures f = Fixtures.load();
        QuantType format = QuantSpec.type(c.get("format").asText());
        FloatMatrix original = f.matrix(c.get("weight").asText());
        FloatMatrix weight = original.copy();
        byte[] expected = f.bytes(c.get("blocks").asText());
        String kind = c.get("kind").asText();
        if (kind.equals("rtn")) {
            assertThat(QuantMatrix.quantize(format, weight).toByteArray()).as("RTN bytes").isEqualTo(expected);
            return;
        }
        FloatMatrix x = f.matrix(c.get("inputs").asText());
        Mask expectedMask = c.has("mask") ? f.mask(c.get("mask").asText()) : null;
        PruneResult result = switch (kind) {
            case "gptq" -> new GptqQuantizer().quantize(weight, hessian(x), null, format);
            case "gptq_masked" -> {
                expectedMask.applyTo(weight);
                original = weight.copy();
                yield new GptqQuantizer().quantize(weight, hessian(x), expectedMask, format);
            }
            case "joint" -> new SparseGptPruner().pruneAndQuantize(weight, hessian(x),
                    SparsityPattern.parse(c.get("pattern").asText()), format);
            default -> throw new IllegalArgumentException(c.toString());
        };
        if (expectedMask != null) assertThat(result.mask()).as("mask").isEqualTo(expectedMask);
        QuantMatrix ours = result.quantized();
        QuantMatrix ref = QuantMatrix.of(format, weight.rows(), weight.cols(), expected.clone());
        float[] stored = ours.dequantize().data();
        for (int i = 0; i < stored.length; i++) {
            // == rather than equals: a Q4_0 zero is (8 - 8) * d, -0.0 when d < 0, where a pruned weight is +0.0
            assertThat(weight.data()[i] == stored[i]).as("the matrix holds exactly the blocks' values, at %d", i).isTrue();
        }

        int rows = weight.rows();
        int cols = weight.cols();
        long codes = (long) rows * cols;
        long sameCodes = 0;
        long sameScales = 0;
        double maxDiff = 0;
        byte[] mine = ours.toByteArray();
        float[] ourValues = ours.dequantize().data();
        float[] refValues = ref.dequantize().data();
        for (int r = 0; r < rows; r++) {
            for (int col = 0; col < cols; col++) {
                if (GroupGrid.codeAt(format, mine, cols, r, col) == GroupGrid.codeAt(format, expected, cols, r, col)) sameCodes++;
                maxDiff = Math.max(maxDiff, Math.abs(ourValues[r * cols + col] - refValues[r * cols + col]));
            }
            for (int col = 0; col < cols; col += QuantSpec.GROUP) {
                if (Float.floatToIntBits(GroupGrid.scaleAt(format, mine, cols, r, col))
                        == Float.floatToIntBits(GroupGrid.scaleAt(format, expected, cols, r, col))) sameScales++;
            }
        }
        long blocks = codes / QuantSpec.GROUP;
        long sameBlocks = 0;
        for (int b = 0; b < blocks; b++) {
            if (java.util.Arrays.equals(mine, b * format.blockBytes(), (b + 1) * format.blockBytes(),
                    expected, b * format.blockBytes(), (b + 1) * format.blockBytes())) sameBlocks++;
        }
        double errorGptq = layerError(original, weight, x);
        System.out.printf("%-44s identical: codes %d/%d (%.4f%%), scales %d/%d, blocks %d/%d; max value diff %.3g;"
                        + " ||WX-QX||^2 %.6g (reference %.6g)%n", c.get("tag").asText(), sameCodes, codes,
                100.0 * sameCodes / codes, sameScales, blocks, sameBlocks, blocks, maxDiff, errorGptq,
                c.get("error_gptq").asDouble());
        assertThat((double) sameCodes / codes).as("share of identical codes").isGreaterThanOrEqualTo(0.999);
        assertThat(errorGptq).as("layer-wise error vs the reference's")
                .isCloseTo(c.get("error_gptq").asDouble(), org.assertj.core.data.Percentage.withPercentage(1));
        if (c.has("error_rtn")) {
            FloatMatrix rtn = QuantMatrix.quantize(format, original).dequantize();
            double errorRtn = layerError(original, rtn, x);
            assertThat(errorRtn).as("RTN error vs the reference's RTN")
                    .isCloseTo(c.get("error_rtn").asDouble(), org.assertj.core.data.Percentage.withPercentage(1e-6));
            assertThat(errorGptq).as("GPTQ's calibration error below RTN's (the paper's claim)").isLessThan(errorRtn);
        }
    }
}
