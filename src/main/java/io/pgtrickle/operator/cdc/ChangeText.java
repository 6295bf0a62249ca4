package io.pgtrickle.operator.cdc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The output settings under which a changed row is written as text into a change buffer. Row text
 * depends on the session that prints it (a writer with {@code DateStyle 'SQL, DMY'} prints dates as
 * 24/11/2026, {@code extra_float_digits -3} drops float digits); buffer rows are data that a
 * refresh reads back, so they are always printed — and must be read — under these settings.
 */
public final class ChangeText {
  /** Setting → value, the output of every type whose text form depends on the session. */
  public static final Map<String, String> SETTINGS = settings();

  /** As {@code SET} clauses of a function definition. */
  static final String FUNCTION_SETTINGS =
      SETTINGS.entrySet().stream()
          .map(e -> " SET " + e.getKey() + " = '" + e.getValue() + "'")
          .collect(Collectors.joining());

  /** One round trip: {@code SELECT set_config(?, ?, true), ...} for every setting. */
  private static final String PIN_FOR_TRANSACTION =
      "SELECT "
          + SETTINGS.keySet().stream()
              .map(k -> "pg_catalog.set_config(?, ?, true)")
              .collect(Collectors.joining(", "));

  /** The same pin as {@code SET LOCAL} statements, to send in one round trip with others. */
  public static final List<String> PIN_STATEMENTS =
      SETTINGS.entrySet().stream()
          .map(e -> "SET LOCAL " + e.getKey() + " = '" + e.getValue() + "'")
          .toList();

  private ChangeText() {}

  /**
   * Pins the settings for the rest of the current transaction of {@code connection} (which must be
   * in one): pgoutput prints the decoded rows with the session's settings, and pgjdbc connects with
   * the JVM's time zone.
   */
  public static void pinForTransaction(Connection connection) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(PIN_FOR_TRANSACTION)) {
      int parameter = 1;
      for (Map.Entry<String, String> setting : SETTINGS.entrySet()) {
        statement.setString(parameter++, setting.getKey());
        statement.setString(parameter++, setting.getValue());
      }
      statement.execute();
    }
  }

  private static Map<String, String> settings() {
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("DateStyle", "ISO, YMD");
    settings.put("IntervalStyle", "postgres");
    settings.put("TimeZone", "UTC");
    settings.put("extra_float_digits", "3");
    settings.put("bytea_output", "hex");
    return java.util.Collections.unmodifiableMap(settings);
  }
}
