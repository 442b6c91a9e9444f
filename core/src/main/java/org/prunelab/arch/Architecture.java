package org.prunelab.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.io.GgufFile;
import org.prunelab.io.GgufTensorSource;
import org.prunelab.io.SafetensorsWriter;
import org.prunelab.io.TensorLookup;
import org.prunelab.model.BlockLayout;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.TensorNames;

import java.util.List;
import java.util.Optional;

/**
 * One model family (Llama, Qwen2, Gemma 3, ...): everything prunelab knows about it and nothing else does — its
 * Hugging Face {@code config.json} keys and GGUF metadata keys, its tensor names in both formats and how GGUF's
 * layout differs (llama.cpp's RoPE row order, norm offsets), the names of its block linears ({@link BlockLayout},
 * with their input groups and coupled units), which biases its checkpoints can carry, and the config writer.
 * The model itself runs on the family-neutral {@link org.prunelab.model.Transformer}, configured by the
 * {@link DecoderConfig.Variant} the architecture reads.
 *
 * <p>Add a family with one class (usually extending {@link StandardArchitecture}) and one line in
 * {@link Architectures}.
 */
public interface Architecture {

    /** Registry name, what {@link DecoderConfig#architecture()} holds ({@code llama}, {@code qwen2}, {@code gemma3}). */
    String name();

    /** One line for listings and errors: which models the family covers. */
    String description();

    /** {@code config.json} {@code model_type} values this family reads; the first is the one written. */
    List<String> hfModelTypes();

    /** transformers' model class written in {@code architectures} ({@code LlamaForCausalLM}). */
    String hfClassName();

    /** GGUF {@code general.architecture} value ({@code llama}); its metadata keys start with it. */
    String ggufArchitecture();

    /** The names of the block linears, and the block's input groups and coupled units. */
    BlockLayout layout();

    /** The family's Hugging Face tensor names. */
    TensorNames hfNames();

    /**
     * The config from a checkpoint's {@code config.json}.
     *
     * @throws org.prunelab.PrunelabException.ModelFormat for a missing or malformed key, or a feature prunelab does
     *         not implement (named, with what to do)
     */
    DecoderConfig readHfConfig(HfConfig.Reader config);

    /**
     * The config from a GGUF file's metadata ({@code <arch>.embedding_length}, ...).
     *
     * @throws org.prunelab.PrunelabException.ModelFormat for a missing or malformed key
     */
    DecoderConfig readGgufConfig(GgufFile file);

    /** The {@code config.json} of a checkpoint with this config, as transformers writes it for the family. */
    ObjectNode writeHfConfig(DecoderConfig config, HfConfig.Export export);

    /** A GGUF file's tensors under Hugging Face names, in Hugging Face layout, as the model binds them. */
    TensorLookup fromGguf(GgufTensorSource file, DecoderConfig config);

    /** A safetensors checkpoint's tensors as the model binds them (e.g. Gemma's norm weights {@code w} as gains {@code 1 + w}). */
    TensorLookup fromHf(TensorLookup checkpoint, DecoderConfig config);

    /**
     * The tensors and {@code export} extras of a model, to save as a checkpoint transformers loads (the inverse of
     * {@link #fromHf}).
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument if a linear's format cannot be saved
     */
    SafetensorsWriter hfTensors(DecoderModel model, HfConfig.Export export);

    /**
     * Adds one block's tensors (its seven linears, with biases as {@code export} switches them on, and its norms) under
     * the family's Hugging Face names: what {@link #hfTensors} writes for that block, for a checkpoint written one
     * block at a time (the streaming pipeline's shards).
     */
    void addHfBlockTensors(SafetensorsWriter w, org.prunelab.model.DecoderBlock block, HfConfig.Export export);

    /**
     * Adds the tensors outside the blocks that {@link #hfTensors} writes: the final norm, the LM head unless tied, and
     * with {@code withEmbedding} the embedding.
     */
    void addHfFinalTensors(SafetensorsWriter w, DecoderModel model, boolean withEmbedding);

    /**
     * Why {@code model} cannot be saved as this family's checkpoint (e.g. a bias the family's linears cannot carry),
     * or empty when it can. Checked before a run starts, from the method's description of what it adds
     * ({@code biasOn}: the linears that will carry a bias).
     */
    Optional<String> cannotSave(java.util.Set<org.prunelab.model.LinearRole> biasOn);

    /**
     * Why a model of {@code shape} cannot be written as a GGUF file that llama.cpp's loader for this family reads, or
     * empty when it can: blocks of different widths (llama.cpp sizes every block's tensors by block 0's), a bias on a
     * linear the loader has no tensor for ({@code biasOn}: the linears that carry or will carry one), a RoPE scaling
     * or block variant the family's GGUF metadata cannot state. Checked before a run that exports starts, and again on
     * the finished model. Not checked here: what depends on the encoding (row lengths for block quantisation), which
     * {@link GgufExporter} checks.
     */
    Optional<String> cannotWriteGguf(org.prunelab.model.ModelShape shape, java.util.Set<org.prunelab.model.LinearRole> biasOn);

    /**
     * The family's {@code <arch>.*} metadata for a model of {@code config} whose every block has {@code config}'s
     * widths, typed and ordered as llama.cpp's {@code convert_hf_to_gguf.py} writes them; {@link #readGgufConfig} of
     * a file with these keys gives {@code config} back.
     */
    List<GgufPlan.Key> ggufKeys(DecoderConfig config);

    /**
     * The model's tensors under llama.cpp's names and in its layout, the inverse of {@link #fromGguf}: which rows
     * llama.cpp's RoPE needs permuted, norm gains as the GGUF stores them. Embedding first, then block by block, then
     * the final norm and (untied) LM head. The data are references into the model, not copies.
     */
    List<GgufPlan.Tensor> ggufTensors(DecoderModel model);
}
