package org.prunelab.io;

import org.prunelab.PrunelabException;
import org.prunelab.model.LlamaConfig;
import org.prunelab.model.TensorLookup;
import org.prunelab.tensor.FloatMatrix;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * Named fp32 tensors of a Llama-family checkpoint plus its config, whatever the file format. Names are
 * Hugging Face's ({@link LlamaTensorNames}): {@code model.embed_tokens.weight},
 * {@code model.layers.{i}.self_attn.q_proj.weight}, ..., {@code model.norm.weight}, {@code lm_head.weight}
 * (absent when the embeddings are tied), and {@code .bias} names where the checkpoint has biases. Tensors are
 * in Hugging Face layout: a weight is {@code [out_features, in_features]} row-major, whatever the file stores.
 * Each call dequantises or converts afresh and returns a new array the caller owns.
 */
public interface TensorSource extends TensorLookup, AutoCloseable {

    /** The model's hyper-parameters. */
    LlamaConfig config();

    /** Every tensor name the checkpoint has, in Hugging Face naming. */
    Set<String> names();

    /** Whether the checkpoint has tensor {@code hfName}. */
    default boolean contains(String hfName) {
        return names().contains(hfName);
    }

    @Override
    default boolean has(String hfName) {
        return contains(hfName);
    }

    /**
     * A 2-D tensor as an fp32 {@code [out_features, in_features]} matrix.
     *
     * @throws PrunelabException.ModelFormat if absent (the message lists nearby names), not 2-D, or of an
     *                                       unsupported encoding
     */
    FloatMatrix matrix(String hfName);

    /**
     * A 1-D tensor (norm weight, bias) as fp32 values.
     *
     * @throws PrunelabException.ModelFormat if absent (the message lists nearby names), not 1-D, or of an
     *                                       unsupported encoding
     */
    float[] vector(String hfName);

    /** Releases mapped files; tensors already returned stay valid. */
    @Override
    void close();

    /**
     * Opens a checkpoint: a {@code .gguf} file ({@link GgufTensorSource}) or a directory holding
     * {@code config.json} and safetensors weights ({@link SafetensorsTensorSource}).
     *
     * @throws PrunelabException.ModelFormat if the path is neither, or the checkpoint is malformed
     */
    static TensorSource open(Path path) {
        if (Files.isDirectory(path)) return SafetensorsTensorSource.open(path);
        if (Files.isRegularFile(path)) return GgufTensorSource.open(path);
        throw new PrunelabException.ModelFormat("model path " + path + " does not exist. Pass a .gguf file or a"
                + " directory with config.json and model.safetensors (or a sharded model.safetensors.index.json).");
    }
}
