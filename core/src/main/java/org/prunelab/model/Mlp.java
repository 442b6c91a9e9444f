package org.prunelab.model;

import org.prunelab.tensor.Linear;
import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.VectorMath;

/**
 * The gated feed-forward {@code DOWN(act(GATE(x)) * UP(x))} (Shazeer 2020, "GLU variants"): SwiGLU with SiLU (Llama,
 * Qwen2), GeGLU with the tanh-approximated GELU (Gemma, transformers' {@code gelu_pytorch_tanh}).
 */
public final class Mlp {
    private final DecoderConfig.Activation activation;

    Mlp(DecoderConfig.Activation activation) {
        this.activation = activation;
    }

    /** Reads {@code buf.xNorm}, writes {@code buf.proj}; {@code buf.gate} holds DOWN's input afterwards. */
    void forward(Linear[] linears, BlockLayout layout, ForwardBuffers buf, int tokens, LinearInputObserver observer, int layer) {
        Linear gateProj = linears[LinearRole.GATE.ordinal()], upProj = linears[LinearRole.UP.ordinal()],
                downProj = linears[LinearRole.DOWN.ordinal()];
        int hidden = gateProj.inFeatures();
        int width = gateProj.outFeatures();
        if (observer != null) {
            observer.onInput(layer, layout.name(LinearRole.GATE), buf.xNorm, tokens, hidden);
            observer.onInput(layer, layout.name(LinearRole.UP), buf.xNorm, tokens, hidden);
        }
        DenseLinear.forwardTogether(new Linear[]{gateProj, upProj}, buf.xNorm, tokens, new float[][]{buf.gate, buf.up});
        if (activation == DecoderConfig.Activation.SILU) {
            Parallel.forRange(tokens, 16, (from, to) ->
                    VectorMath.siluMulInPlace(buf.gate, buf.up, from * width, (to - from) * width));
        } else {
            Parallel.forRange(tokens, 16, (from, to) ->
                    VectorMath.geluTanhMulInPlace(buf.gate, buf.up, from * width, (to - from) * width));
        }
        if (observer != null) observer.onInput(layer, layout.name(LinearRole.DOWN), buf.gate, tokens, width);
        downProj.forward(buf.gate, tokens, buf.proj);
    }
}
