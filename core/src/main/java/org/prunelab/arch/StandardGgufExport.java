package org.prunelab.arch;

import org.prunelab.io.GgufValueType;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LinearRole;
import org.prunelab.model.ModelShape;
import org.prunelab.model.NormRole;
import org.prunelab.model.RmsNorm;
import org.prunelab.tensor.Linear;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@link StandardArchitecture}'s GGUF export ({@link Architecture#cannotWriteGguf}, {@link Architecture#ggufKeys},
 * {@link Architecture#ggufTensors}), the inverse of its {@code readGgufConfig} and {@code fromGguf}: the keys and
 * names llama.cpp's {@code convert_hf_to_gguf.py} writes for every Llama-like family, with the family's hooks
 * ({@code ggufBiasRoles}, {@code cannotWriteGgufVariant}, {@code ggufHeadDimRequired}, {@code addGgufFamilyKeys},
 * {@code ggufPermutesQK}) for what differs.
 */
final class StandardGgufExport {
    private StandardGgufExport() {}

    static Optional<String> cannotWrite(StandardArchitecture a, ModelShape shape, Set<LinearRole> biasOn) {
        String loader = "llama.cpp's " + a.ggufArchitecture() + " loader";
        Set<BlockShape> widths = new LinkedHashSet<>(shape.blocks());
        if (widths.size() > 1) {
            return Optional.of("its blocks have different widths (" + widths + "): " + loader + " reads per-layer"
                    + " feed_forward_length and head_count arrays but creates every block's tensors with block 0's widths,"
                    + " so it refuses such a file; prune with allocation uniform (the same share in every block)");
        }
        EnumSet<LinearRole> missing = EnumSet.noneOf(LinearRole.class);
        for (LinearRole r : biasOn) if (!a.ggufBiasRoles().contains(r)) missing.add(r);
        if (!missing.isEmpty()) {
            return Optional.of(loader + " has no tensor for a bias on " + names(missing) + " (it reads biases on "
                    + names(a.ggufBiasRoles()) + " only), and the model carries one there");
        }
        DecoderConfig c = shape.config();
        DecoderConfig.RopeScaling s = c.ropeScaling();
        if (s != null && !s.type().equals("linear")) {
            return Optional.of("its RoPE scaling is '" + s.type() + "': llama.cpp's converter stores Llama 3 scaling as"
                    + " per-frequency factors (rope_freqs.weight), which prunelab does not write; only linear scaling is"
                    + " exported");
        }
        BlockShape uniform = widths.isEmpty() ? BlockShape.of(c) : widths.iterator().next();
        return a.cannotWriteGgufVariant(c, uniform);
    }

    static List<GgufPlan.Key> keys(StandardArchitecture a, DecoderConfig c) {
        List<GgufPlan.Key> keys = new ArrayList<>();
        keys.add(a.ggufUint("block_count", c.numHiddenLayers(), true));
        keys.add(a.ggufUint("context_length", c.maxPositionEmbeddings(), true));
        keys.add(a.ggufUint("embedding_length", c.hiddenSize(), true));
        keys.add(a.ggufUint("feed_forward_length", c.intermediateSize(), true));
        keys.add(a.ggufUint("attention.head_count", c.numAttentionHeads(), true));
        keys.add(a.ggufUint("attention.head_count_kv", c.numKeyValueHeads(), true));
        keys.add(a.ggufFloat("rope.freq_base", c.ropeTheta(), true));
        keys.add(a.ggufFloat("attention.layer_norm_rms_epsilon", c.rmsNormEps(), true));
        boolean headDim = a.ggufHeadDimRequired(c);
        keys.add(a.ggufUint("attention.key_length", c.headDim(), headDim));
        keys.add(a.ggufUint("attention.value_length", c.headDim(), headDim));
        if (c.ropeScaling() != null) {
            keys.add(new GgufPlan.Key(a.ggufArchitecture() + ".rope.scaling.type", GgufValueType.STRING,
                    c.ropeScaling().type(), true));
            keys.add(a.ggufFloat("rope.scaling.factor", c.ropeScaling().factor(), true));
        }
        a.addGgufFamilyKeys(keys, c);
        return keys;
    }

    static List<GgufPlan.Tensor> tensors(StandardArchitecture a, DecoderModel model) {
        List<GgufPlan.Tensor> out = new ArrayList<>();
        out.add(new GgufPlan.Tensor("token_embd.weight", GgufPlan.Category.TOKEN_EMBD,
                new GgufPlan.Matrix(new DenseLinear(model.embedTokens(), null)), 0));
        for (DecoderBlock b : model.blocks()) {
            String blk = "blk." + b.index() + ".";
            BlockShape shape = b.shape();
            for (Map.Entry<NormRole, RmsNorm> n : b.norms().entrySet()) {
                // llama.cpp's converter stores the gain itself (Gemma's 1 + w), which is what the block holds.
                out.add(new GgufPlan.Tensor(blk + StandardArchitecture.GGUF_NORM.get(n.getKey()) + ".weight", GgufPlan.Category.NORM,
                        new GgufPlan.Vector(n.getValue().weight()), 0));
            }
            for (LinearRole role : LinearRole.values()) {
                Linear linear = b.linear(role);
                int heads = !a.ggufPermutesQK() ? 0
                        : role == LinearRole.Q ? shape.numAttentionHeads() : role == LinearRole.K ? shape.numKeyValueHeads() : 0;
                String stem = blk + StandardArchitecture.GGUF_LINEAR.get(role);
                out.add(new GgufPlan.Tensor(stem + ".weight", GgufPlan.Category.BLOCK_WEIGHT, new GgufPlan.Matrix(linear), heads));
                float[] bias = org.prunelab.format.WeightFormats.bias(linear);
                if (bias != null) out.add(new GgufPlan.Tensor(stem + ".bias", GgufPlan.Category.BIAS, new GgufPlan.Vector(bias), heads));
            }
        }
        out.add(new GgufPlan.Tensor("output_norm.weight", GgufPlan.Category.NORM, new GgufPlan.Vector(model.norm().weight()), 0));
        if (!model.config().tieWordEmbeddings()) {
            out.add(new GgufPlan.Tensor("output.weight", GgufPlan.Category.OUTPUT, new GgufPlan.Matrix(model.lmHead()), 0));
        }
        return out;
    }

    private static String names(Set<LinearRole> roles) {
        return String.join(", ", roles.stream().map(StandardArchitecture.LAYOUT::name).toList());
    }
}
