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
    /**
     * For a streamed block: reads its seven linears (by role ordinal) from where they are kept (a memory-mapped model
     * file, a written shard) whenever they are not resident; null for a block that always holds them.
     */
    private final java.util.function.Supplier<Linear[]> loader;
    /** For a streamed block: bounds how many streamed blocks hold their linears at once; null otherwise. */
    private final BlockResidency residency;
    /** For a streamed block: its widths, known without loading it. */
    private final BlockShape streamedShape;
    /** For a streamed block written from memory: its linears' totals, known without reading it back; else null. */
    private final LinearTotals streamedTotals;

    /**
     * The seven linears' parameters ({@code in x out} each, plus biases as their layers count them), nonzero
     * parameters, and bytes in their current formats.
     */
    public record LinearTotals(long parameters, long nonZero, long bytes) {}

    DecoderBlock(int index, BlockLayout layout, Map<NormRole, RmsNorm> norms, Attention attention, Mlp mlp,
                 Linear[] linears) {
        this(index, layout, norms, attention, mlp, linears, null, null, null, null);
    }

    private DecoderBlock(int index, BlockLayout layout, Map<NormRole, RmsNorm> norms, Attention attention, Mlp mlp,
                         Linear[] linears, java.util.function.Supplier<Linear[]> loader, BlockResidency residency,
                         BlockShape streamedShape, LinearTotals streamedTotals) {
        this.index = index;
        this.layout = layout;
        EnumMap<NormRole, RmsNorm> n = new EnumMap<>(NormRole.class);
        n.putAll(norms);
        this.norms = Collections.unmodifiableMap(n);
        this.attention = attention;
        this.mlp = mlp;
        this.linears = linears;
        this.loader = loader;
        this.residency = residency;
        this.streamedShape = streamedShape;
        this.streamedTotals = streamedTotals;
    }

    /**
     * A streamed block: its norms are in memory, its seven linears are read by {@code loader} when a forward pass or a
     * caller first needs them, and dropped again when {@code residency} makes room for another streamed block (or on
     * {@link #unload()}). This is how a model larger than memory is pruned and evaluated block by block.
     *
     * @param sizes  the linears' parameters and fp32 bytes as read from the file's header, nonzeros -1 (unknown)
     * @param loader returns the linears by {@link LinearRole#ordinal()}, each {@code [out, in]} as {@code shape} says
     */
    static DecoderBlock streamed(int index, BlockLayout layout, Map<NormRole, RmsNorm> norms, Attention attention, Mlp mlp,
                                 BlockShape shape, LinearTotals sizes, java.util.function.Supplier<Linear[]> loader,
                                 BlockResidency residency) {
        return new DecoderBlock(index, layout, norms, attention, mlp, null, loader, residency, shape, sizes);
    }

    /**
     * A streamed twin of this block (same position, norms and attention settings): its linears are read by
     * {@code loader} (by name in the family's naming, e.g. from the shard this block was just written to) whenever
     * needed, under {@code residency}. This block is not changed; drop it to free its weights. Used by the streaming
     * pipeline after a pruned block is written.
     */
    public DecoderBlock streamedFrom(java.util.function.Supplier<Map<String, Linear>> loader, BlockResidency residency) {
        BlockShape shape = shape();
        LinearTotals totals = linearTotals();
        // The reader must not capture this block: holding it would keep its linears, the memory this handle frees.
        BlockLayout names = layout;
        int at = index;
        return new DecoderBlock(index, layout, norms, attention, mlp, null, () -> {
            Map<String, Linear> byName = loader.get();
            Linear[] l = new Linear[ROLES.length];
            for (LinearRole r : ROLES) {
                l[r.ordinal()] = byName.get(names.name(r));
                if (l[r.ordinal()] == null) throw new IllegalStateException("block " + at + ": the streamed copy has no " + names.name(r));
            }
            return l;
        }, residency, shape, totals);
    }

    /**
     * The linears' totals: from the linears in memory, or for a streamed block not in memory, from what is known
     * without reading it (a block written from memory knows all three; a block of an input file knows its sizes from
     * the file's header, and is read to count its nonzeros).
     */
    public LinearTotals linearTotals() {
        LinearTotals known = streamedTotals;
        if (known != null && linears == null && known.nonZero() >= 0) return known;
        return totalsNow();
    }

    /** Parameters of the seven linears (weights and biases), read from the block only if not known otherwise. */
    public long linearParameters() {
        LinearTotals known = streamedTotals;
        return known != null && linears == null ? known.parameters() : totalsNow().parameters();
    }

    /** Bytes of the seven linears in their formats, read from the block only if not known otherwise. */
    public long linearBytes() {
        LinearTotals known = streamedTotals;
        return known != null && linears == null ? known.bytes() : totalsNow().bytes();
    }

    private LinearTotals totalsNow() {
        long params = 0, nonZero = 0, bytes = 0;
        for (Linear l : live()) {
            params += l.totalParameters();
            nonZero += l.nonZeroParameters();
            bytes += l.parameterBytes();
        }
        return new LinearTotals(params, nonZero, bytes);
    }

    /** Whether this block's linears are read on demand ({@link #streamed}, {@link #streamedFrom}) rather than held. */
    public boolean isStreamed() { return loader != null; }

    /** Whether the linears are in memory now (always true for a block that is not streamed, until released). */
    public boolean isResident() { return linears != null; }

    /**
     * Drops a streamed block's linears (they are read again when next needed); does nothing to a block that holds its
     * linears.
     */
    public void unload() {
        if (loader != null) {
            linears = null;
            if (residency != null) residency.forget(this);
        }
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
        if (streamedShape != null) return streamedShape;
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
        if (loader != null) {
            throw new PrunelabException.InvalidArgument("layer " + index + " is streamed (its weights are read from disk"
                    + " when needed), so " + name + " cannot be replaced in place: a streamed model runs in the format it"
                    + " is stored in; load the model into memory to convert its layers");
        }
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
        if (residency != null) residency.forget(this);
    }

    /** Reads a streamed block's linears and makes room for them under the residency bound. */
    private synchronized Linear[] load() {
        Linear[] l = linears;
        if (l != null) return l;
        if (residency != null) residency.makeRoom(this);
        l = loader.get();
        BlockShape s = streamedShape;
        int d = attention.headDim();
        if (l.length != ROLES.length || l[LinearRole.Q.ordinal()].outFeatures() != s.numAttentionHeads() * d
                || l[LinearRole.K.ordinal()].outFeatures() != s.numKeyValueHeads() * d
                || l[LinearRole.GATE.ordinal()].outFeatures() != s.intermediateSize()) {
            throw new IllegalStateException("block " + index + ": the streamed linears do not have the shape " + s);
        }
        linears = l;
        if (residency != null) residency.touch(this);
        return l;
    }

    /** Whether {@link #release()} was called. */
    public boolean isReleased() {
        return released;
    }

    private Linear[] live() {
        Linear[] l = linears;
        if (l == null && loader != null && !released) return load();
        if (l != null && residency != null) residency.touch(this);
        if (l == null) {
            throw new IllegalStateException("block " + index + " was released after it was pruned (the pruning run was told"
                    + " the input model is no longer needed); use the pruned model, or keep the input (PruneOptions)");
        }
        return l;
    }
}
