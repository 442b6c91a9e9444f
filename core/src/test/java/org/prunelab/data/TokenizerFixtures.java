package org.prunelab.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Comparing a tokenizer with a fixture of transformers' ids ({@code tools/reference/tokenizer_fixtures.py}): each
 * entry of the fixture's {@code encode} list has {@code category}, {@code text} and {@code ids}.
 */
final class TokenizerFixtures {
    private TokenizerFixtures() {}

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /** "text" -> ids mismatches against the fixture, one line each; empty when all match. */
    static List<String> mismatches(Tokenizer tok, JsonNode fixture) {
        List<String> bad = new ArrayList<>();
        for (JsonNode s : fixture.get("encode")) {
            String text = s.get("text").asText();
            int[] expected = ints(s.get("ids"));
            int[] actual = tok.encode(text);
            if (!Arrays.equals(expected, actual)) {
                bad.add(s.get("category").asText() + " " + abbreviate(text) + ": expected "
                        + Arrays.toString(expected) + " but got " + Arrays.toString(actual));
            }
        }
        return bad;
    }

    /** The text as a JSON string, cut to 120 characters. */
    static String abbreviate(String text) {
        String quoted = new ObjectMapper().valueToTree(text).toString();
        return quoted.length() > 120 ? quoted.substring(0, 120) + "...\"" : quoted;
    }
}
