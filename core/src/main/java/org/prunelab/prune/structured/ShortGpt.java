package org.prunelab.prune.structured;

import org.prunelab.prune.CalibrationData;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.LlamaModel;
import org.prunelab.prune.ActivationCache;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * ShortGPT (Men et al. 2024): drops the {@code layers} decoder blocks with the lowest Block Influence,
 * {@code BI_l = 1 - mean_t cos(x_t^in, x_t^out)} over every calibration token, where x^in and x^out are the
 * block's input and output hidden states on the dense model. A block that barely turns the residual stream
 * changes the model least when removed. The remaining blocks keep their order and are renumbered.
 */
public final class ShortGpt {
    private final int layers;

    /** @throws PrunelabException.InvalidArgument if layers is below 1 */
    public ShortGpt(int layers) {
        if (layers < 1) throw new PrunelabException.InvalidArgument("--layers must be at least 1, got " + layers);
        this.layers = layers;
    }

    /**
     * @throws PrunelabException.InvalidArgument if layers >= num_hidden_layers (a model needs one block), or the
     *         windows are empty or uneven
     */
    public StructuredResult prune(LlamaModel model, List<int[]> windows, Progress progress) {
        int blocks = model.blocks().size();
        if (layers >= blocks) {
            throw new PrunelabException.InvalidArgument("--layers " + layers + " would remove every block of a model with "
                    + blocks + " (num_hidden_layers); use --layers " + (blocks - 1) + " or fewer");
        }
        CalibrationData.checkWindows(model, windows);
        double[] bi = blockInfluence(model, windows, progress);
        List<Integer> removed = IntStream.range(0, blocks).boxed()
                .sorted(Comparator.comparingDouble((Integer l) -> bi[l]).thenComparingInt(l -> l))
                .limit(layers).sorted().toList();
        List<DecoderBlock> kept = new ArrayList<>();
        for (DecoderBlock b : model.blocks()) {
            if (!removed.contains(b.index())) kept.add(b.withLinears(kept.size(), b.linears()));
        }
        LlamaModel pruned = model.withBlocks(Calibration.tightConfig(model.config(), kept), kept);
        return new StructuredResult("shortgpt", (double) layers / blocks, "uniform", pruned,
                Calibration.linearParameters(model), Calibration.linearParameters(pruned), removed);
    }

    /** BI of every block of the dense model, {@code [num_hidden_layers]}. */
    public static double[] blockInfluence(LlamaModel model, List<int[]> windows, Progress progress) {
        int blocks = model.blocks().size();
        int hidden = model.config().hiddenSize();
        int seqlen = windows.getFirst().length;
        double[] bi = new double[blocks];
        try (ActivationCache cache = ActivationCache.create(windows.size(), seqlen, hidden)) {
            Calibration.embed(model, windows, cache);
            float[] x = new float[seqlen * hidden];
            float[] in = new float[seqlen * hidden];
            for (int l = 0; l < blocks; l++) {
                progress.update(l, blocks, "block influence " + (l + 1) + "/" + blocks);
                double sum = 0;
                for (int w = 0; w < cache.windows(); w++) {
                    cache.read(w, x);
                    System.arraycopy(x, 0, in, 0, x.length);
                    model.runBlock(l, x, seqlen, 0, null);
                    cache.write(w, x);
                    for (int t = 0; t < seqlen; t++) sum += 1 - cosine(in, x, t * hidden, hidden);
                }
                bi[l] = sum / ((double) cache.windows() * seqlen);
            }
            progress.update(blocks, blocks, "blocks");
        } finally {
            progress.finish();
        }
        return bi;
    }

    private static double cosine(float[] a, float[] b, int off, int n) {
        double dot = 0, na = 0, nb = 0;
        for (int i = off; i < off + n; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }
}
