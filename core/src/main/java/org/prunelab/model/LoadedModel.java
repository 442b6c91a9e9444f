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
 */
public record LoadedModel(String name, Path path, LlamaModel model, Tokenizer tokenizer, long fileBytes,
                          double loadSeconds) implements AutoCloseable {

    /** The model's hyper-parameters. */
    public LlamaConfig config() {
        return model.config();
    }

    /**
     * Checks that windows of {@code seqlen} tokens fit the model's context.
     *
     * @throws PrunelabException.InvalidArgument if seqlen is below 2 or above max_position_embeddings
     */
    public void checkSeqlen(int seqlen) {
        int context = config().maxPositionEmbeddings();
        if (seqlen < 2) {
            throw new PrunelabException.InvalidArgument("--seqlen must be at least 2 (one token to predict from another), got " + seqlen);
        }
        if (seqlen > context) {
            throw new PrunelabException.InvalidArgument("--seqlen " + seqlen + " is above " + name
                    + "'s context of " + context + " tokens (max_position_embeddings); use --seqlen " + context + " or less");
        }
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
