package org.prunelab.tensor.quant;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** ggml's Q8_0 / Q4_0 block layouts and rounding rules, on blocks worked out by hand. */
class QuantTypeTest {

    private static float[] block(float... head) {
        float[] x = new float[32];
        System.arraycopy(head, 0, x, 0, head.length);
        return x;
    }

    @Test
    void q8BlockIsFp16ScaleThenInt8QuantsRoundedHalfAwayFromZero() {
        // amax 127: d = 1 (fp16 0x3C00, stored little endian), id = 1, so the quants are roundf(x).
        float[] x = block(127, -63.5f, 0.5f, -0.5f, 2.5f, -2.5f, 0.49999997f, -126.5f);
        byte[] out = new byte[34];
        QuantType.Q8_0.quantize(x, 0, 32, out, 0);
        assertThat(out[0]).isEqualTo((byte) 0x00);
        assertThat(out[1]).isEqualTo((byte) 0x3C);
        assertThat(new byte[] {out[2], out[3], out[4], out[5], out[6], out[7], out[8], out[9]})
                .containsExactly(127, -64, 1, -1, 3, -3, 0, -127);
        float[] back = new float[32];
        QuantType.Q8_0.dequantize(out, 0, 32, back, 0);
        assertThat(back[1]).isEqualTo(-64f);
        assertThat(back[7]).isEqualTo(-127f);
    }

    @Test
    void q4BlockPutsValueJInTheLowNibbleAndJPlus16InTheHighNibbleOfByteJ() {
        float[] x = new float[32];
        x[0] = -8;   // the signed maximum: d = -8 / -8 = 1, id = 1; q = trunc(x + 8.5)
        x[16] = 7;   // q = 15
        x[1] = 0;    // q = 8
        x[17] = -1;  // q = 7
        x[2] = 7.5f; // 16, clamped to 15
        x[18] = -0.5f; // 8.0: exactly 8
        byte[] out = new byte[18];
        QuantType.Q4_0.quantize(x, 0, 32, out, 0);
        assertThat(out[0]).isEqualTo((byte) 0x00);
        assertThat(out[1]).isEqualTo((byte) 0x3C);
        assertThat(out[2]).isEqualTo((byte) 0xF0);
        assertThat(out[3]).isEqualTo((byte) 0x78);
        assertThat(out[4]).isEqualTo((byte) 0x8F);
        float[] back = new float[32];
        QuantType.Q4_0.dequantize(out, 0, 32, back, 0);
        assertThat(back[0]).isEqualTo(-8f);
        assertThat(back[16]).isEqualTo(7f);
        assertThat(back[2]).isEqualTo(7f);
        assertThat(back[17]).isEqualTo(-1f);
    }

    @Test
    void positiveSignedMaximumGivesANegativeQ4Scale() {
        byte[] out = new byte[18];
        QuantType.Q4_0.quantize(block(8, -8), 0, 32, out, 0);
        assertThat(out[1]).isEqualTo((byte) 0xBC); // d = 8 / -8 = -1: fp16 0xBC00
        assertThat(out[2] & 0x0F).isZero();       // 8 * -1 + 8.5 = 0.5 -> 0, i.e. (0 - 8) * -1 = 8
        assertThat(out[3] & 0x0F).isEqualTo(15);  // -8 * -1 + 8.5 = 16.5 -> 16 -> clamped to 15, i.e. 7 * -1 = -7
    }

    /** ggml starts its signed maximum at +0.0f, so any all-zero block gets d = -0.0 (gguf-py keeps a -0.0 element's sign). */
    @Test
    void zeroBlocksFollowGgmlIncludingNegativeZeros() {
        for (float zero : new float[] {0f, -0f}) {
            float[] x = new float[32];
            java.util.Arrays.fill(x, zero);
            byte[] q4 = new byte[18];
            QuantType.Q4_0.quantize(x, 0, 32, q4, 0);
            assertThat(new byte[] {q4[0], q4[1]}).containsExactly(0x00, 0x80);
            for (int j = 2; j < 18; j++) assertThat(q4[j]).isEqualTo((byte) 0x88);
            byte[] q8 = new byte[34];
            QuantType.Q8_0.quantize(x, 0, 32, q8, 0);
            for (byte b : q8) assertThat(b).isZero();
        }
    }

    @Test
    void roundfRoundsHalfwayCasesAwayFromZero() {
        assertThat(QuantType.roundHalfAway(2.5f)).isEqualTo(3f);
        assertThat(QuantType.roundHalfAway(-2.5f)).isEqualTo(-3f);
        assertThat(QuantType.roundHalfAway(-0.5f)).isEqualTo(-1f);
        assertThat(QuantType.roundHalfAway(0.49999997f)).isEqualTo(0f); // floor(x + 0.5f) would give 1
        assertThat(QuantType.roundHalfAway(126.49999f)).isEqualTo(126f);
        assertThat(QuantType.roundHalfAway(-0f)).isEqualTo(-0f);
    }

    @Test
    void sizesFollowTheBlockGeometry() {
        assertThat(QuantType.Q8_0.blockBytes()).isEqualTo(34);
        assertThat(QuantType.Q4_0.blockBytes()).isEqualTo(18);
        assertThat(QuantType.Q8_0.ggmlTypeId()).isEqualTo(8);
        assertThat(QuantType.Q4_0.ggmlTypeId()).isEqualTo(2);
        assertThat(QuantType.Q8_0.rowBytes(576)).isEqualTo(612);
        assertThat(QuantType.Q4_0.matrixBytes(49152, 576)).isEqualTo(49152L * 18 * 18);
        assertThatThrownBy(() -> QuantType.Q4_0.rowBytes(100))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("100 columns").hasMessageContaining("multiple of 32");
    }

    @Test
    void selectRowsCopiesWholeRowsOfBlocks() {
        float[] d = new float[4 * 64];
        for (int i = 0; i < d.length; i++) d[i] = (float) Math.sin(i);
        for (QuantType type : QuantType.values()) {
            QuantMatrix m = QuantMatrix.quantize(type, new FloatMatrix(4, 64, d));
            QuantMatrix picked = m.selectRows(new int[] {3, 0, 3});
            FloatMatrix all = m.dequantize();
            FloatMatrix got = picked.dequantize();
            assertThat(got.rows()).isEqualTo(3);
            for (int c = 0; c < 64; c++) {
                assertThat(got.get(0, c)).isEqualTo(all.get(3, c));
                assertThat(got.get(1, c)).isEqualTo(all.get(0, c));
                assertThat(got.get(2, c)).isEqualTo(all.get(3, c));
            }
            assertThatThrownBy(() -> m.selectRows(new int[] {4})).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }
}
