package org.prunelab.io;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The named fp32 tensors of a model file, under the file's own names: a GGUF file's ({@code blk.0.attn_q.weight},
 * {@link GgufTensorSource}) or a safetensors checkpoint's Hugging Face names ({@link SafetensorsTensorSource}).
 * Matrices are row-major as the file stores them; each call dequantises or converts afresh and returns a new array
 * the caller owns. Turning a family's file into the model's tensors (names, GGUF's RoPE row order, norm offsets) is
 * its {@code Architecture}'s job.
 */
public interface TensorSource extends TensorLookup, AutoCloseable {

    /** Every tensor name the file has. */
    Set<String> names();

    /** Whether the checkpoint has tensor {@code name}. */
    default boolean contains(String name) {
        return names().contains(name);
    }

    @Override
    default boolean has(String name) {
        return contains(name);
    }

    /**
     * A 2-D tensor as an fp32 row-major matrix ({@code [out_features, in_features]} for a linear weight).
     *
     * @throws PrunelabException.ModelFormat if absent (the message lists nearby names), not 2-D, or of an
     *                                       unsupported encoding
     */
    FloatMatrix matrix(String name);

    /**
     * A 1-D tensor (norm weight, bias) as fp32 values.
     *
     * @throws PrunelabException.ModelFormat if absent (the message lists nearby names), not 1-D, or of an
     *                                       unsupported encoding
     */
    float[] vector(String name);

    /**
     * The end of the message refusing pickled weights. Loading a pickle (PyTorch's {@code .bin}/{@code .pt} format)
     * runs whatever code the file names, so prunelab never opens one, as the safetensors format exists to avoid.
     */
    String PICKLE_REFUSAL = ". prunelab never loads pickle files (PyTorch .bin/.pt/.pth/.ckpt): unpickling runs whatever"
            + " code the file contains. Convert the checkpoint to safetensors (transformers: save_pretrained(dir,"
            + " safe_serialization=True)) or to GGUF (llama.cpp's convert_hf_to_gguf.py), and pass that.";

    /** Whether a file name is one of PyTorch's pickle formats. */
    static boolean isPickleName(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth") || n.endsWith(".ckpt") || n.endsWith(".pkl")
                || n.endsWith(".pickle") || n.equals("pytorch_model.bin.index.json");
    }

    /** Whether the file starts with "GGUF" (a GGUF file under an old ggml-style name such as {@code model.bin}). */
    private static boolean startsWithGgufMagic(Path file) {
        try (java.io.InputStream in = Files.newInputStream(file)) {
            return java.util.Arrays.equals(in.readNBytes(4), "GGUF".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** The pickle weight files in {@code dir} (comma-separated names), or null if there are none. */
    static String pickleWeights(Path dir) {
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            java.util.List<String> names = files.map(p -> p.getFileName().toString()).filter(TensorSource::isPickleName)
                    .sorted().toList();
            return names.isEmpty() ? null : "PyTorch pickle weights (" + String.join(", ", names) + ")";
        } catch (java.io.IOException e) {
            return null;
        }
    }

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
        if (Files.isRegularFile(path) && isPickleName(path.getFileName().toString()) && !startsWithGgufMagic(path)) {
            throw new PrunelabException.ModelFormat("model file " + path + " is a PyTorch pickle" + PICKLE_REFUSAL);
        }
        if (Files.isRegularFile(path)) return GgufTensorSource.open(path);
        throw new PrunelabException.ModelFormat("model path " + path + " does not exist. Pass a .gguf file or a"
                + " directory with config.json and model.safetensors (or a sharded model.safetensors.index.json).");
    }
}
