package io.pgtrickle.operator.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Local mode's reader is strict: bad input fails naming the file, the line and the field. */
class ManifestReaderTest {
  private static final String STREAM_TABLE =
      """
      apiVersion: pgtrickle.io/v1alpha1
      kind: StreamTable
      metadata:
        name: st
      spec:
        name: st
        query: SELECT 1
        schedule: 5s
      """;

  @TempDir Path dir;

  @Test
  void readsWhatIsValidSkippingEmptyDocumentsAndOtherKinds() throws Exception {
    Path file =
        write(
            "ok.yaml",
            "---\n# nothing\n---\n"
                + STREAM_TABLE
                + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nfoo: bar\n");

    ManifestReader reader = new ManifestReader();
    Manifests manifests = reader.read(List.of(file));

    assertThat(manifests.streamTables()).hasSize(1);
    assertThat(manifests.streamTables().get(0).getSpec().getSchedule()).isEqualTo("5s");
    assertThat(reader.skipped()).containsExactly("ConfigMap in " + file);
  }

  @Test
  void anUnknownSpecFieldNamesFileLineAndPath() throws Exception {
    Path file = write("st.yaml", "# a comment\n" + STREAM_TABLE.replace("schedule", "shedule"));

    assertThatThrownBy(() -> new ManifestReader().read(List.of(file)))
        .isInstanceOf(ManifestException.class)
        .hasMessageStartingWith(file + ":9: ")
        .hasMessageContaining("StreamTable st")
        .hasMessageContaining("unknown field spec.shedule")
        .hasMessageContaining("schedule");
  }

  @Test
  void unknownFieldsAreFoundAtEveryLevelOfEveryKind() throws Exception {
    assertUnknown(STREAM_TABLE.replace("spec:", "specs:"), "specs", 5);
    assertUnknown(
        STREAM_TABLE.replace("  name: st\nspec", "  name: st\n  nmae: x\nspec"),
        "metadata.nmae",
        5);
    assertUnknown(
        """
        apiVersion: pgtrickle.io/v1alpha1
        kind: CitusCluster
        metadata: {name: c}
        spec:
          coordinator:
            host: h
            prot: 5432
            database: d
        """,
        "spec.coordinator.prot",
        7);
    assertUnknown(
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        strinData: {username: u}
        """,
        "strinData",
        4);
  }

  @Test
  void aValueOfTheWrongKindNamesFileLineAndPath() throws Exception {
    Path file = write("st.yaml", STREAM_TABLE + "  refreshMode: FASTEST\n");

    assertThatThrownBy(() -> new ManifestReader().read(List.of(file)))
        .isInstanceOf(ManifestException.class)
        .hasMessageStartingWith(file + ":9: ")
        .hasMessageContaining("spec.refreshMode")
        .hasMessageContaining("FASTEST");
  }

  @Test
  void aSyntaxErrorNamesFileAndLine() throws Exception {
    Path file = write("bad.yaml", STREAM_TABLE + "---\nkind: StreamTable\nmetadata: {name: [x}\n");

    assertThatThrownBy(() -> new ManifestReader().read(List.of(file)))
        .isInstanceOf(ManifestException.class)
        .hasMessageStartingWith(file + ":11:")
        .hasMessageContaining("not valid YAML");
  }

  @Test
  void aDuplicateKeyIsAnError() throws Exception {
    Path file = write("dup.yaml", STREAM_TABLE + "  schedule: 1h\n");

    assertThatThrownBy(() -> new ManifestReader().read(List.of(file)))
        .isInstanceOf(ManifestException.class)
        .hasMessageStartingWith(file + ":9:")
        .hasMessageContaining("schedule");
  }

  @Test
  void aMissingFileIsAnError() {
    Path missing = dir.resolve("nowhere.yaml");

    assertThatThrownBy(() -> new ManifestReader().read(List.of(missing)))
        .isInstanceOf(ManifestException.class)
        .hasMessageContaining(missing.toString());
  }

  private void assertUnknown(String document, String path, int line) throws Exception {
    Path file = write("doc.yaml", document);
    assertThatThrownBy(() -> new ManifestReader().read(List.of(file)))
        .as(path)
        .isInstanceOf(ManifestException.class)
        .hasMessageStartingWith(file + ":" + line + ": ")
        .hasMessageContaining("unknown field " + path);
  }

  private Path write(String name, String text) throws Exception {
    return Files.writeString(dir.resolve(name), text);
  }
}
