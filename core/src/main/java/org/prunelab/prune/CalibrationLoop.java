package org.prunelab.prune;

import org.prunelab.Progress;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.ActivationCache;
import org.prunelab.model.DecoderModel;

import java.util.ArrayList;
import java.util.List;

/**
 * The one layer-wise calibration loop every pruning method runs in, with sequential propagation as in
 * locuslab/wanda's {@code prune_wanda} / {@code prune_sparsegpt} (REFERENCE.md "Calibration"). A method is one or
 * more {@link Pass}es over the blocks; each pass, for block l:
 *
 * <ol>
 *   <li>runs block l on every calibration window (positions 0..seqlen-1, causal mask, exactly as the forward pass
 *       does) while the pass's {@link BlockObserver} accumulates statistics — block l's inputs are the outputs of the
 *       blocks before it <em>as this pass left them</em>, so a pruning pass calibrates block l on what the already
 *       pruned blocks produce;</li>
 *   <li>asks the pass for block l's replacement ({@link Pass#apply}: a pruned copy, a smaller block, the block
 *       itself, or null to remove it) — selection and, if the method has one, compensation happen there;</li>
 *   <li>re-runs the replacement on the cached inputs; its outputs, overwriting them, are block l+1's inputs.</li>
 * </ol>
 *
 * A pass that changes nothing ({@link Pass#modifiesBlocks()} false: OWL's outlier scan, FLAP's global ranking,
 * ShortGPT's block influence) collects its statistics in the same forward run that produces block l+1's inputs. A
 * pass without calibration (magnitude, plain low-rank, ShortGPT's removal) only applies. The hidden states live in an
 * {@link ActivationCache} (a temporary file, sized nsamples x seqlen x hidden from the requested seqlen). After each
 * block step that made statistics or a new block the loop asks for a collection, so a block's statistics and solver
 * temporaries do not pile up block after block (without it SparseGPT's peak RSS reached 7.6x the fp32 model's size,
 * and OWL's scan, 28 MB of Wanda scores per block, 0.8-1.2x — measures of the collector, not of the methods).
 *
 * <p>The loop never changes the input model's blocks; with {@link PruneOptions#releaseInput()} it drops the input's
 * block l once the last pass has replaced it. Progress: every pass counts as one set of blocks.
 */
public final class CalibrationLoop implements AutoCloseable {

    /** One walk over the blocks. */
    public interface Pass {
        /** Progress label for block l of n, e.g. {@code "block 3/30"} or {@code "OWL outlier scan, block 3/30"}. */
        String label(int layer, int blocks);

        /** Whether this pass runs the blocks on the calibration windows. */
        boolean calibrated();

        /** False if {@link #apply} always returns its block unchanged (a scan). */
        boolean modifiesBlocks();

        /** What to collect while block l runs, or null for nothing (then a calibrated pass only propagates). */
        BlockObserver observer(int layer, DecoderBlock block);

        /**
         * Block l's replacement: a new block (never the input block modified in place), the block itself, or null to
         * remove it from the model.
         *
         * @param stats what {@link #observer} returned, after every window ran; null if it returned null
         */
        DecoderBlock apply(int layer, DecoderBlock block, BlockObserver stats);
    }

    /**
     * The usual pruning pass, labelled {@code "block i/n"}: for block l, {@code observer} says what to collect (or
     * null), and {@code apply} builds the replacement from it.
     *
     * @param calibrated whether the blocks run on the calibration windows
     */
    public static Pass pruningPass(boolean calibrated, java.util.function.BiFunction<Integer, DecoderBlock, BlockObserver> observer,
                                   Apply apply) {
        return new Pass() {
            @Override public String label(int layer, int blocks) { return "block " + (layer + 1) + "/" + blocks; }
            @Override public boolean calibrated() { return calibrated; }
            @Override public boolean modifiesBlocks() { return true; }
            @Override public BlockObserver observer(int layer, DecoderBlock block) { return observer.apply(layer, block); }
            @Override public DecoderBlock apply(int layer, DecoderBlock block, BlockObserver stats) { return apply.apply(layer, block, stats); }
        };
    }

    /** {@link Pass#apply} as a function. */
    @FunctionalInterface
    public interface Apply {
        DecoderBlock apply(int layer, DecoderBlock block, BlockObserver stats);
    }

    private final DecoderModel model;
    private final List<int[]> windows;
    private final int passes;
    private final PruneOptions options;
    private int passesRun;
    private List<DecoderBlock> current;
    private ActivationCache cache;
    private org.prunelab.model.BlockScratch scratch;

    /**
     * @param model   the model to calibrate on (never modified)
     * @param windows calibration windows, all seqlen long; may be empty when no pass is calibrated
     * @param passes  how many passes the method will run (for progress, and to know the last one)
     */
    public CalibrationLoop(DecoderModel model, List<int[]> windows, int passes, PruneOptions options) {
        this.model = model;
        this.windows = windows;
        this.passes = passes;
        this.options = options;
        this.current = new ArrayList<>(model.blocks());
    }

    /**
     * Runs one pass over the blocks as the previous passes left them and returns the blocks after it (removed ones
     * left out, the rest renumbered).
     */
    public List<DecoderBlock> run(Pass pass) {
        if (passesRun >= passes) throw new IllegalStateException("this loop was made for " + passes + " passes");
        int offset = passesRun * current.size();
        int total = passes * current.size();
        boolean last = passesRun == passes - 1;
        passesRun++;
        Progress progress = options.progress();
        int blocks = current.size();
        int hidden = model.config().hiddenSize();
        float[] x = null;
        float[] in = null;
        if (pass.calibrated()) {
            CalibrationData.checkWindows(model, windows);
            int seqlen = windows.getFirst().length;
            if (cache == null) cache = ActivationCache.create(options.scratchDir(), windows.size(), seqlen, hidden);
            for (int w = 0; w < windows.size(); w++) cache.write(w, model.embed(windows.get(w)));
            x = new float[seqlen * hidden];
        }
        List<DecoderBlock> next = new ArrayList<>(blocks);
        for (int l = 0; l < blocks; l++) {
            progress.update(offset + l, total, pass.label(l, blocks));
            DecoderBlock block = current.get(l);
            boolean more = l + 1 < blocks;
            BlockObserver stats = pass.observer(l, block);
            boolean propagated = false;
            if (pass.calibrated() && stats != null) {
                // A scan's statistics run is also the run that produces block l+1's inputs.
                propagated = !pass.modifiesBlocks() && more;
                if (stats.wantsBlockOutput() && in == null) in = new float[x.length];
                observe(block, stats, x, stats.wantsBlockOutput() ? in : null, propagated);
            }
            DecoderBlock replacement = pass.apply(l, block, stats);
            if (!pass.modifiesBlocks() && replacement != block) {
                throw new IllegalStateException("pass '" + pass.label(l, blocks) + "' does not modify blocks but replaced block " + l);
            }
            if (pass.calibrated() || pass.modifiesBlocks()) {
                // A block's statistics and what the step made of them (Wanda scores for OWL's outlier ratio, Gram
                // matrices, solver temporaries) are garbage now; collect before the next block adds its own.
                stats = null;
                System.gc();
            }
            // A removed block passes its inputs on unchanged: they are the next block's inputs.
            if (pass.calibrated() && more && !propagated && replacement != null) propagate(replacement, x);
            if (last && options.sink() != null && replacement != null && pass.modifiesBlocks()) {
                if (replacement == block && block.isStreamed()) {
                    // An unchanged streamed input block (a method that keeps it) is written as it is read.
                    replacement = block.withLinears(block.index(), block.linears());
                }
                replacement = options.sink().accept(replacement);
            }
            block.unload(); // a streamed input block is read again by the next pass, or never
            next.add(replacement);
            if (last && options.sink() != null) {
                // Streaming: the block just written and its input are garbage now; collect them before the next block is
                // read, so the peak holds one block's weights, not two blocks' plus their leftovers.
                replacement = null;
                System.gc();
            }
            if (last && options.releaseInput() && replacement != block && model.blocks().contains(block)) block.release();
        }
        progress.update(offset + blocks, total, "blocks");
        List<DecoderBlock> kept = new ArrayList<>();
        for (DecoderBlock b : next) {
            if (b == null) continue;
            kept.add(b.index() == kept.size() ? b : b.withLinears(kept.size(), b.linears()));
        }
        current = kept;
        return List.copyOf(kept);
    }

    /** Runs the block on every cached window with the observer; writes the outputs back only if {@code propagate}. */
    private void observe(DecoderBlock block, BlockObserver stats, float[] x, float[] in, boolean propagate) {
        int seqlen = windows.getFirst().length;
        int hidden = model.config().hiddenSize();
        for (int w = 0; w < cache.windows(); w++) {
            cache.read(w, x);
            if (in != null) System.arraycopy(x, 0, in, 0, x.length);
            model.runBlock(block, x, seqlen, 0, (layer, name, input, tokens, features) ->
                    stats.onLinearInput(name, input, tokens, features), scratch(seqlen));
            if (in != null) stats.onBlockOutput(in, x, seqlen, hidden);
            if (propagate) cache.write(w, x);
        }
    }

    /** Replaces every cached window by {@code block}'s output on it: the inputs of the next block. */
    private void propagate(DecoderBlock block, float[] x) {
        int seqlen = windows.getFirst().length;
        for (int w = 0; w < cache.windows(); w++) {
            cache.read(w, x);
            model.runBlock(block, x, seqlen, 0, null, scratch(seqlen));
            cache.write(w, x);
        }
    }

    /** One set of forward buffers for every window of every block (fresh ones per window are GBs of garbage at 7B). */
    private org.prunelab.model.BlockScratch scratch(int seqlen) {
        if (scratch == null || scratch.tokens() != seqlen) scratch = model.newScratch(seqlen);
        return scratch;
    }

    /** Closes the activation cache and tells the progress listener the work ended. */
    @Override
    public void close() {
        try {
            if (cache != null) cache.close();
        } finally {
            options.progress().finish();
        }
    }
}
