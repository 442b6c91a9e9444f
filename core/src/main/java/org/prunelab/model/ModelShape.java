package org.prunelab.model;


import org.prunelab.tensor.Linear;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a model looks like without its weights: the config and each block's widths. Read from a file header in
 * milliseconds ({@code ModelLoader.inspect}), so a run can check its whole spec against the model (seqlen against
 * the context, N:M against every linear's in_features, a structured ratio against the widths) before seconds of
 * loading and dequantising.
 *
 * @param config      the model's config (the largest widths when blocks differ)
 * @param blocks      each block's widths, {@code [num_hidden_layers]}
 * @param factorised  whether the block linears are stored as low-rank factors (a model that low-rank pruning made)
 * @param layout      the family's names for the block linears
 */
public record ModelShape(DecoderConfig config, List<BlockShape> blocks, boolean factorised, BlockLayout layout) {
    public ModelShape {
        blocks = List.copyOf(blocks);
    }

    /** The shape of a model in memory. */
    public static ModelShape of(DecoderModel model) {
        List<BlockShape> shapes = new ArrayList<>();
        boolean factorised = false;
        for (DecoderBlock b : model.blocks()) {
            shapes.add(b.shape());
            if (b.isStreamed() && !b.isResident()) continue; // read as dense linears (low-rank factors only when resident)
            for (Linear l : b.linears().values()) factorised |= l instanceof LowRankLinear;
        }
        return new ModelShape(model.config(), shapes, factorised, model.blocks().isEmpty() ? null : model.block(0).layout());
    }

    /** A shape whose every block has the config's widths. */
    public static ModelShape uniform(DecoderConfig config, BlockLayout layout) {
        return new ModelShape(config, Collections.nCopies(config.numHiddenLayers(), BlockShape.of(config)), false, layout);
    }

    /**
     * Each block linear's {@code [out_features, in_features]} by the family's name, in forward order, for block
     * {@code layer}.
     */
    public List<LinearShape> linears(int layer) {
        BlockShape s = blocks.get(layer);
        int h = config.hiddenSize();
        int q = s.numAttentionHeads() * config.headDim();
        int kv = s.numKeyValueHeads() * config.headDim();
        int w = s.intermediateSize();
        return List.of(new LinearShape(layout.name(LinearRole.Q), q, h), new LinearShape(layout.name(LinearRole.K), kv, h),
                new LinearShape(layout.name(LinearRole.V), kv, h), new LinearShape(layout.name(LinearRole.O), h, q),
                new LinearShape(layout.name(LinearRole.GATE), w, h), new LinearShape(layout.name(LinearRole.UP), w, h),
                new LinearShape(layout.name(LinearRole.DOWN), h, w));
    }

    /** Parameters of all block linears as dense matrices (weights only). */
    public long blockLinearParameters() {
        long n = 0;
        for (int l = 0; l < blocks.size(); l++) for (LinearShape s : linears(l)) n += (long) s.outFeatures() * s.inFeatures();
        return n;
    }

    /** One linear's name and dense shape. */
    public record LinearShape(String name, int outFeatures, int inFeatures) {}
}
