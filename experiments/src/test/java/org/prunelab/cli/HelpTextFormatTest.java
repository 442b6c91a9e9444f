package org.prunelab.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.IllegalFormatException;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * picocli treats every description line as a {@link String#format} pattern: a bare {@code %} ("95% intervals") makes
 * it print a "[picocli WARN] Could not format" line to stderr on {@code --help} and show the raw text. Every line of
 * every command's and option's description must format (a literal percent is written {@code %%}). And every command,
 * subcommands included, answers {@code --help}.
 */
class HelpTextFormatTest {

    @Test
    void everyDescriptionLineOfEveryCommandIsAValidFormatPattern() {
        CommandLine cli = new CommandLine(new Main());
        PruneCommand.addMethodOptions(cli.getSubcommands().get("prune").getCommandSpec());
        List<String> bad = new ArrayList<>();
        List<CommandSpec> specs = new ArrayList<>(List.of(cli.getCommandSpec()));
        int checked = 0;
        for (int i = 0; i < specs.size(); i++) {
            CommandSpec spec = specs.get(i);
            for (CommandLine sub : spec.subcommands().values()) {
                if (!specs.contains(sub.getCommandSpec())) specs.add(sub.getCommandSpec());
            }
            List<String> lines = new ArrayList<>(List.of(spec.usageMessage().description()));
            for (ArgSpec a : spec.args()) lines.addAll(List.of(a.description()));
            for (String line : lines) {
                checked++;
                try {
                    String.format(Locale.ROOT, line);
                } catch (IllegalFormatException e) {
                    bad.add(spec.qualifiedName() + ": " + e + " in \"" + line + "\"");
                }
            }
        }
        List<String> noHelp = specs.stream().filter(sp -> sp.findOption("--help") == null).map(CommandSpec::qualifiedName).toList();
        assertThat(noHelp).as("commands without --help").isEmpty();
        assertThat(specs.size()).as("commands walked").isGreaterThan(10);
        assertThat(checked).as("description lines checked").isGreaterThan(100);
        assertThat(bad).isEmpty();
    }
}
