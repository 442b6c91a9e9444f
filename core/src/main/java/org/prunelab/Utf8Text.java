package org.prunelab;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Reads a text file the user wrote (a sweep spec, a task file) as strict UTF-8, and says where it is not: the line and
 * byte, instead of the JDK's bare "Input length = 1".
 */
public final class Utf8Text {
    private Utf8Text() {}

    /**
     * The file's text.
     *
     * @param what    what the file is, for the message ("sweep spec", "task file")
     * @param refusal makes the exception to throw from the message
     * @throws IOException if the file cannot be read
     * @throws PrunelabException (from {@code refusal}) naming the file, the line and the byte offset of the first byte
     *         sequence that is not UTF-8
     */
    public static String read(Path file, String what, Function<String, ? extends PrunelabException> refusal) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) r = decoder.flush(out);
        if (r.isError()) {
            int at = in.position();
            int line = 1;
            for (int i = 0; i < at; i++) if (bytes[i] == '\n') line++;
            throw refusal.apply(String.format(java.util.Locale.ROOT, "%s %s is not UTF-8 text: line %d, byte offset %d holds 0x%02X;"
                    + " save the file as UTF-8", what, file, line, at, bytes[at] & 0xFF));
        }
        out.flip();
        return out.toString();
    }
}
