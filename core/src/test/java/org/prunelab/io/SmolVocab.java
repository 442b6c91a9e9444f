package org.prunelab.io;

import org.prunelab.TestModels;

/** The real SmolLM2-135M-Instruct tokenizer vocabulary, read from the GGUF that setup fetched. */
public final class SmolVocab {
    private SmolVocab() {}

    /** The vocabulary of SmolLM2-135M-Instruct; skips the calling test if setup has not fetched the model. */
    public static GgufVocab load() {
        var path = TestModels.smollm2Gguf();
        try (GgufFile gguf = GgufFile.open(path)) {
            return GgufVocab.fromMetadata(gguf.metadata(), path);
        }
    }
}
