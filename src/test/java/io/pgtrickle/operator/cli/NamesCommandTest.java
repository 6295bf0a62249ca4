package io.pgtrickle.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NamesCommandTest {
  @Test
  void printsStableNameThenOneLinePerObject() {
    CliRun run = CliRun.of("names", "shop", "public.orders");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out().lines()).first().isEqualTo("stable_name=2def2740256dfb26");
    assertThat(run.out().lines())
        .contains(
            "change_buffer=pgtrickle_changes.changes_2def2740256dfb26",
            "trigger_function=pg_trickle_cdc_fn_2def2740256dfb26",
            "slot=pgtrickle_2def2740256dfb26",
            "publication=pgtrickle_pub_2def2740256dfb26")
        .allMatch(line -> line.matches("[a-z_]+=[a-z0-9_.]+"));
  }

  @Test
  void acceptsQuotedPartsWithDotsAndKeepsCase() {
    assertThat(CliRun.of("names", "db", "\"my.schema\".t").out())
        .startsWith("stable_name=998cea6b64a01cf9\n");
    assertThat(CliRun.of("names", "shop", "public.Orders").out())
        .startsWith("stable_name=48ec542c4e15be46\n");
  }

  @Test
  void rejectsANameWithoutSchemaWithUsageExitCode() {
    CliRun run = CliRun.of("names", "shop", "orders");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("expected <schema>.<table>");
    assertThat(run.out()).isEmpty();
  }

  @Test
  void rejectsAnUnterminatedQuote() {
    CliRun run = CliRun.of("names", "shop", "\"public.orders");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("unterminated quote");
  }

  @Test
  void withoutCommandPrintsUsageAndFails() {
    CliRun run = CliRun.of();
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("a command is required").contains("names");
  }
}
