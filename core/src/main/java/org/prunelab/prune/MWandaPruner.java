package org.prunelab.prune;

import org.prunelab.PrunelabException;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.ModelShape;
import org.prunelab.tensor.FloatMatrix;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * M-Wanda: Wanda with language-aware activation statistics and cross-lingual layer-wise sparsity, after Choenni &amp;
 * Titov, "M-Wanda: Improving One-Shot Pruning for Multilingual LLMs", EMNLP 2025 (arXiv:2505.21171; code
 * github.com/RochelleChoenni/M-Wanda). The paper's three components are implemented as follows; the exact equations
 * and default values of the paper could not be read from the material available when this was written (only its
 * abstract and summaries), so the formulas below are prunelab's reading of those components, and the defaults are
 * prunelab's, not the paper's — check them against Sec. 3 of the paper before quoting numbers as M-Wanda's.
 *
 * <ol>
 *   <li><b>Language-aware activation statistics.</b> The calibration windows carry their language
 *       ({@link CalibrationData#languages}); for every input feature j and language l, {@code a_lj} is Wanda's norm
 *       over language l's tokens alone ({@link MWandaStats}). Languages count equally, whatever their token counts:
 *       {@code mu_j = mean_l a_lj}, {@code sigma_j = std_l a_lj} (population standard deviation).</li>
 *   <li><b>Cross-lingual variance and activation probability in the score.</b> With {@code p_lj} the share of language
 *       l's tokens on which x_j &gt; 0, {@code S_ij = |W_ij| * A_j} where
 *       {@code A_j = max(0, mu_j - alpha * sigma_j) + beta * mu_j * (max_l p_lj - mean_l p_lj)}: a feature whose norm
 *       varies across languages is penalised against one that is consistently important ({@code alpha}), and a feature
 *       that fires much more often in one language than on average (a language-specific neuron) is protected
 *       ({@code beta}). As in Wanda the lowest {@code floor(in_features * sparsity)} of every output row are removed; N:M
 *       uses the same score within groups of M.</li>
 *   <li><b>Cross-lingual correlation-based layer-wise sparsity (CWL).</b> A first pass over the dense model gives, per
 *       block b, {@code rho_b}: the Pearson correlation between languages' norm vectors {@code a_l.} averaged over
 *       language pairs and the block's input groups. Blocks whose features are used alike across languages (high
 *       rho) are shared by all languages and keep more weights: rho is rescaled to {@code [0, 2 * lambda]} and block b
 *       gets {@code S - (rho'_b - mean rho')} as OWL does with outlier ratios ({@link OwlAllocator#allocate}); the mean
 *       over blocks stays S. Unstructured only (N:M fixes every block's sparsity).</li>
 * </ol>
 *
 * <p><b>One language.</b> Every cross-lingual term vanishes ({@code sigma = 0}, {@code max p = mean p}, no correlation
 * to rank blocks by): M-Wanda calibrated on one language <em>is</em> Wanda, mask for mask. It therefore runs and gives
 * Wanda's result rather than failing; the run pipeline warns that the calibration had one language. Give it several
 * with {@code --calib udhr:eng,udhr:swh,udhr:yor} (the windows' languages come from {@link
 * #withCalibrationLanguages}). Two languages whose statistics are identical give Wanda's mask too.
 *
 * <p>Streams: both passes run block by block in the {@link CalibrationLoop}, like OWL.
 */
public final class MWandaPruner implements Pruner {
    /** Defaults (prunelab's; see the class comment). */
    public static final double DEFAULT_ALPHA = 0.5, DEFAULT_BETA = 1.0, DEFAULT_LAMBDA = 0.08;

    /** The registry entry. */
    public static final Method METHOD = new Method("mwanda", Method.Kind.UNSTRUCTURED,
            "Wanda with per-language input norms (penalise cross-lingual variance, protect language-specific features) and"
                    + " layer sparsity by cross-lingual correlation; needs a multilingual calibration set",
            "Choenni & Titov, \"M-Wanda: Improving One-Shot Pruning for Multilingual LLMs\", EMNLP 2025 (arXiv:2505.21171)",
            "every output row's weights (floor(in_features x sparsity) per row); with cwl, each block's share varies around it",
            List.of(MethodParam.number("sparsity", null, 0, true, 1, false, "share of weights to remove (mean over blocks"
                            + " with cwl); implied (1 - N/M) for an N:M pattern"),
                    MethodParam.pattern("pattern", "unstructured", "unstructured, or N:M (cwl is then off)"),
                    MethodParam.number("alpha", DEFAULT_ALPHA, 0, true, 10, true, "weight of the cross-lingual standard"
                            + " deviation of a feature's norm, subtracted from its mean over languages"),
                    MethodParam.number("beta", DEFAULT_BETA, 0, true, 10, true, "weight of the activation-probability term"
                            + " (max over languages minus mean) that protects language-specific features"),
                    MethodParam.bool("cwl", true, "cross-lingual correlation-based layer-wise sparsity: blocks whose"
                            + " features correlate more across languages keep more weights (unstructured only)"),
                    MethodParam.number("cwl_lambda", DEFAULT_LAMBDA, 0, true, 0.5, false, "half-width of CWL's per-block"
                            + " sparsity range around the target")),
            MWandaPruner::fromArgs);

    private final SparsityPattern pattern;
    private final double alpha;
    private final double beta;
    private final boolean cwl;
    private final double lambda;
    private final List<String> windowLanguages;

    /**
     * @param windowLanguages the language of each calibration window, in the order the windows will be given; null
     *                        when unknown (then all windows count as one language: Wanda)
     */
    public MWandaPruner(SparsityPattern pattern, double alpha, double beta, boolean cwl, double lambda,
                        List<String> windowLanguages) {
        this.pattern = pattern;
        this.alpha = alpha;
        this.beta = beta;
        this.cwl = cwl;
        this.lambda = lambda;
        this.windowLanguages = windowLanguages == null ? null : List.copyOf(windowLanguages);
        if (cwl) new OwlAllocator(OwlAllocator.DEFAULT_M, lambda); // range check
    }

    private static MWandaPruner fromArgs(MethodArgs args) {
        SparsityPattern p = args.pattern();
        boolean cwl = args.bool("cwl");
        if (p instanceof SparsityPattern.NM) {
            if (args.isGiven("cwl") && cwl) {
                throw new PrunelabException.InvalidArgument("${cwl} gives each block its own unstructured sparsity, which the "
                        + p.label() + " pattern cannot express: drop ${cwl} or use ${pattern} unstructured");
            }
            cwl = false;
        }
        return new MWandaPruner(p, args.number("alpha"), args.number("beta"), cwl, args.number("cwl_lambda"), null);
    }

    @Override public String method() { return "mwanda"; }
    @Override public boolean needsCalibration() { return true; }
    @Override public boolean streams() { return true; }
    @Override public boolean languageAware() { return true; }
    @Override public double requestedSparsity(ModelShape shape) { return pattern.sparsity(); }

    /** This pruner with the language of every calibration window (null: unknown, one language). */
    @Override
    public MWandaPruner withCalibrationLanguages(List<String> languages) {
        return new MWandaPruner(pattern, alpha, beta, cwl, lambda, languages);
    }

    /** The distinct calibration languages, in first-seen order (empty when unknown). */
    public List<String> languages() {
        return windowLanguages == null ? List.of() : windowLanguages.stream().distinct().toList();
    }

    @Override
    public void check(ModelShape shape, long calibrationTokens) {
        if (shape.factorised()) {
            throw new PrunelabException.InvalidArgument("the model's linears are low-rank factors, not dense matrices: "
                    + "mwanda prunes the dense model; start from the model the factors were made from");
        }
        if (pattern instanceof SparsityPattern.NM nm) {
            for (int l = 0; l < shape.blocks().size(); l++) {
                for (ModelShape.LinearShape s : shape.linears(l)) nm.checkDivides(s.inFeatures(), "layer " + l + " " + s.name());
            }
        }
    }

    @Override
    public BlockMemory blockMemory(ModelShape shape, int layer, long tokens) {
        int languages = Math.max(1, languages().size());
        Map<String, ModelShape.LinearShape> byName = new java.util.HashMap<>();
        for (ModelShape.LinearShape s : shape.linears(layer)) byName.put(s.name(), s);
        long held = 0;
        for (List<String> group : shape.layout().inputGroups()) held += MWandaStats.bytes(byName.get(group.getFirst()).inFeatures(), languages);
        long peak = 0;
        for (ModelShape.LinearShape s : byName.values()) peak = Math.max(peak, 8L * s.outFeatures() * s.inFeatures() + (long) s.outFeatures() * s.inFeatures() / 8);
        return new BlockMemory(held, peak);
    }

    @Override
    public PruneOutcome prune(DecoderModel model, List<int[]> windows, PruneOptions options) {
        Pruner.requireDense(model);
        check(ModelShape.of(model), 0);
        CalibrationData.checkWindows(model, windows);
        if (windowLanguages != null && windowLanguages.size() != windows.size()) {
            throw new PrunelabException.InvalidArgument("mwanda was told the languages of " + windowLanguages.size()
                    + " calibration windows but given " + windows.size() + " windows");
        }
        int seqlen = windows.getFirst().length;
        List<String> names = languages();
        int[] perWindow = null;
        if (windowLanguages != null) {
            perWindow = new int[windows.size()];
            for (int w = 0; w < perWindow.length; w++) perWindow[w] = names.indexOf(windowLanguages.get(w));
        }
        int languages = Math.max(1, names.size());
        int[] lang = perWindow;
        IntFunction<MWandaStats> factory = in -> new MWandaStats(in, seqlen, lang, languages);
        boolean layerwise = cwl && languages > 1 && pattern instanceof SparsityPattern.Unstructured;
        Score score = new Score(alpha, beta);
        List<PrunedLinear> pruned = new ArrayList<>();
        double[] blockSparsities = null;
        long before = PruneOutcome.linearParameters(model);
        try (CalibrationLoop loop = new CalibrationLoop(model, windows, layerwise ? 2 : 1, options)) {
            if (layerwise) {
                double[] rho = new double[model.blocks().size()];
                loop.run(new LayerwisePruner.ScanPass<>("M-Wanda cross-lingual correlation scan, ", factory) {
                    @Override
                    void collect(int layer, DecoderBlock block, LinearStats<MWandaStats> stats) {
                        rho[layer] = blockCorrelation(block, stats);
                    }
                });
                blockSparsities = allocate(rho, pattern.sparsity(), lambda);
            }
            double[] perBlock = blockSparsities;
            @SuppressWarnings("unchecked")
            List<DecoderBlock> blocks = loop.run(CalibrationLoop.pruningPass(true,
                    (layer, block) -> LinearStats.all(block, factory),
                    (layer, block, stats) -> LayerwisePruner.pruneBlock(score, block, (LinearStats<CalibrationStats>) stats,
                            perBlock == null ? pattern : SparsityPattern.unstructured(perBlock[layer]), null, pruned,
                            options.sink() != null)));
            DecoderModel out = model.withBlocks(model.config(), blocks);
            return new PruneOutcome("mwanda", pattern.sparsity(), out, before, PruneOutcome.linearParameters(out),
                    PruneOutcome.nonzeroParameters(out), pruned, blockSparsities, null, List.of(), Map.of(), List.of());
        }
    }

    /**
     * CWL's per-block sparsities: higher cross-lingual correlation, lower sparsity; rescaled to {@code [0, 2 lambda]}
     * and centred on S as {@link OwlAllocator#allocate} does.
     *
     * @param rho per-block mean cross-lingual correlation ({@link #blockCorrelation})
     */
    public static double[] allocate(double[] rho, double sparsity, double lambda) {
        double min = java.util.Arrays.stream(rho).min().orElse(0), max = java.util.Arrays.stream(rho).max().orElse(0);
        // Correlations equal up to rounding would otherwise be stretched over the whole range.
        if (max - min < 1e-9) rho = new double[rho.length];
        return new OwlAllocator(OwlAllocator.DEFAULT_M, lambda).allocate(rho, sparsity);
    }

    /**
     * {@code rho_b}: the mean, over the block's input groups (q/k/v, o, gate/up, down) and over language pairs, of the
     * Pearson correlation between the two languages' norm vectors {@code a_l.}; 0 for a pair where one vector is
     * constant.
     */
    static double blockCorrelation(DecoderBlock block, LinearStats<MWandaStats> stats) {
        Map<MWandaStats, Boolean> seen = new IdentityHashMap<>();
        double sum = 0;
        int n = 0;
        for (String name : block.linearNames()) {
            MWandaStats s = stats.get(name);
            if (seen.put(s, Boolean.TRUE) != null) continue;
            sum += crossLingualCorrelation(s);
            n++;
        }
        return n == 0 ? 0 : sum / n;
    }

    /** Mean pairwise Pearson correlation of the seen languages' norm vectors (1 with fewer than two languages). */
    public static double crossLingualCorrelation(MWandaStats s) {
        double[][] a = s.norms();
        List<double[]> seen = new ArrayList<>();
        for (int l = 0; l < s.languages(); l++) if (s.tokens(l) > 0) seen.add(a[l]);
        if (seen.size() < 2) return 1;
        double sum = 0;
        int pairs = 0;
        for (int x = 0; x < seen.size(); x++) {
            for (int y = x + 1; y < seen.size(); y++) {
                sum += pearson(seen.get(x), seen.get(y));
                pairs++;
            }
        }
        return sum / pairs;
    }

    static double pearson(double[] u, double[] v) {
        int n = u.length;
        if (java.util.Arrays.equals(u, v)) return n < 2 || java.util.Arrays.stream(u).distinct().count() < 2 ? 0 : 1;
        double mu = 0, mv = 0;
        for (int i = 0; i < n; i++) {
            mu += u[i];
            mv += v[i];
        }
        mu /= n;
        mv /= n;
        double cov = 0, vu = 0, vv = 0;
        for (int i = 0; i < n; i++) {
            double du = u[i] - mu, dv = v[i] - mv;
            cov += du * dv;
            vu += du * du;
            vv += dv * dv;
        }
        return vu == 0 || vv == 0 ? 0 : cov / Math.sqrt(vu * vv);
    }

    /** The per-matrix score: {@code |W_ij| * A_j} ({@link MWandaStats#importance}), compared within rows. */
    static final class Score extends ScorePruner<MWandaStats> {
        private final double alpha;
        private final double beta;

        Score(double alpha, double beta) {
            this.alpha = alpha;
            this.beta = beta;
        }

        @Override public String name() { return "mwanda"; }

        /** Never called by the loop (the pruner makes the statistics, knowing the windows' languages). */
        @Override public MWandaStats newStats(int inFeatures) { return new MWandaStats(inFeatures, 1, null, 1); }

        @Override
        protected double[] scores(FloatMatrix weight, MWandaStats stats) {
            return scores(weight, stats, alpha, beta);
        }

        static double[] scores(FloatMatrix weight, MWandaStats stats, double alpha, double beta) {
            double[] importance = stats.importance(alpha, beta);
            float[] w = weight.data();
            int cols = weight.cols();
            double[] s = new double[w.length];
            for (int i = 0; i < w.length; i++) s[i] = Math.abs((double) w[i]) * importance[i % cols];
            return s;
        }

        @Override protected MaskSelector.Group group() { return MaskSelector.Group.ROW; }

        @Override
        protected int deadInputs(MWandaStats stats) {
            int dead = 0;
            double[][] a = stats.norms();
            for (int j = 0; j < stats.inFeatures(); j++) {
                boolean any = false;
                for (double[] row : a) any |= row[j] != 0;
                if (!any) dead++;
            }
            return dead;
        }
    }

    /** M-Wanda's score of {@code weight} on {@code stats}, row-major {@code [out, in]} (for tests and studies). */
    public static double[] scores(FloatMatrix weight, MWandaStats stats, double alpha, double beta) {
        return Score.scores(weight, stats, alpha, beta);
    }

    /** Per-matrix pruning with M-Wanda's score (no layer-wise allocation), in place. */
    public static PruneResult pruneMatrix(FloatMatrix weight, MWandaStats stats, SparsityPattern pattern, double alpha, double beta) {
        return new Score(alpha, beta).prune(weight, stats, pattern);
    }
}
