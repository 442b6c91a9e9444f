package org.prunelab.model;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.VectorMath;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One pre-norm Llama decoder block:
 * {@code h = h + o_proj(attn(input_layernorm(h)))}, then {@code h = h + mlp(post_attention_layernorm(h))}.
 * Its seven linears are reachable by Hugging Face name so pruning can read and replace them.
 */
public final class DecoderBlock {
    /** The linears' Hugging Face names, in forward order. */
    public static final List<String> LINEAR_NAMES =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    /**
     * The linears that read the same input tensor, in forward order: q/k/v read input_layernorm's output, o_proj the
     * attention output, gate/up post_attention_layernorm's output, down_proj the gated activation. Calibration keeps
     * one statistics object per group (the first name is the group's key).
     */
    public static final List<List<String>> INPUT_GROUPS = List.of(
            List.of("q_proj", "k_proj", "v_proj"), List.of("o_proj"), List.of("gate_proj", "up_proj"), List.of("down_proj"));

    /** The block's linears; replaced as a whole so a forward pass always sees a consistent set. */
    record Linears(Linear qProj, Linear kProj, Linear vProj, Linear oProj,
                   Linear gateProj, Linear upProj, Linear downProj) {

        Linear get(String name) {
            return switch (name) {
                case "q_proj" -> qProj;
                case "k_proj" -> kProj;
                case "v_proj" -> vProj;
                case "o_proj" -> oProj;
                case "gate_proj" -> gateProj;
                case "up_proj" -> upProj;
                case "down_proj" -> downProj;
                default -> throw unknown(name);
            };
        }

        Linears with(String name, Linear l) {
            return switch (name) {
                case "q_proj" -> new Linears(l, kProj, vProj, oProj, gateProj, upProj, downProj);
                case "k_proj" -> new Linears(qProj, l, vProj, oProj, gateProj, upProj, downProj);
                case "v_proj" -> new Linears(qProj, kProj, l, oProj, gateProj, upProj, downProj);
                case "o_proj" -> new Linears(qProj, kProj, vProj, l, gateProj, upProj, downProj);
                case "gate_proj" -> new Linears(qProj, kProj, vProj, oProj, l, upProj, downProj);
                case "up_proj" -> new Linears(qProj, kProj, vProj, oProj, gateProj, l, downProj);
                case "down_proj" -> new Linears(qProj, kProj, vProj, oProj, gateProj, upProj, l);
                default -> throw unknown(name);
            };
        }
    }

    private final int index;
    private final RmsNorm inputLayernorm;
    private final RmsNorm postAttentionLayernorm;
    private final Attention attention;
    private final Mlp mlp;
    private volatile Linears linears;
    /** Set by {@link #release()}: the block's weights were dropped and it can no longer run. */
    private volatile boolean released;

    DecoderBlock(int index, RmsNorm inputLayernorm, RmsNorm postAttentionLayernorm, Attention attention,
                 Linears linears) {
        this.index = index;
        this.inputLayernorm = inputLayernorm;
        this.postAttentionLayernorm = postAttentionLayernorm;
        this.attention = attention;
        this.mlp = new Mlp();
        this.linears = linears;
    }

    /**
     * A block with this one's norms and attention settings but other linears, e.g. physically smaller ones after
     * structured pruning, at position {@code index}. The linears must fit together: q_proj rows a multiple of
     * head_dim, k_proj and v_proj alike with as many rows, the query heads a multiple of the key/value heads,
     * o_proj reading q_proj's width, gate_proj and up_proj alike, down_proj reading their width.
     *
     * @param linears all seven linears by Hugging Face name
     * @throws PrunelabException.InvalidArgument if a linear is missing or the shapes do not fit together
     */
    public DecoderBlock withLinears(int index, Map<String, Linear> linears) {
        for (String name : LINEAR_NAMES) {
            if (!linears.containsKey(name)) throw new PrunelabException.InvalidArgument("block " + index + " needs a " + name);
        }
        var l = new Linears(linears.get("q_proj"), linears.get("k_proj"), linears.get("v_proj"), linears.get("o_proj"),
                linears.get("gate_proj"), linears.get("up_proj"), linears.get("down_proj"));
        int d = attention.headDim();
        int hidden = inputLayernorm.weight().length;
        int q = l.qProj().outFeatures();
        int kv = l.kProj().outFeatures();
        int width = l.gateProj().outFeatures();
        boolean ok = q % d == 0 && kv % d == 0 && kv > 0 && q > 0 && (q / d) % (kv / d) == 0
                && l.vProj().outFeatures() == kv && l.oProj().inFeatures() == q && l.oProj().outFeatures() == hidden
                && l.qProj().inFeatures() == hidden && l.kProj().inFeatures() == hidden && l.vProj().inFeatures() == hidden
                && l.upProj().outFeatures() == width && width > 0 && l.downProj().inFeatures() == width
                && l.gateProj().inFeatures() == hidden && l.upProj().inFeatures() == hidden && l.downProj().outFeatures() == hidden;
        if (!ok) {
            throw new PrunelabException.InvalidArgument("block " + index + ": linears do not fit together " + linears
                    + " (hidden " + hidden + ", head_dim " + d + ")");
        }
        return new DecoderBlock(index, inputLayernorm, postAttentionLayernorm, attention, l);
    }

    /** This block's widths, read from its linears. */
    public BlockShape shape() {
        Linears l = live();
        int d = attention.headDim();
        return new BlockShape(l.gateProj().outFeatures(), l.qProj().outFeatures() / d, l.kProj().outFeatures() / d);
    }

    /** This block's position in the model, 0-based. */
    public int index() { return index; }

    public RmsNorm inputLayernorm() { return inputLayernorm; }

    public RmsNorm postAttentionLayernorm() { return postAttentionLayernorm; }

    /**
     * The linear named {@code name} (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj).
     *
     * @throws PrunelabException.InvalidArgument for any other name
     */
    public Linear linear(String name) { return live().get(name); }

    /** All seven linears by Hugging Face name, in forward order. */
    public Map<String, Linear> linears() {
        Linears l = live();
        Map<String, Linear> map = new LinkedHashMap<>();
        for (String name : LINEAR_NAMES) map.put(name, l.get(name));
        return map;
    }

    /**
     * Replaces one linear, e.g. with a pruned or packed version. The replacement must have the same shape:
     * shrinking a layer changes its neighbours too, which is a model rewrite, not a swap.
     *
     * @throws PrunelabException.InvalidArgument for an unknown name or a different shape
     */
    public void setLinear(String name, Linear replacement) {
        Linear old = live().get(name);
        if (old.inFeatures() != replacement.inFeatures() || old.outFeatures() != replacement.outFeatures()) {
            throw new PrunelabException.InvalidArgument("layer " + index + " " + name + " is [" + old.outFeatures()
                    + ", " + old.inFeatures() + "] but the replacement is [" + replacement.outFeatures() + ", "
                    + replacement.inFeatures() + "]; a replacement must keep the shape");
        }
        linears = linears.with(name, replacement);
    }

    /**
     * Runs the block in place on {@code hidden} ({@code [tokens, hidden_size]}).
     *
     * @param angles RoPE angles for these tokens' positions
     * @param past   tokens already stored in keys/values; keys null means no cache (attend within these tokens)
     */
    void forward(float[] hidden, int tokens, Rope.Table angles, int past, float[] keys, float[] values,
                 ForwardBuffers buf, LinearInputObserver observer) {
        Linears l = live();
        int n = tokens * inputLayernorm.weight().length;
        inputLayernorm.forward(hidden, tokens, buf.xNorm);
        attention.forward(l, buf, tokens, angles, past, keys, values, observer, index);
        VectorMath.addInPlace(hidden, buf.proj, 0, n);
        postAttentionLayernorm.forward(hidden, tokens, buf.xNorm);
        mlp.forward(l, buf, tokens, observer, index);
        VectorMath.addInPlace(hidden, buf.proj, 0, n);
    }

    /**
     * Drops this block's reference to its linears so their weights can be collected: the pruning loop does this to
     * the input model's block l once block l is pruned, when the caller said it no longer needs the dense model
     * ({@link org.prunelab.prune.PruneOptions#releaseInput()}). Linears shared with another block stay alive
     * through it. Afterwards every use of this block throws {@link IllegalStateException}.
     */
    public void release() {
        released = true;
        linears = null;
    }

    /** Whether {@link #release()} was called. */
    public boolean isReleased() {
        return released;
    }

    private Linears live() {
        Linears l = linears;
        if (l == null) {
            throw new IllegalStateException("block " + index + " was released after it was pruned (the pruning run was told"
                    + " the input model is no longer needed); use the pruned model, or keep the input (PruneOptions)");
        }
        return l;
    }

    private static PrunelabException unknown(String name) {
        return new PrunelabException.InvalidArgument("unknown linear '" + name + "'; a Llama block has " + LINEAR_NAMES);
    }
}
