package org.prunelab.arch;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.prunelab.Progress;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.LoadedModel;
import org.prunelab.prune.Method;
import org.prunelab.prune.Methods;
import org.prunelab.prune.PruneOptions;
import org.prunelab.prune.PruneOutcome;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tiny random-weight checkpoint that transformers wrote under {@code fixtures/<name>/} with its reference logits
 * (made by {@code tools/reference/tiny_qwen2_fixture.py --family ...}, pruned exports' logits by
 * {@code tiny_qwen2_pruned.py --family ...}; commands in {@code tools/reference/README.md}), and what the per-family
 * reference tests share: reading the fixture files, loading the folder, the calibration windows and FASP.
 *
 * @param root    resource folder, e.g. {@code /fixtures/tiny-qwen3/}
 * @param family  the {@code --family} the scripts were run with, for messages
 */
record TinyFixture(String root, String family) {

    /** A fixture file (fails naming the script that makes it when it is missing). */
    Path resource(String rel) {
        var url = TinyFixture.class.getResource(root + rel);
        assertThat(url).as("fixture %s (made by tools/reference/tiny_qwen2_fixture.py --family %s, pruned-* by"
                + " tiny_qwen2_pruned.py --family %s; commands in tools/reference/README.md)", root + rel, family, family)
                .isNotNull();
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Token id sequences stored as a JSON list of lists. */
    int[][] tokens(String rel) throws IOException {
        return new ObjectMapper().readValue(resource(rel).toFile(), int[][].class);
    }

    /** Little-endian float32 values. */
    float[] floats(String rel) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(resource(rel))).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }

    /** The transformers-written folder {@code hf/} through the project's loader. */
    LoadedModel load() {
        return ModelLoader.load(resource("hf").toString(), PrunelabHome.fromEnvironment());
    }

    /** 4 calibration windows of 32 random token ids below {@code vocab} (seed 17: every family's test uses them). */
    static List<int[]> windows(int vocab) {
        SplittableRandom r = new SplittableRandom(17);
        List<int[]> w = new ArrayList<>();
        for (int i = 0; i < 4; i++) w.add(r.ints(32, 0, vocab).toArray());
        return w;
    }

    /** {@code method} (a registry name) with uniform allocation at {@code sparsity}, on {@link #windows}. */
    static PruneOutcome prune(DecoderModel model, String method, double sparsity) {
        Method m = Methods.byName(method);
        return m.create(m.args(Map.of("sparsity", sparsity, "allocation", "uniform")))
                .prune(model, windows(model.config().vocabSize()), PruneOptions.keepInput(Progress.NONE));
    }

    /**
     * The largest |logit - reference| over every sequence's full forward pass, and over the cached path (prefill of
     * the first 5 tokens of the first sequence, then one token at a time), which must reach the same numbers.
     *
     * @param ref the reference logits {@code [sequences, tokens, vocab]}, row-major
     */
    static double maxLogitDiff(DecoderModel model, int[][] seqs, float[] ref) {
        int vocab = model.config().vocabSize();
        double worst = 0;
        int offset = 0;
        for (int[] seq : seqs) {
            float[] expected = java.util.Arrays.copyOfRange(ref, offset, offset + seq.length * vocab);
            worst = Math.max(worst, maxAbsDiff(model.logits(seq), expected));
            offset += seq.length * vocab;
        }
        int[] seq = seqs[0];
        org.prunelab.model.KvCache cache = model.newCache(seq.length);
        float[] last = model.prefill(java.util.Arrays.copyOf(seq, 5), cache);
        worst = Math.max(worst, maxAbsDiff(last, java.util.Arrays.copyOfRange(ref, 4 * vocab, 5 * vocab)));
        for (int t = 5; t < seq.length; t++) {
            worst = Math.max(worst, maxAbsDiff(model.decode(seq[t], cache), java.util.Arrays.copyOfRange(ref, t * vocab, (t + 1) * vocab)));
        }
        return worst;
    }

    /**
     * The largest |logit - reference| of {@code pruned} against transformers' logits of the same export
     * ({@code pruned-<name>/logits.bin}, made by {@code tiny_qwen2_pruned.py --family <family>} on the folder the test
     * writes), over every sequence of {@code tokens.json}.
     */
    double maxExportDiff(String name, DecoderModel pruned) throws IOException {
        int[][] seqs = tokens("tokens.json");
        float[] ref = floats("pruned-" + name + "/logits.bin");
        int vocab = pruned.config().vocabSize();
        double worst = 0;
        int offset = 0;
        for (int[] seq : seqs) {
            worst = Math.max(worst, maxAbsDiff(pruned.logits(seq), java.util.Arrays.copyOfRange(ref, offset, offset + seq.length * vocab)));
            offset += seq.length * vocab;
        }
        System.out.printf("%s %s: max |prunelab - transformers| logit difference %.3g%n", root, name, worst);
        return worst;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }
}
