package org.prunelab.model;

import org.prunelab.PrunelabException;
import org.prunelab.data.Tokenizer;

import java.nio.file.Path;

/**
 * A model ready to run: its decoder, its tokenizer, and where it came from.
 *
 * @param name        what the user asked for (a registered name or a path)
 * @param path        the file or directory it was read from
 * @param model       the decoder, weights in fp32
 * @param tokenizer   the model's own tokenizer
 * @param fileBytes   size of the model on disk, in bytes (all files of a directory checkpoint)
 * @param loadSeconds wall time of reading and dequantising, in seconds
 * @param ownsTokenizer whether {@link #close()} closes the tokenizer (false for a pruned model that shares the
 *                      tokenizer of the model it was pruned from)
 * @param weights       for a streamed model ({@code ModelLoader.loadStreamed}), the open file its blocks are read from,
 *                      closed by {@link #close()}; null when the weights are in memory
 */
public record LoadedModel(String name, Path path, DecoderModel model, Tokenizer tokenizer, long fileBytes,
                          double loadSeconds, boolean ownsTokenizer, AutoCloseable weights) implements AutoCloseable {

    /** A model that owns its tokenizer. */
    public LoadedModel(String name, Path path, DecoderModel model, Tokenizer tokenizer, long fileBytes, double loadSeconds) {
        this(name, path, model, tokenizer, fileBytes, loadSeconds, true, null);
    }

    /** A model whose weights are in memory. */
    public LoadedModel(String name, Path path, DecoderModel model, Tokenizer tokenizer, long fileBytes, double loadSeconds,
                       boolean ownsTokenizer) {
        this(name, path, model, tokenizer, fileBytes, loadSeconds, ownsTokenizer, null);
    }

    /** Whether the blocks are read from a file as they are needed ({@code ModelLoader.loadStreamed}). */
    public boolean streamed() {
        return weights != null;
    }

    /**
     * The same model file, tokenizer and name with other weights (a pruned copy): it shares the tokenizer, so closing
     * it leaves this model usable.
     */
    public LoadedModel withModel(DecoderModel other) {
        return new LoadedModel(name, path, other, tokenizer, fileBytes, loadSeconds, false);
    }

    /** The model's hyper-parameters. */
    public DecoderConfig config() {
        return model.config();
    }

    /**
     * Checks that windows of {@code seqlen} tokens fit the model's context.
     *
     * @param param the parameter being checked, for the message ({@code calib.seqlen}, {@code eval.seqlen})
     * @throws PrunelabException.InvalidArgument if seqlen is below 2 or above max_position_embeddings
     */
    public void checkSeqlen(int seqlen, String param) {
        checkSeqlen(config(), name, seqlen, param);
    }

    /** {@link #checkSeqlen(int, String)} for a model known by its config only (checked before loading). */
    public static void checkSeqlen(DecoderConfig config, String modelName, int seqlen, String param) {
        int context = config.maxPositionEmbeddings();
        if (seqlen < 2) {
            throw new PrunelabException.InvalidArgument("${" + param + "} must be at least 2 (one token to predict from another), got " + seqlen);
        }
        if (seqlen > context) {
            throw new PrunelabException.InvalidArgument("${" + param + "} " + seqlen + " is above " + modelName
                    + "'s context of " + context + " tokens (max_position_embeddings); use ${" + param + "} " + context + " or less");
        }
    }

    @Override
    public void close() {
        try {
            if (ownsTokenizer) tokenizer.close();
        } finally {
            if (weights != null) {
                try {
                    weights.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing " + path, e);
                }
            }
        }
    }
}
