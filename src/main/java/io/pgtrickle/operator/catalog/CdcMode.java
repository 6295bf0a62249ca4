package io.pgtrickle.operator.catalog;

import java.util.Locale;

/** How a source's changes are captured: row triggers into a buffer, or logical decoding. */
public enum CdcMode {
  TRIGGER,
  WAL;

  public String catalogValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static CdcMode fromCatalog(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
