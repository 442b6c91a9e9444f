package org.prunelab.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

/**
 * The property {@code --format auto} relies on for a Q8_0 / Q4_0 GGUF file: its weights, dequantised on load and
 * rounded again, give back the file's blocks bit for bit, so the kernels run exactly what the file holds.
 */
class RequantizationTest {

    private static FloatMatrix weights(int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) {
            double scale = Math.pow(10, r.nextInt(-6, 3)); // blocks from 1e-6 to 100 in magnitude
            d[i] = r.nextDouble() < 0.3 ? 0f : (float) (r.nextGaussian() * scale);
        }
        // a block of zeros, a block with one nonzero, a block whose largest value is negative
        for (int c = 0; c < 32; c++) d[c] = 0f;
        d[32 + 5] = -3.5f;
        return new FloatMatrix(rows, cols, d);
    }

    @Test
    void roundingDequantisedBlocksAgainReproducesThemExactly() {
        for (QuantType type : QuantType.values()) {
            for (long seed = 1; seed <= 20; seed++) {
                FloatMatrix w = weights(37, 32 * 9, seed);
                QuantMatrix once = QuantMatrix.quantize(type, w);
                QuantMatrix twice = QuantMatrix.quantize(type, once.dequantize());
                assertThat(twice.toByteArray()).as("%s seed %d", type, seed).isEqualTo(once.toByteArray());
            }
        }
    }
}
