package io.pgtrickle.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class DemoCommandIT {
  @Test
  void demoRunsEndToEndAndFrontiersAdvance() {
    CliRun run = CliRun.of("demo");

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("Demo complete: every stream table is Ready.")
        .doesNotContain("equal to its query: NO");
    List<String> lsns = lsnsOfOrdersFrontier(run.out());
    // Step 1 and step 3 for each of the two stream tables.
    assertThat(lsns).hasSize(4);
    assertThat(compare(lsns.get(2), lsns.get(0))).as("large-orders frontier advanced").isPositive();
    assertThat(compare(lsns.get(3), lsns.get(1))).as("revenue frontier advanced").isPositive();
  }

  private static List<String> lsnsOfOrdersFrontier(String out) {
    Matcher matcher =
        Pattern.compile(
                "frontier of public.orders \\(stable name \\w+\\) on coordinator: LSN (\\S+),")
            .matcher(out);
    List<String> lsns = new java.util.ArrayList<>();
    while (matcher.find()) {
      lsns.add(matcher.group(1));
    }
    return lsns;
  }

  private static long compare(String a, String b) {
    return value(a) - value(b);
  }

  private static long value(String lsn) {
    String[] parts = lsn.split("/", -1);
    return (Long.parseLong(parts[0], 16) << 32) + Long.parseLong(parts[1], 16);
  }
}
