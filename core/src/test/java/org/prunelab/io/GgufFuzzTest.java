package org.prunelab.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.prunelab.PrunelabException;
import org.prunelab.arch.Architectures;
import org.prunelab.fuzz.FuzzContract;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz targets for the GGUF reader (header, metadata, tensor table, the config and tokenizer read from the metadata)
 * and the ggml dequantisers, under the contract of {@link FuzzContract}. Under {@code mvn test} each runs on its
 * committed inputs ({@code GgufFuzzTestInputs/<method>/}: seeds cut from the real models and hand-made cases, and
 * every crash the campaign found); {@code tools/fuzz/campaign.sh} fuzzes them.
 */
class GgufFuzzTest {
    private static final Path NAME = Path.of("fuzz.gguf");

    /** Tensors above this many elements are not dequantised here (their size was already checked against the file). */
    private static final long DEQUANT_LIMIT = 1 << 20;

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void headerAndTensorTable(byte[] input) {
        FuzzContract.run(input.length, () -> {
            try (GgufFile f = GgufFile.parse(NAME, MemorySegment.ofArray(input))) {
                exercise(f, input.length);
            }
        });
    }

    /** Everything a load reads from a parsed file: typed metadata, tensor bytes, fp32 values, config, tokenizer. */
    private static void exercise(GgufFile f, long fileBytes) {
        assertThat(f.version()).isIn(2, 3);
        assertThat(f.dataOffset()).isBetween(0L, Math.max(fileBytes, f.dataOffset()));
        GgufMetadata md = f.metadata();
        for (String key : md.keys()) readTyped(md, key);
        assertThat(md.toString()).isNotNull();
        for (GgufTensorInfo t : f.tensors()) {
            assertThat(f.data(t).byteSize()).isEqualTo(t.byteSize());
            assertThat(f.dataOffset() + t.dataOffset() + t.byteSize()).isLessThanOrEqualTo(fileBytes);
            assertThat(f.tensor(t.name())).isEqualTo(t);
            if (t.type().isDequantisable() && t.elementCount() <= DEQUANT_LIMIT) {
                assertThat(f.dequantize(t)).hasSize((int) t.elementCount());
            }
        }
        ignoreRefusal(() -> f.tensor("no.such.tensor"));
        if (md.contains("general.architecture")) {
            ignoreRefusal(() -> Architectures.forGguf(md.getString("general.architecture"), NAME.toString()).readGgufConfig(f));
        }
        if (md.contains("tokenizer.ggml.model")) {
            ignoreRefusal(() -> TokenizerJsonBuilder.toJsonString(GgufVocab.fromMetadata(md, NAME)));
        }
    }

    /** Calls the getter that fits the declared type, and one that does not (which must refuse with a message). */
    private static void readTyped(GgufMetadata md, String key) {
        GgufMetadata.Entry e = md.entry(key);
        switch (e.type()) {
            case STRING -> md.getString(key);
            case BOOL -> md.getBool(key);
            case FLOAT32, FLOAT64 -> md.getDouble(key);
            case ARRAY -> {
                GgufMetadata.GgufArray a = md.getArray(key);
                ignoreRefusal(() -> md.getStringArray(key));
                ignoreRefusal(() -> md.getIntArray(key));
                ignoreRefusal(() -> md.getFloatArray(key));
                assertThat(md.arrayLength(key)).isEqualTo(a.size());
            }
            default -> {
                ignoreRefusal(() -> md.getLong(key));
                ignoreRefusal(() -> md.getInt(key));
            }
        }
        ignoreRefusal(() -> e.type() == GgufValueType.STRING ? md.getBool(key) : md.getString(key));
    }

    /** The dequantisable types, in declaration order: the first input byte picks one (seeds are written that way). */
    static final List<GgmlType> DEQUANT_TYPES = List.copyOf(GgmlType.DEQUANTISABLE);

    /**
     * The dequantisers on arbitrary blocks. Input: one byte choosing the type, one the output offset (0-7), then the
     * blocks. Any bytes decode without an exception, and decoding is block-local: the whole run, decoded in the chunks
     * {@link GgmlDequant} uses, equals each block decoded alone (checked for the first two blocks, the two on each side
     * of the first chunk boundary and the last), also into an offset of a larger array.
     */
    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void dequantisers(byte[] input) {
        if (input.length < 2) return;
        GgmlType type = DEQUANT_TYPES.get((input[0] & 0xFF) % DEQUANT_TYPES.size());
        int offset = input[1] & 7;
        MemorySegment src = MemorySegment.ofArray(input).asSlice(2);
        int blocks = (int) (src.byteSize() / type.typeSize());
        int count = blocks * type.blockSize();
        FuzzContract.Outcome<float[]> whole = FuzzContract.check(input.length, () -> GgmlDequant.dequantize(type, src, count));
        assertThat(whole.accepted()).as("dequantisation of whole blocks never refuses").isTrue();
        float[] all = whole.result();
        assertThat(all).hasSize(count);
        float[] shifted = new float[offset + count];
        GgmlDequant.dequantize(type, src, shifted, offset, count);
        int chunkBlocks = Math.max(1, 16 * 1024 / type.blockSize());
        java.util.Set<Integer> sample = new java.util.TreeSet<>(List.of(0, 1, chunkBlocks - 1, chunkBlocks, blocks - 1));
        for (int b : sample) {
            if (b < 0 || b >= blocks) continue;
            float[] one = GgmlDequant.dequantize(type, src.asSlice((long) b * type.typeSize(), type.typeSize()), type.blockSize());
            for (int i = 0; i < one.length; i++) { // plain comparisons: an assertion object per value is slow when fuzzing
                int at = b * type.blockSize() + i;
                int want = Float.floatToRawIntBits(one[i]);
                if (Float.floatToRawIntBits(all[at]) != want || Float.floatToRawIntBits(shifted[offset + at]) != want) {
                    throw new AssertionError(type + " block " + b + " value " + i + ": " + all[at] + " / "
                            + shifted[offset + at] + " decoded in a run, " + one[i] + " decoded alone");
                }
            }
        }
    }

    /** Runs a call that may refuse its input; a refusal must carry a message. */
    static void ignoreRefusal(java.util.function.Supplier<?> call) {
        try {
            call.get();
        } catch (PrunelabException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }
}
