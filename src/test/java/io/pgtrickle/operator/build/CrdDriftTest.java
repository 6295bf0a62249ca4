package io.pgtrickle.operator.build;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CRDs are generated from the Java model at build time; the copies committed in crds/ and in
 * the Helm chart must be exactly what the build generates. Refresh them with {@code ./mvnw
 * -Pupdate-crds process-classes}.
 */
class CrdDriftTest {
  private static final Path ROOT = Path.of(System.getProperty("project.basedir", "."));
  private static final Path GENERATED = ROOT.resolve("target/classes/META-INF/fabric8");

  @ParameterizedTest
  @ValueSource(strings = {"crds", "helm/pg-trickle-operator/crds"})
  void committedCrdsMatchTheGeneratedOnes(String directory) throws Exception {
    List<Path> generated = yamlFiles(GENERATED);
    assertThat(generated)
        .extracting(p -> p.getFileName().toString())
        .containsExactlyInAnyOrder(
            "citusclusters.pgtrickle.io-v1.yml", "streamtables.pgtrickle.io-v1.yml");
    Path committed = ROOT.resolve(directory);
    assertThat(yamlFiles(committed))
        .extracting(p -> p.getFileName().toString())
        .containsExactlyInAnyOrderElementsOf(
            generated.stream().map(p -> p.getFileName().toString()).toList());
    for (Path file : generated) {
      assertThat(Files.readString(committed.resolve(file.getFileName()), StandardCharsets.UTF_8))
          .as(
              "%s/%s differs from the CRD generated from the Java model; run"
                  + " ./mvnw -Pupdate-crds process-classes",
              directory, file.getFileName())
          .isEqualTo(Files.readString(file, StandardCharsets.UTF_8));
    }
  }

  private static List<Path> yamlFiles(Path directory) throws Exception {
    try (Stream<Path> files = Files.list(directory)) {
      return files.filter(p -> p.toString().endsWith(".yml")).sorted().toList();
    }
  }
}
