package io.pgtrickle.operator.catalog;

import java.util.Locale;

/** Where a table's rows live, as stored in the catalog's placement columns. */
public enum Placement {
  LOCAL,
  REFERENCE,
  DISTRIBUTED;

  public String catalogValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Placement fromCatalog(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
