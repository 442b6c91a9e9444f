package org.prunelab.sweep;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.prunelab.PrunelabException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML document as plain values that remember the line they came from, so that every complaint about a
 * sweep spec can name its line (Jackson's {@link com.fasterxml.jackson.core.JsonLocation}). Jackson's own
 * tree model drops locations, hence this small reader over the token stream.
 *
 * @param value a {@code Map<String, YamlTree>} (mapping, in file order), a {@code List<YamlTree>} (sequence),
 *              a String, Number or Boolean (scalar), or null
 * @param line  1-based line of the value's first token in the source
 */
record YamlTree(Object value, int line) {
    private static final YAMLFactory YAML = new YAMLFactory();

    /**
     * Parses one YAML document.
     *
     * @param source named in messages (a file name)
     * @throws PrunelabException.InvalidArgument for malformed YAML, naming the line and column
     */
    static YamlTree parse(String text, String source) {
        try (JsonParser parser = YAML.createParser(text)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                throw new PrunelabException.InvalidArgument(source + " is empty: write a sweep spec (see experiments/sweeps/tradeoff.yaml)");
            }
            return read(parser, source);
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new PrunelabException.InvalidArgument(source + " is not valid YAML" + where + ": " + e.getOriginalMessage()
                    + "; fix the indentation or quoting there (quote values such as \"2:4\")");
        } catch (IOException e) {
            throw new PrunelabException.InvalidArgument("cannot read " + source + ": " + e.getMessage());
        }
    }

    private static YamlTree read(JsonParser p, String source) throws IOException {
        int line = p.currentTokenLocation().getLineNr();
        return switch (p.currentToken()) {
            case START_OBJECT -> {
                Map<String, YamlTree> map = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    int keyLine = p.currentTokenLocation().getLineNr();
                    p.nextToken();
                    if (map.put(name, read(p, source)) != null) {
                        throw new PrunelabException.InvalidArgument(source + " line " + keyLine + ": key '" + name
                                + "' appears twice in the same mapping; keep one");
                    }
                }
                yield new YamlTree(map, line);
            }
            case START_ARRAY -> {
                List<YamlTree> list = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) list.add(read(p, source));
                yield new YamlTree(list, line);
            }
            case VALUE_STRING -> new YamlTree(p.getText(), line);
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> new YamlTree(p.getNumberValue(), line);
            case VALUE_TRUE, VALUE_FALSE -> new YamlTree(p.getBooleanValue(), line);
            case VALUE_NULL -> new YamlTree(null, line);
            default -> throw new PrunelabException.InvalidArgument(source + " line " + line + ": unexpected YAML token "
                    + p.currentToken());
        };
    }

    boolean isMap() { return value instanceof Map; }

    boolean isList() { return value instanceof List; }

    @SuppressWarnings("unchecked")
    Map<String, YamlTree> map() { return (Map<String, YamlTree>) value; }

    @SuppressWarnings("unchecked")
    List<YamlTree> list() { return (List<YamlTree>) value; }

    /** A scalar or a sequence as a list of trees (a scalar is a one-element axis). */
    List<YamlTree> asAxis() {
        return isList() ? list() : List.of(this);
    }

    /**
     * A copy of this mapping with {@code overlay}'s keys laid over it; nested mappings merge key by key,
     * anything else is replaced. Used for profiles.
     */
    YamlTree mergedWith(YamlTree overlay) {
        if (!isMap() || !overlay.isMap()) return overlay;
        Map<String, YamlTree> merged = new LinkedHashMap<>(map());
        overlay.map().forEach((k, v) -> merged.merge(k, v, YamlTree::mergedWith));
        return new YamlTree(merged, line);
    }
}
