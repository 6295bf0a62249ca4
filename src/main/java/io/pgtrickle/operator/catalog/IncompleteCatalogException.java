package io.pgtrickle.operator.catalog;

import java.util.List;

/**
 * The catalog's tables are there but parts of them are not: a restore that left out the post-data
 * section (constraints, indexes, triggers). Nothing was changed; restoring it in full fixes it.
 */
public final class IncompleteCatalogException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public IncompleteCatalogException(List<String> missing) {
    super(
        "the pgtrickle catalog is incomplete: "
            + String.join(", ", missing)
            + " missing, as after a pg_restore without its post-data section (--section=pre-data"
            + " --section=data). Nothing was changed; restore"
            + " the post-data section too (pg_restore --section=post-data), then reconnect");
  }
}
