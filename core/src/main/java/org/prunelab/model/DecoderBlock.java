package org.prunelab.model;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.VectorMath;

import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One pre-norm decoder block: {@code h = h + n_ao(O(attn(n_ai(h))))}, then {@code h = h + n_mo(DOWN(act(GATE(x)) *
 * UP(x)))} with {@code x = n_mi(h)}, where the output norms {@code n_ao}, {@code n_mo} exist only in families with
 * sandwich norms (Gemma 2/3) and attention may normalise each query and key head (Gemma 3). Its seven linears are
 * reachable by role and by the family's name ({@link BlockLayout}) so pruning can read and replace them.
 */
public final class DecoderBlock {
    private static final LinearRole[] ROLES = LinearRole.values();

    private final int index;
    private final BlockLayout layout;
    private final Map<NormRole, RmsNorm> norms;
    private final Attention attention;
    private final Mlp mlp;
    /** The linears by role ordinal; replaced as a whole so a forward pass always sees a consistent set. */
    private volatile Linear[] linears;
    /** Set by {@link #release()}: the block's weights were dropped and it can no longer run. */
    private volatile boolean released;

    DecoderBlock(int index, BlockLayout layout, Map<NormRole, RmsNorm> norms, Attention attention, Mlp mlp,
                 Linear[] linears) {
        this.index = index;
        this.layout = layout;
        EnumMap<NormRole, RmsNorm> n = new EnumMap<>(NormRole.class);
        n.putAll(norms);
        this.norms = Collections.unmodifiableMap(n);
        this.attention = attention;
        this.mlp = mlp;
        this.linears = linears;
    }

    /**
     * A block with this one's norms and attention settings but other linears, e.g. physically smaller ones after
     * structured pruning, at position {@code index}. The linears must fit together: Q rows a multiple of head_dim, K
     * and V alike with as many rows, the query heads a multiple of the key/value heads, O reading Q's width, GATE and
     * UP alike, DOWN reading their width.
     *
     * @param linears all seven linears by the family's name ({@link #layout()})
     * @throws PrunelabException.InvalidArgument if a linear is missing or the shapes do not fit together
     */
    public DecoderBlock withLinears(int index, Map<String, Linear> linears) {
        Linear[] l = new Linear[ROLES.length];
        for (LinearRole r : ROLES) {
            Linear x = linears.get(layout.name(r));
            if (x == null) throw new PrunelabException.InvalidArgument("block " + index + " needs a " + layout.name(r));
            l[r.ordinal()] = x;
        }
        int d = attention.headDim();
        int hidden = norms.get(NormRole.ATTENTION_INPUT).weight().length;
        int q = l[LinearRole.Q.ordinal()].outFeatures();
        int kv = l[LinearRole.K.ordinal()].outFeatures();
        int width = l[LinearRole.GATE.ordinal()].outFeatures();
        Linear lv = l[LinearRole.V.ordinal()], lo = l[LinearRole.O.ordinal()], lq = l[LinearRole.Q.ordinal()],
                lk = l[LinearRole.K.ordinal()], lg = l[LinearRole.GATE.ordinal()], lu = l[LinearRole.UP.ordinal()],
                ld = l[LinearRole.DOWN.ordinal()];
        boolean ok = q % d == 0 && kv % d == 0 && kv > 0 && q > 0 && (q / d) % (kv / d) == 0
                && lv.outFeatures() == kv && lo.inFeatures() == q && lo.outFeatures() == hidden
                && lq.inFeatures() == hidden && lk.inFeatures() == hidden && lv.inFeatures() == hidden
                && lu.outFeatures() == width && width > 0 && ld.inFeatures() == width
                && lg.inFeatures() == hidden && lu.inFeatures() == hidden && ld.outFeatures() == hidden;
        if (!ok) {
            throw new PrunelabException.InvalidArgument("block " + index + ": linears do not fit together " + linears
                    + " (hidden " + hidden + ", head_dim " + d + ")");
        }
        return new DecoderBlock(index, layout, norms, attention, mlp, l);
    }

    /** This block's widths, read from its linears. */
    public BlockShape shape() {
        Linear[] l = live();
        int d = attention.headDim();
        return new BlockShape(l[LinearRole.GATE.ordinal()].outFeatures(), l[LinearRole.Q.ordinal()].outFeatures() / d,
                l[LinearRole.K.ordinal()].outFeatures() / d);
    }

    /** This block's position in the model, 0-based. */
    public int index() { return index; }

    /** The family's names for the linears, and the block's input groups and coupled units. */
    public BlockLayout layout() { return layout; }

    /** The norm at {@code role}, or null if this family's block has none there. */
    public RmsNorm norm(NormRole role) { return norms.get(role); }

    /** Every norm of the block by role, in block order. */
    public Map<NormRole, RmsNorm> norms() { return norms; }

    /** Keys a query of this block sees within a sliding window (counting itself), or 0 for full causal attention. */
    public int slidingWindow() { return attention.slidingWindow(); }

    /**
     * The linear named {@code name} in the family's naming ({@link #layout()}).
     *
     * @throws PrunelabException.InvalidArgument for any other name
     */
    public Linear linear(String name) { return live()[layout.role(name).ordinal()]; }

    /** The linear with {@code role}. */
    public Linear linear(LinearRole role) { return live()[role.ordinal()]; }

    /** All seven linears by name, in forward order. */
    public Map<String, Linear> linears() {
        Linear[] l = live();
        Map<String, Linear> map = new LinkedHashMap<>();
        for (LinearRole r : ROLES) map.put(layout.name(r), l[r.ordinal()]);
        return map;
    }

    /** The linears' names in forward order. */
    public List<String> linearNames() { return layout.linearNames(); }

    /**
     * Replaces one linear, e.g. with a pruned or packed version. The replacement must have the same shape:
     * shrinking a layer changes its neighbours too, which is a model rewrite, not a swap.
     *
     * @throws PrunelabException.InvalidArgument for an unknown name or a different shape
     */
    public void setLinear(String name, Linear replacement) {
        LinearRole role = layout.role(name);
        Linear[] current = live();
        Linear old = current[role.ordinal()];
        if (old.inFeatures() != replacement.inFeatures() || old.outFeatures() != replacement.outFeatures()) {
            throw new PrunelabException.InvalidArgument("layer " + index + " " + name + " is [" + old.outFeatures()
                    + ", " + old.inFeatures() + "] but the replacement is [" + replacement.outFeatures() + ", "
                    + replacement.inFeatures() + "]; a replacement must keep the shape");
        }
        Linear[] next = current.clone();
        next[role.ordinal()] = replacement;
        linears = next;
    }

    /**
     * Runs the block in place on {@code hidden} ({@code [tokens, hidden_size]}).
     *
     * @param angles RoPE angles for these tokens' positions, per RoPE of the model
     * @param past   tokens already stored in keys/values; keys null means no cache (attend within these tokens)
     */
    void forward(float[] hidden, int tokens, PositionAngles angles, int past, float[] keys, float[] values,
                 ForwardBuffers buf, LinearInputObserver observer) {
        Linear[] l = live();
        int n = tokens * norms.get(NormRole.ATTENTION_INPUT).weight().length;
        norms.get(NormRole.ATTENTION_INPUT).forward(hidden, tokens, buf.xNorm);
        attention.forward(l, layout, norms.get(NormRole.QUERY), norms.get(NormRole.KEY), buf, tokens, angles, past, keys,
                values, observer, index);
        RmsNorm attnOut = norms.get(NormRole.ATTENTION_OUTPUT);
        if (attnOut != null) attnOut.forward(buf.proj, tokens, buf.proj);
        VectorMath.addInPlace(hidden, buf.proj, 0, n);
        norms.get(NormRole.MLP_INPUT).forward(hidden, tokens, buf.xNorm);
        mlp.forward(l, layout, buf, tokens, observer, index);
        RmsNorm mlpOut = norms.get(NormRole.MLP_OUTPUT);
        if (mlpOut != null) mlpOut.forward(buf.proj, tokens, buf.proj);
        VectorMath.addInPlace(hidden, buf.proj, 0, n);
    }

    /**
     * Drops this block's reference to its linears so their weights can be collected: the pruning loop does this to
     * the input model's block l once block l is pruned, when the caller said it no longer needs the dense model
     * (the pruning options' {@code releaseInput}). Linears shared with another block stay alive through it.
     * Afterwards every use of this block throws {@link IllegalStateException}.
     */
    public void release() {
        released = true;
        linears = null;
    }

    /** Whether {@link #release()} was called. */
    public boolean isReleased() {
        return released;
    }

    private Linear[] live() {
        Linear[] l = linears;
        if (l == null) {
            throw new IllegalStateException("block " + index + " was released after it was pruned (the pruning run was told"
                    + " the input model is no longer needed); use the pruned model, or keep the input (PruneOptions)");
        }
        return l;
    }
}
