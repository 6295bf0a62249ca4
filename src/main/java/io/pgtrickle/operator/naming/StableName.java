package io.pgtrickle.operator.naming;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * The name every database object for one source table is derived from: lower-hex FNV-1a-64 of the
 * UTF-8 bytes of {@code database/schema.table}. The database is hashed by name, not by OID (the
 * upstream plan's choice), because a database OID differs per node and changes on restore.
 */
public record StableName(String value) {
  private static final Pattern FORM = Pattern.compile("[0-9a-f]{16}");

  @JsonCreator
  public StableName {
    if (value == null || !FORM.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "a stable name is 16 lower-case hex digits, got: " + value);
    }
  }

  public static StableName of(QualifiedTable table) {
    return new StableName(Fnv1a64.hex(table.hashInput().getBytes(StandardCharsets.UTF_8)));
  }

  @JsonValue
  @Override
  public String value() {
    return value;
  }

  @Override
  public String toString() {
    return value;
  }
}
