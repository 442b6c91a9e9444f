package org.prunelab.arch;

import org.prunelab.PrunelabException;
import org.prunelab.model.DecoderConfig;

import java.util.List;

/**
 * The registry of model families. A checkpoint's family comes from its {@code config.json} {@code model_type} or its
 * GGUF {@code general.architecture}; a model in memory names its family in {@link DecoderConfig#architecture()}.
 * Adding a family: one {@link Architecture} class and one line here.
 */
public final class Architectures {
    private static final List<Architecture> ALL = List.of(
            new LlamaArchitecture(),
            new Qwen2Architecture(),
            new Qwen3Architecture(),
            new Gemma3Architecture());

    private Architectures() {}

    /** Every registered family, in registration order. */
    public static List<Architecture> all() { return ALL; }

    /**
     * The family registered as {@code name}.
     *
     * @throws PrunelabException.InvalidArgument for an unknown name (the message lists the registered ones)
     */
    public static Architecture named(String name) {
        for (Architecture a : ALL) if (a.name().equals(name)) return a;
        throw new PrunelabException.InvalidArgument("unknown architecture '" + name + "'; registered: " + names());
    }

    /** The family of a model with this config. */
    public static Architecture of(DecoderConfig config) {
        return named(config.architecture());
    }

    /**
     * The family whose checkpoints have {@code config.json} {@code model_type} {@code modelType}.
     *
     * @throws PrunelabException.ModelFormat for a model_type no family reads (the message lists the supported ones)
     */
    public static Architecture forHfModelType(String modelType, String source) {
        for (Architecture a : ALL) if (a.hfModelTypes().contains(modelType)) return a;
        throw new PrunelabException.ModelFormat(source + " has model_type '" + modelType + "', which prunelab does not"
                + " implement; supported model_type values: " + String.join(", ", ALL.stream().flatMap(a -> a.hfModelTypes().stream()).toList())
                + " (" + descriptions() + ")");
    }

    /**
     * The family of GGUF files with {@code general.architecture} {@code arch}.
     *
     * @throws PrunelabException.ModelFormat for an architecture no family reads (the message lists the supported ones)
     */
    public static Architecture forGguf(String arch, String source) {
        for (Architecture a : ALL) if (a.ggufArchitecture().equals(arch)) return a;
        throw new PrunelabException.ModelFormat("GGUF file " + source + " is of architecture '" + arch + "', which"
                + " prunelab does not implement; supported general.architecture values: "
                + String.join(", ", ALL.stream().map(Architecture::ggufArchitecture).toList()) + " (" + descriptions() + ")");
    }

    /**
     * The config a {@code config.json} describes, read by the family its {@code model_type} names (Llama when absent,
     * as older Llama checkpoints omit it).
     *
     * @throws PrunelabException.ModelFormat for an unknown model_type or a bad key
     */
    public static DecoderConfig readHfConfig(HfConfig.Reader config) {
        return forHfModelType(config.modelType(DecoderConfig.LLAMA), config.source()).readHfConfig(config);
    }

    private static String names() {
        return String.join(", ", ALL.stream().map(Architecture::name).toList());
    }

    private static String descriptions() {
        return String.join("; ", ALL.stream().map(a -> a.name() + ": " + a.description()).toList());
    }
}
