package org.prunelab.model;

import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.VectorMath;

/**
 * The SwiGLU feed-forward of Llama (Shazeer 2020): {@code down_proj(silu(gate_proj(x)) * up_proj(x))}.
 */
public final class Mlp {
    Mlp() {}

    /** Reads {@code buf.xNorm}, writes {@code buf.proj}; {@code buf.gate} holds down_proj's input afterwards. */
    void forward(DecoderBlock.Linears linears, ForwardBuffers buf, int tokens, LinearInputObserver observer, int layer) {
        int hidden = linears.gateProj().inFeatures();
        int width = linears.gateProj().outFeatures();
        if (observer != null) {
            observer.onInput(layer, "gate_proj", buf.xNorm, tokens, hidden);
            observer.onInput(layer, "up_proj", buf.xNorm, tokens, hidden);
        }
        linears.gateProj().forward(buf.xNorm, tokens, buf.gate);
        linears.upProj().forward(buf.xNorm, tokens, buf.up);
        Parallel.forRange(tokens, 16, (from, to) ->
                VectorMath.siluMulInPlace(buf.gate, buf.up, from * width, (to - from) * width));
        if (observer != null) observer.onInput(layer, "down_proj", buf.gate, tokens, width);
        linears.downProj().forward(buf.gate, tokens, buf.proj);
    }
}
