package org.prunelab.kernel;

import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Evaluates one notebook cell in JShell: the cell is cut into complete snippets, each evaluated in turn;
 * the value of the last snippet, if it is an expression, is the cell's result (what Jupyter shows as
 * {@code Out[n]}). A snippet that does not compile, throws, or is interrupted ends the cell with a
 * {@link CellException} carrying a short message.
 */
final class CellEvaluator {
    private final JShell shell;
    private final CellExecutionControl control;

    CellEvaluator(JShell shell, CellExecutionControl control) {
        this.shell = shell;
        this.control = control;
    }

    /**
     * @return the last expression's value, or null when the cell ends with a statement or declaration
     * @throws CellException for a compile error, an exception thrown by the cell, or an interrupt
     */
    Object eval(String cell) {
        Object last = null;
        SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
        SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(cell);
        while (info.completeness().isComplete()) {
            last = evalSnippet(info.source());
            info = analysis.analyzeCompletion(info.remaining());
        }
        if (info.completeness() != SourceCodeAnalysis.Completeness.EMPTY) {
            throw new CellException("IncompleteInput", "the cell ends in the middle of a statement: "
                    + firstLine(info.remaining().trim()) + " (a missing ';', ')' or '}'?)", null);
        }
        return last;
    }

    private Object evalSnippet(String source) {
        List<SnippetEvent> events = shell.eval(source);
        Object value = null;
        for (SnippetEvent event : events) {
            if (event.causeSnippet() != null) continue; // a dependent snippet updated by this one
            Object v = control.takeResult(event.value());
            value = switch (event.snippet().subKind()) {
                case VAR_VALUE_SUBKIND, OTHER_EXPRESSION_SUBKIND, TEMP_VAR_EXPRESSION_SUBKIND -> v;
                default -> null;
            };
        }
        for (SnippetEvent event : events) {
            if (event.causeSnippet() != null) continue;
            JShellException e = event.exception();
            if (e instanceof EvalException ee) {
                if (CellExecutionControl.INTERRUPTED.equals(ee.getExceptionClassName())) {
                    throw new CellException("Interrupted", "the cell was interrupted; the kernel is ready for the next one", null);
                }
                Throwable original = control.takeError();
                String type = original != null ? original.getClass().getName() : ee.getExceptionClassName();
                throw new CellException(shortName(type), String.valueOf(ee.getMessage()), original);
            }
            if (e instanceof UnresolvedReferenceException ure) {
                throw new CellException("UnresolvedReference", firstLine(ure.getSnippet().source()) + " uses "
                        + shell.unresolvedDependencies(ure.getSnippet()).collect(Collectors.joining(", "))
                        + ", which is not defined", null);
            }
            if (e != null) throw new CellException(shortName(e.getClass().getName()), e.getMessage(), e);
            if (!event.status().isDefined()) throw compileError(event.snippet());
        }
        return value;
    }

    private CellException compileError(Snippet snippet) {
        String message = shell.diagnostics(snippet).filter(Diag::isError)
                .map(d -> describe(snippet.source(), d))
                .collect(Collectors.joining("\n"));
        return new CellException("CompilationError", message.isEmpty() ? "the snippet does not compile: "
                + firstLine(snippet.source()) : message, null);
    }

    /** A javac message with the offending line and a caret under the position, like javac prints it. */
    private static String describe(String source, Diag d) {
        String msg = d.getMessage(Locale.ROOT).lines()
                .filter(l -> !l.trim().startsWith("location:")).collect(Collectors.joining("\n"));
        long pos = d.getPosition();
        if (pos < 0 || pos > source.length()) return msg;
        int start = source.lastIndexOf('\n', (int) Math.max(0, pos - 1)) + 1;
        int end = source.indexOf('\n', (int) pos);
        String line = source.substring(start, end < 0 ? source.length() : end);
        return msg + "\n    " + line + "\n    " + " ".repeat((int) pos - start) + "^";
    }

    /** {@code org.prunelab.PrunelabException$InvalidArgument} becomes {@code InvalidArgument}. */
    static String shortName(String className) {
        int cut = Math.max(className.lastIndexOf('.'), className.lastIndexOf('$'));
        return className.substring(cut + 1);
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl) + " ...";
    }
}
