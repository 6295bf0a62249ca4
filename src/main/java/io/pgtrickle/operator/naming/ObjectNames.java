package io.pgtrickle.operator.naming;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place that derives database object names from a source's stable name. No name here
 * contains an OID, and each fits PostgreSQL's 63-byte identifier limit (checked on construction).
 */
public final class ObjectNames {
  /** Schema of the operator's catalog tables. */
  public static final String CATALOG_SCHEMA = "pgtrickle";

  /** Schema of the per-source change buffers. */
  public static final String CHANGES_SCHEMA = "pgtrickle_changes";

  private final StableName stableName;

  public ObjectNames(StableName stableName) {
    this.stableName = stableName;
    all().values().forEach(ObjectNames::requireFits);
  }

  public static ObjectNames of(QualifiedTable table) {
    return new ObjectNames(StableName.of(table));
  }

  public StableName stableName() {
    return stableName;
  }

  /** Change buffer table, in {@link #CHANGES_SCHEMA}. */
  public String changeBuffer() {
    return "changes_" + stableName;
  }

  /** {@code "pgtrickle_changes"."changes_<s>"}. */
  public String changeBufferQualified() {
    return SqlIdentifiers.qualified(CHANGES_SCHEMA, changeBuffer());
  }

  /** The capture trigger function; it branches on TG_OP, so one serves every event. */
  public String triggerFunction() {
    return "pg_trickle_cdc_fn_" + stableName;
  }

  public String trigger(CaptureEvent event) {
    return "pg_trickle_cdc_" + event.token() + "_" + stableName;
  }

  /** Index on the change buffer, {@code idx_changes_<s>_<suffix>}. */
  public String changeBufferIndex(String suffix) {
    String name = "idx_changes_" + stableName + "_" + suffix;
    requireFits(name);
    return name;
  }

  /** Logical replication slot, one per node that holds the source's data. */
  public String replicationSlot() {
    return "pgtrickle_" + stableName;
  }

  public String publication() {
    return "pgtrickle_pub_" + stableName;
  }

  /** Every derived name, keyed as the {@code names} command prints them, in a stable order. */
  public Map<String, String> all() {
    Map<String, String> names = new LinkedHashMap<>();
    names.put("change_buffer", CHANGES_SCHEMA + "." + changeBuffer());
    names.put("trigger_function", triggerFunction());
    for (CaptureEvent event : CaptureEvent.values()) {
      names.put("trigger_" + event.token(), trigger(event));
    }
    names.put("index_xid", changeBufferIndex("xid"));
    names.put("index_markers", changeBufferIndex("markers"));
    names.put("slot", replicationSlot());
    names.put("publication", publication());
    return names;
  }

  private static void requireFits(String qualifiedOrPlain) {
    for (String part : qualifiedOrPlain.split("\\.", -1)) {
      if (part.getBytes(StandardCharsets.UTF_8).length > SqlIdentifiers.MAX_IDENTIFIER_BYTES) {
        throw new IllegalStateException("object name longer than 63 bytes: " + part);
      }
    }
  }

  /** The DML events a capture trigger fires on. */
  public enum CaptureEvent {
    INSERT("ins"),
    UPDATE("upd"),
    DELETE("del"),
    TRUNCATE("trunc");

    private final String token;

    CaptureEvent(String token) {
      this.token = token;
    }

    public String token() {
      return token;
    }
  }
}
