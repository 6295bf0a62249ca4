package io.pgtrickle.operator.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The chart rendered by a real Helm engine (helm-java embeds Helm's Go library): it lints, renders
 * what the operator needs with least-privilege RBAC, and manifests/install.yaml is exactly its
 * default rendering, so the two cannot drift. Regenerate the bundle with {@code ./mvnw test
 * -Dtest=HelmChartTest -Dupdate.install.bundle=true}.
 */
class HelmChartTest {
  static final Path ROOT = Path.of(System.getProperty("project.basedir", "."));
  static final Path CHART = ROOT.resolve("helm/pg-trickle-operator");
  static final Path BUNDLE = ROOT.resolve("manifests/install.yaml");
  static final String NAMESPACE = "pg-trickle-system";
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @Test
  void lintsCleanly() {
    LintResult result = new Helm(CHART).lint().strict().call();
    assertThat(result.isFailed()).as(String.join("\n", result.getMessages())).isFalse();
  }

  @Test
  void defaultsWatchAllNamespacesWithAClusterRoleOfLeastPrivilege() throws Exception {
    List<JsonNode> objects =
        render(new Helm(CHART).template().withName("pgt").withNamespace("ops").call());

    JsonNode role = only(objects, "ClusterRole");
    List<String> resources = new ArrayList<>();
    for (JsonNode rule : role.path("rules")) {
      rule.path("resources").forEach(r -> resources.add(r.asText()));
      for (JsonNode verb : rule.path("verbs")) {
        assertThat(verb.asText()).isNotIn("*", "delete", "deletecollection");
      }
    }
    assertThat(resources)
        .containsExactlyInAnyOrder(
            "citusclusters",
            "streamtables",
            "citusclusters/status",
            "streamtables/status",
            "citusclusters/finalizers",
            "streamtables/finalizers",
            "secrets",
            "events");
    assertThat(find(objects, "Role")).isEmpty();

    JsonNode container =
        only(objects, "Deployment")
            .path("spec")
            .path("template")
            .path("spec")
            .path("containers")
            .get(0);
    assertThat(container.path("image").asText())
        .isEqualTo("pgtrickle/pg-trickle-operator:" + chartVersion());
    assertThat(container.path("livenessProbe").path("httpGet").path("path").asText())
        .isEqualTo("/healthz");
    assertThat(container.path("readinessProbe").path("httpGet").path("path").asText())
        .isEqualTo("/readyz");
    assertThat(container.path("resources").path("requests").path("memory").asText())
        .isEqualTo("256Mi");
    assertThat(env(container, "PGTRICKLE_WATCH_NAMESPACES")).isEmpty();
    assertThat(env(container, "PGTRICKLE_LEADER_ELECTION")).isEqualTo("false");
    assertThat(find(objects, "ServiceMonitor")).isEmpty();
    assertThat(objects)
        .extracting(o -> o.path("kind").asText())
        .contains("ServiceAccount", "Service");
  }

  @Test
  void listedNamespacesGetRolesAndLeaderElectionItsLease() throws Exception {
    List<JsonNode> objects =
        render(
            new Helm(CHART)
                .template()
                .withName("pgt")
                .withNamespace("ops")
                .set("watchNamespaces[0]", "team-a")
                .set("watchNamespaces[1]", "team-b")
                .set("leaderElection.enabled", "true")
                .set("metrics.serviceMonitor.enabled", "true")
                .call());

    assertThat(find(objects, "ClusterRole")).isEmpty();
    assertThat(find(objects, "Role"))
        .extracting(
            r ->
                r.path("metadata").path("namespace").asText()
                    + "/"
                    + r.path("metadata").path("name").asText())
        .containsExactlyInAnyOrder(
            "team-a/pgt-pg-trickle-operator",
            "team-b/pg-trickle-operator".replace("pg-trickle-operator", "pgt-pg-trickle-operator"),
            "ops/pgt-pg-trickle-operator-leader-election");
    JsonNode container =
        only(objects, "Deployment")
            .path("spec")
            .path("template")
            .path("spec")
            .path("containers")
            .get(0);
    assertThat(env(container, "PGTRICKLE_WATCH_NAMESPACES")).isEqualTo("team-a,team-b");
    assertThat(env(container, "PGTRICKLE_LEADER_ELECTION")).isEqualTo("true");
    assertThat(find(objects, "ServiceMonitor")).hasSize(1);
  }

  @Test
  void installBundleIsTheChartsDefaultRendering() throws Exception {
    String expected = bundle();
    if (Boolean.getBoolean("update.install.bundle")) {
      Files.writeString(BUNDLE, expected, StandardCharsets.UTF_8);
    }
    assertThat(Files.readString(BUNDLE, StandardCharsets.UTF_8))
        .as(
            "manifests/install.yaml differs from the chart; regenerate it with"
                + " ./mvnw test -Dtest=HelmChartTest -Dupdate.install.bundle=true")
        .isEqualTo(expected);
  }

  /** The namespace, the chart's CRDs (helm template leaves crds/ out), then its templates. */
  static String bundle() throws Exception {
    StringBuilder bundle =
        new StringBuilder(
            "# pg-trickle-operator install bundle: the Helm chart helm/pg-trickle-operator"
                + " rendered with\n# default values into namespace "
                + NAMESPACE
                + ", CRDs included (generated; HelmChartTest keeps it in sync).\n"
                + "#   kubectl apply --server-side -f manifests/install.yaml\n"
                + "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "
                + NAMESPACE
                + "\n");
    try (var crds = Files.list(CHART.resolve("crds"))) {
      for (Path crd : crds.sorted().toList()) {
        bundle.append("---\n").append(Files.readString(crd, StandardCharsets.UTF_8).strip());
        bundle.append('\n');
      }
    }
    String rendered =
        new Helm(CHART).template().withName("pg-trickle-operator").withNamespace(NAMESPACE).call();
    for (String document : rendered.split("(?m)^---\\s*$", -1)) {
      if (!document.isBlank()) {
        bundle.append("---\n").append(document.strip()).append('\n');
      }
    }
    return bundle.toString();
  }

  private static String chartVersion() throws Exception {
    return YAML.readTree(CHART.resolve("Chart.yaml").toFile()).path("appVersion").asText();
  }

  private static String env(JsonNode container, String name) {
    for (JsonNode env : container.path("env")) {
      if (name.equals(env.path("name").asText())) {
        return env.path("value").asText();
      }
    }
    return null;
  }

  private static JsonNode only(List<JsonNode> objects, String kind) {
    List<JsonNode> found = find(objects, kind);
    assertThat(found).as(kind).hasSize(1);
    return found.get(0);
  }

  private static List<JsonNode> find(List<JsonNode> objects, String kind) {
    return objects.stream().filter(o -> kind.equals(o.path("kind").asText())).toList();
  }

  static List<JsonNode> render(String yaml) throws Exception {
    List<JsonNode> objects = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
      while (it.hasNext()) {
        Optional.ofNullable(it.next()).filter(n -> !n.isEmpty()).ifPresent(objects::add);
      }
    }
    return objects;
  }
}
