package org.prunelab.sweep;

import org.prunelab.Progress;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.Linear;
import org.prunelab.model.LlamaModel;
import org.prunelab.prune.structured.LowRank;
import org.prunelab.prune.structured.ShortGpt;
import org.prunelab.prune.structured.StructuredMethod;
import org.prunelab.prune.structured.StructuredPruner;
import org.prunelab.prune.structured.StructuredResult;

import java.util.List;

/**
 * How a sweep point's single {@code sparsity} (share of the blocks' linear parameters to remove) becomes each
 * structured method's own setting. The pruned model is a new, smaller model; the input model is untouched.
 * <ul>
 *   <li>{@code fasp}: MLP channels and heads removed uniformly per block, least-squares restoration on;</li>
 *   <li>{@code flap}: fluctuation score, global standardised ranking, bias compensation;</li>
 *   <li>{@code shortgpt}: {@code round(sparsity * num_hidden_layers)} blocks (at least 1) of lowest Block Influence;</li>
 *   <li>{@code lowrank}: activation-weighted truncated SVD at the rank ratio that stores {@code 1 - sparsity} of
 *       the blocks' linear parameters (a rank-r factorisation of an [out, in] matrix keeps r (in + out) of them).</li>
 * </ul>
 */
final class StructuredMethods {
    static final List<String> NAMES = List.of("fasp", "flap", "shortgpt", "lowrank");

    private StructuredMethods() {}

    static StructuredResult prune(String method, double sparsity, LlamaModel model, List<int[]> windows, Progress progress) {
        return switch (method) {
            case "fasp" -> new StructuredPruner(new StructuredMethod.Fasp(true), sparsity, StructuredPruner.Allocation.UNIFORM)
                    .prune(model, windows, progress);
            case "flap" -> new StructuredPruner(new StructuredMethod.Flap(), sparsity, StructuredPruner.Allocation.GLOBAL)
                    .prune(model, windows, progress);
            case "shortgpt" -> new ShortGpt(Math.max(1, (int) Math.round(sparsity * model.config().numHiddenLayers())))
                    .prune(model, windows, progress);
            case "lowrank" -> new LowRank(lowRankRatio(model, sparsity), true).prune(model, windows, progress);
            default -> throw new IllegalArgumentException("not a structured method: " + method);
        };
    }

    /** Rank ratio rho (rank = rho * min(in, out)) whose factors keep {@code 1 - sparsity} of the block linears' parameters. */
    static double lowRankRatio(LlamaModel model, double sparsity) {
        double dense = 0, perRho = 0;
        for (DecoderBlock b : model.blocks()) {
            for (Linear l : b.linears().values()) {
                long in = l.inFeatures(), out = l.outFeatures();
                dense += (double) in * out;
                perRho += (double) Math.min(in, out) * (in + out);
            }
        }
        return Math.min(1.0, (1 - sparsity) * dense / perRho);
    }
}
