package org.prunelab.arch;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.prunelab.fuzz.FuzzContract;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderConfig;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz target for a Hugging Face {@code config.json} as a checkpoint folder is opened: the JSON, the family its
 * {@code model_type} names, every key that family reads into a {@link DecoderConfig} (whose constructor checks the
 * values), and prunelab's per-block widths. Contract: {@link FuzzContract}; inputs in {@code HfConfigFuzzTestInputs/configJson/}.
 */
class HfConfigFuzzTest {
    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void configJson(byte[] input) {
        FuzzContract.run(input.length, () -> {
            HfConfig.Reader reader = HfConfig.parse(new String(input, StandardCharsets.UTF_8), "fuzz/config.json");
            DecoderConfig config = Architectures.readHfConfig(reader);
            assertThat(config.hiddenSize()).isPositive();
            assertThat(config.numAttentionHeads() % config.numKeyValueHeads()).isZero();
            List<BlockShape> shapes = HfConfig.layerSizes(reader);
            if (shapes != null) assertThat(shapes).allSatisfy(s -> assertThat(s).isNotNull());
        });
    }
}
