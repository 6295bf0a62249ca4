package io.pgtrickle.operator.engine;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A refresh interval written as in the spec: 500ms, 1s, 5m, 1h, or combined, e.g. 1m30s. */
public record Schedule(String text, Duration interval) {
  /** The same pattern the CRD validates with. */
  public static final String PATTERN = "^([0-9]+(ms|s|m|h))+$";

  private static final Pattern WHOLE = Pattern.compile(PATTERN);
  private static final Pattern PART = Pattern.compile("([0-9]+)(ms|s|m|h)");
  private static final Duration MINIMUM = Duration.ofMillis(100);

  public static Schedule parse(String text) throws EngineException {
    if (text == null || !WHOLE.matcher(text).matches()) {
      throw new EngineException(
          Reason.InvalidSpec,
          "schedule '" + text + "' is not a duration such as 500ms, 1s, 5m or 1h");
    }
    Duration total = Duration.ZERO;
    Matcher part = PART.matcher(text);
    try {
      while (part.find()) {
        long amount = Long.parseLong(part.group(1));
        total =
            total.plus(
                switch (part.group(2)) {
                  case "ms" -> Duration.ofMillis(amount);
                  case "s" -> Duration.ofSeconds(amount);
                  case "m" -> Duration.ofMinutes(amount);
                  default -> Duration.ofHours(amount);
                });
      }
    } catch (ArithmeticException | NumberFormatException e) {
      throw new EngineException(Reason.InvalidSpec, "schedule '" + text + "' is too long", e);
    }
    if (total.compareTo(MINIMUM) < 0) {
      throw new EngineException(
          Reason.InvalidSpec,
          String.format(
              Locale.ROOT, "schedule '%s' is shorter than the minimum of %dms", text, 100));
    }
    return new Schedule(text, total);
  }
}
