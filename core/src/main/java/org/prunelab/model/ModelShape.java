package org.prunelab.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a model looks like without its weights: the config and each block's widths. Read from a file header in
 * milliseconds ({@link ModelLoader#inspect}), so a run can check its whole spec against the model (seqlen against
 * the context, N:M against every linear's in_features, a structured ratio against the widths) before seconds of
 * loading and dequantising.
 *
 * @param config      the model's config (the largest widths when blocks differ)
 * @param blocks      each block's widths, {@code [num_hidden_layers]}
 * @param factorised  whether the block linears are stored as low-rank factors (a model that low-rank pruning made)
 */
public record ModelShape(LlamaConfig config, List<BlockShape> blocks, boolean factorised) {
    public ModelShape {
        blocks = List.copyOf(blocks);
    }

    /** The shape of a model in memory. */
    public static ModelShape of(LlamaModel model) {
        List<BlockShape> shapes = new ArrayList<>();
        boolean factorised = false;
        for (DecoderBlock b : model.blocks()) {
            shapes.add(b.shape());
            for (Linear l : b.linears().values()) factorised |= l instanceof LowRankLinear;
        }
        return new ModelShape(model.config(), shapes, factorised);
    }

    /** A shape whose every block has the config's widths. */
    public static ModelShape uniform(LlamaConfig config) {
        return new ModelShape(config, Collections.nCopies(config.numHiddenLayers(), BlockShape.of(config)), false);
    }

    /**
     * Each block linear's {@code [out_features, in_features]} by Hugging Face name, in forward order, for block
     * {@code layer}.
     */
    public List<LinearShape> linears(int layer) {
        BlockShape s = blocks.get(layer);
        int h = config.hiddenSize();
        int q = s.numAttentionHeads() * config.headDim();
        int kv = s.numKeyValueHeads() * config.headDim();
        int w = s.intermediateSize();
        return List.of(new LinearShape("q_proj", q, h), new LinearShape("k_proj", kv, h), new LinearShape("v_proj", kv, h),
                new LinearShape("o_proj", h, q), new LinearShape("gate_proj", w, h), new LinearShape("up_proj", w, h),
                new LinearShape("down_proj", h, w));
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
