package io.pgtrickle.operator.bench;

import java.util.Arrays;

/** Runs JMH's own main without the blank arguments the Maven profile passes when unset. */
public final class Jmh {
  private Jmh() {}

  public static void main(String[] args) throws Exception {
    org.openjdk.jmh.Main.main(Arrays.stream(args).filter(a -> !a.isBlank()).toArray(String[]::new));
  }
}
