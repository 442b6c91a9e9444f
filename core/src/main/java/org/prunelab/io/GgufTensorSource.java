package org.prunelab.io;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A GGUF file's tensors under their GGUF names ({@code token_embd.weight}, {@code blk.0.attn_q.weight}, ...),
 * dequantised to fp32, in the file's row order ({@link GgufFile#matrix}). Which family the file holds, its config
 * and the Hugging Face view of its tensors are read by the model's {@code Architecture} from {@link #file()}.
 */
public final class GgufTensorSource implements TensorSource {
    private final GgufFile gguf;
    private final Set<String> names;

    private GgufTensorSource(GgufFile gguf) {
        this.gguf = gguf;
        Set<String> n = new LinkedHashSet<>();
        for (GgufTensorInfo t : gguf.tensors()) n.add(t.name());
        this.names = Collections.unmodifiableSet(n);
    }

    /**
     * Opens a GGUF file.
     *
     * @throws PrunelabException.ModelFormat if the file is not valid GGUF; the file is closed again in that case
     */
    public static GgufTensorSource open(Path path) {
        GgufFile file = GgufFile.open(path);
        try {
            return new GgufTensorSource(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** The underlying file (metadata such as the architecture and the tokenizer vocabulary lives there). */
    public GgufFile file() { return gguf; }

    @Override
    public Set<String> names() { return names; }

    @Override
    public FloatMatrix matrix(String name) {
        return gguf.matrix(check(name));
    }

    /**
     * A Q8_0 or Q4_0 weight as its mapped blocks, no fp32 copy ({@link GgufFile#quantMatrix}); rows in the file's
     * order. Valid until {@link #close()}.
     *
     * @throws PrunelabException.ModelFormat if absent, not 2-D, or not Q8_0/Q4_0
     */
    public QuantMatrix quantMatrix(String name) {
        return gguf.quantMatrix(check(name));
    }

    @Override
    public float[] vector(String name) {
        return gguf.vector(check(name));
    }

    private String check(String name) {
        if (!names.contains(name)) {
            throw new PrunelabException.ModelFormat("GGUF file " + gguf.path() + " has no tensor '" + name + "'; "
                    + NearbyNames.describe(name, names) + ". Check the tensor name, or that the file is a complete model.");
        }
        return name;
    }

    /** GGUF stores dimensions innermost first ({@code ne[0]} = columns); returned outermost first, as {@link #matrix}. */
    @Override
    public java.util.Optional<long[]> shape(String name) {
        return gguf.findTensor(name).map(t -> {
            long[] ne = t.shape();
            long[] out = new long[ne.length];
            for (int i = 0; i < ne.length; i++) out[i] = ne[ne.length - 1 - i];
            return out;
        });
    }

    @Override
    public void evict(String name) {
        gguf.findTensor(name).ifPresent(t -> PageRelease.release(gguf.data(t)));
    }

    @Override
    public void close() { gguf.close(); }

    @Override
    public String toString() { return "GgufTensorSource[" + gguf.path() + "]"; }
}
