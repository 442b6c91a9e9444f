package org.prunelab.arch;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.model.DecoderConfig;

import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** config.json reading and writing through the architecture registry (the Llama family here). */
class HfConfigTest {
    /** The keys of HuggingFaceTB/SmolLM2-135M-Instruct's config.json (transformers 4 form). */
    static final String SMOLLM2_LIKE = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576,
             "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
             "vocab_size": 49152, "max_position_embeddings": 8192, "rms_norm_eps": 1e-05, "rope_theta": 100000,
             "rope_scaling": null, "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2,
             "hidden_act": "silu", "torch_dtype": "bfloat16"}
            """;

    @TempDir
    Path dir;

    private static DecoderConfig parse(String json, String source) {
        return Architectures.readHfConfig(HfConfig.parse(json, source));
    }

    @Test
    void readsAConfigAndDerivesHeadDim() {
        DecoderConfig c = parse(SMOLLM2_LIKE, "config.json");
        assertThat(c.hiddenSize()).isEqualTo(576);
        assertThat(c.numKeyValueHeads()).isEqualTo(3);
        assertThat(c.headDim()).isEqualTo(64);
        assertThat(c.ropeTheta()).isEqualTo(100000.0);
        assertThat(c.rmsNormEps()).isEqualTo(1e-5);
        assertThat(c.ropeScaling()).isNull();
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.bosTokenId()).isEqualTo(1);
        assertThat(c.eosTokenId()).isEqualTo(2);
    }

    @Test
    void appliesTransformersDefaults() {
        DecoderConfig c = parse("""
                {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "vocab_size": 100}""", "c");
        assertThat(c.numKeyValueHeads()).isEqualTo(4);
        assertThat(c.headDim()).isEqualTo(16);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(2048);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.bosTokenId()).isEqualTo(1);
        assertThat(c.eosTokenId()).isEqualTo(2);
    }

    @Test
    void readsTransformers5RopeParametersAndLlama3Scaling() {
        DecoderConfig c = parse("""
                {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "head_dim": 32, "vocab_size": 100, "bos_token_id": null, "eos_token_id": [128001, 128009],
                 "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                   "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}""", "c");
        assertThat(c.ropeTheta()).isEqualTo(500000.0);
        assertThat(c.headDim()).isEqualTo(32);
        assertThat(c.ropeScaling()).isEqualTo(new DecoderConfig.RopeScaling("llama3", 32, 1, 4, 8192));
        assertThat(c.bosTokenId()).isEqualTo(-1);
        assertThat(c.eosTokenId()).isEqualTo(128001);

        DecoderConfig d = parse("""
                {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "vocab_size": 100, "rope_parameters": {"rope_type": "default", "rope_theta": 1234.0}}""", "c");
        assertThat(d.ropeTheta()).isEqualTo(1234.0);
        assertThat(d.ropeScaling()).isNull();
        DecoderConfig e = parse("""
                {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "vocab_size": 100, "rope_scaling": {"type": "linear", "factor": 2.0}}""", "c");
        assertThat(e.ropeScaling()).isEqualTo(new DecoderConfig.RopeScaling("linear", 2, 0, 0, 0));
    }

    @Test
    void writesAndReadsBack() throws IOException {
        DecoderConfig c = new DecoderConfig(64, 128, 2, 4, 2, 16, 100, 512, 1e-5, 500000, new DecoderConfig.RopeScaling(
                "llama3", 8, 1, 4, 256), false, -1, 7);
        Path f = dir.resolve("config.json");
        HfConfig.write(new LlamaArchitecture().writeHfConfig(c, HfConfig.Export.NONE), f);

        assertThat(Architectures.readHfConfig(HfConfig.read(f))).isEqualTo(c);
        var json = new ObjectMapper().readTree(f.toFile());
        assertThat(json.get("architectures").get(0).asText()).isEqualTo("LlamaForCausalLM");
        assertThat(json.get("model_type").asText()).isEqualTo("llama");
        assertThat(json.get("torch_dtype").asText()).isEqualTo("float32");
        assertThat(json.get("bos_token_id").isNull()).isTrue();
        assertThat(dir.toFile().list()).containsExactly("config.json");
    }

    /**
     * transformers 5.24's Gemma3TextConfig types query_pre_attn_scalar as int and its strict validation refuses 256.0, so
     * from_pretrained failed on every Gemma 3 folder prunelab wrote; a whole value is written as an int.
     */
    @Test
    void writesGemma3QueryPreAttnScalarAsAnInt() throws IOException {
        DecoderConfig c = new DecoderConfig("gemma3", 32, 48, 4, 4, 1, 16, 100, 64, 1e-6, 1_000_000, null, true, 2, 1,
                new DecoderConfig.Variant(DecoderConfig.Activation.GELU_TANH, true, true, (float) Math.sqrt(32), 256, 5,
                        java.util.List.of("sliding_attention", "sliding_attention", "sliding_attention", "full_attention"),
                        10_000, 0));
        Path f = dir.resolve("config.json");
        HfConfig.write(new Gemma3Architecture().writeHfConfig(c, HfConfig.Export.NONE), f);

        var scalar = new ObjectMapper().readTree(f.toFile()).get("query_pre_attn_scalar");
        assertThat(scalar.isInt()).as("query_pre_attn_scalar %s", scalar).isTrue();
        assertThat(scalar.asInt()).isEqualTo(256);
        assertThat(Architectures.readHfConfig(HfConfig.read(f)).variant().queryPreAttnScalar()).isEqualTo(256.0);
    }

    @Test
    void rejectsBadConfigs() {
        assertThatThrownBy(() -> HfConfig.read(dir.resolve("config.json")))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> parse("{\"hidden_size\": 64", "x/config.json"))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("x/config.json is not valid JSON");
        assertThatThrownBy(() -> parse("{\"model_type\": \"gpt2\"}", "c"))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("model_type 'gpt2'")
                .hasMessageContaining("supported model_type values: llama, mistral");
        assertThatThrownBy(() -> parse("{\"hidden_size\": 64, \"num_attention_heads\": 4}", "c"))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("has no 'intermediate_size'");
        assertThatThrownBy(() -> parse(SMOLLM2_LIKE.replace("\"vocab_size\": 49152", "\"vocab_size\": \"big\""), "c"))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("'vocab_size' should be an integer");
        assertThatThrownBy(() -> parse(SMOLLM2_LIKE.replace("\"rope_scaling\": null",
                "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}"), "c"))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("RoPE scaling 'yarn'");
    }
}
