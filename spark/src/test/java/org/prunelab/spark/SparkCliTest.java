package org.prunelab.spark;

import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.cli.Main;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tradeoff --engine spark} through the real CLI: the engine is found on the class path (its service file), and
 * settings it cannot take are refused before setup, planning or Spark start, with what to give instead.
 */
class SparkCliTest {
    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new String[] {Integer.toString(status), err.toString()};
    }

    @Test
    void unknownEngineSettingsAreRefusedNamingTheKnownOnes(@TempDir Path dir) {
        String[] r = run("tradeoff", "--engine", "spark", "--conf", "prunelab.bogus=1", "--out", dir.resolve("t.md").toString());
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1]).startsWith("error: unknown --conf prunelab.bogus").contains(SparkSweepEngine.EXECUTOR_SETUP)
                .contains(SparkSweepEngine.OUTBOX).doesNotContain("\tat ");
        assertThat(dir.resolve("t.md")).doesNotExist();
    }

    @Test
    void speculativeExecutionIsRefused(@TempDir Path dir) {
        String[] r = run("tradeoff", "--engine", "spark", "--conf", "spark.speculation=true", "--out", dir.resolve("t.md").toString());
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1]).contains("spark.speculation=true would run sweep points twice");
    }

    @Test
    void localMastersGetRetries() {
        assertThat(SparkSweepEngine.withRetries("local[2]", 4)).isEqualTo("local[2,4]");
        assertThat(SparkSweepEngine.withRetries("local", 4)).isEqualTo("local[1,4]");
        assertThat(SparkSweepEngine.withRetries("local[*]", 3)).isEqualTo("local[*,3]");
        assertThat(SparkSweepEngine.withRetries("local[2,7]", 4)).isEqualTo("local[2,7]");
        assertThat(SparkSweepEngine.withRetries("spark://h:7077", 4)).isEqualTo("spark://h:7077");
    }

    /** Found on a standalone cluster on 127.0.0.1 (results/spark-standalone.md): the warning said runs would go to the
     *  executors' outboxes, but its executors, on this machine, logged to the loopback server as the driver did. */
    @Test
    void loopbackMlflowWarningOnlyWhereExecutorsMayBeOnOtherMachines() {
        URI loopback = URI.create("http://127.0.0.1:5000");
        assertThat(SparkSweepEngine.loopbackWarning(loopback, "spark://127.0.0.1:7077")).isEmpty();
        assertThat(SparkSweepEngine.loopbackWarning(loopback, "spark://localhost:7077")).isEmpty();
        assertThat(SparkSweepEngine.loopbackWarning(loopback, "spark://[::1]:7077")).isEmpty();
        assertThat(SparkSweepEngine.loopbackWarning(loopback, "local[2,4]")).isEmpty();
        assertThat(SparkSweepEngine.loopbackWarning(loopback, "spark://10.0.0.5:7077")).get(InstanceOfAssertFactories.STRING)
                .contains("executors on other machines cannot reach");
        assertThat(SparkSweepEngine.loopbackWarning(loopback, "spark://127.0.0.1:7077,node2:7077")).isPresent();
        assertThat(SparkSweepEngine.loopbackWarning(loopback, "yarn")).isPresent();
        assertThat(SparkSweepEngine.loopbackWarning(URI.create("http://localhost:5000"), "k8s://https://api:6443")).isPresent();
        assertThat(SparkSweepEngine.loopbackWarning(URI.create("http://10.0.0.2:5000"), "spark://10.0.0.5:7077")).isEmpty();
    }
}
