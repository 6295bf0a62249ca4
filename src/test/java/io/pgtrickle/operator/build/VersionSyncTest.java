package io.pgtrickle.operator.build;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

/**
 * The release version is written in four places; they must agree: pom.xml, the Helm chart's version
 * and appVersion, the operator image tag in manifests/, and the newest CHANGELOG entry.
 */
class VersionSyncTest {
  private static final Path ROOT = Path.of(System.getProperty("project.basedir", "."));
  private static final Pattern OPERATOR_IMAGE =
      Pattern.compile("image:\\s*\"?[\\w./-]*pg-trickle-operator:([\\w.+-]+)\"?");
  private static final Pattern CHANGELOG_ENTRY =
      Pattern.compile("^## \\[?(\\d+\\.\\d+\\.\\d+[\\w.+-]*)\\]?", Pattern.MULTILINE);

  @Test
  void everyVersionAgreesWithPomXml() throws Exception {
    String pomVersion = pomVersion();
    JsonNode chart =
        new ObjectMapper(new YAMLFactory())
            .readTree(ROOT.resolve("helm/pg-trickle-operator/Chart.yaml").toFile());

    assertThat(chart.path("version").asText()).as("Chart.yaml version").isEqualTo(pomVersion);
    assertThat(chart.path("appVersion").asText()).as("Chart.yaml appVersion").isEqualTo(pomVersion);
    List<String> imageTags = operatorImageTags();
    assertThat(imageTags).as("operator image tags in manifests/").isNotEmpty();
    assertThat(imageTags).as("operator image tags in manifests/").containsOnly(pomVersion);
    assertThat(newestChangelogEntry()).as("newest docs/CHANGELOG.md entry").contains(pomVersion);
  }

  @Test
  void findsTagsAndEntriesInTheFormatsItChecks() {
    Matcher image = OPERATOR_IMAGE.matcher("  image: pgtrickle/pg-trickle-operator:1.2.3");
    assertThat(image.find()).isTrue();
    assertThat(image.group(1)).isEqualTo("1.2.3");
    Matcher entry = CHANGELOG_ENTRY.matcher("# Changelog\n\n## [0.2.0] - 2026-11-24\n## [0.1.0]");
    assertThat(entry.find()).isTrue();
    assertThat(entry.group(1)).isEqualTo("0.2.0");
  }

  private static String pomVersion() throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    Document pom = factory.newDocumentBuilder().parse(ROOT.resolve("pom.xml").toFile());
    return XPathFactory.newInstance().newXPath().evaluate("/project/version", pom).trim();
  }

  private static List<String> operatorImageTags() throws Exception {
    List<String> tags = new ArrayList<>();
    try (var files = Files.walk(ROOT.resolve("manifests"))) {
      for (Path file : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        Matcher matcher = OPERATOR_IMAGE.matcher(Files.readString(file, StandardCharsets.UTF_8));
        while (matcher.find()) {
          tags.add(matcher.group(1));
        }
      }
    }
    return tags;
  }

  private static Optional<String> newestChangelogEntry() throws Exception {
    Matcher matcher =
        CHANGELOG_ENTRY.matcher(
            Files.readString(ROOT.resolve("docs/CHANGELOG.md"), StandardCharsets.UTF_8));
    return matcher.find() ? Optional.of(matcher.group(1)) : Optional.empty();
  }
}
