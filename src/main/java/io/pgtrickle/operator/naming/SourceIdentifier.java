package io.pgtrickle.operator.naming;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;

/**
 * A source table as one node sees it: its OID on that node (valid only there and only until the
 * next dump/restore) and its stable name (valid everywhere, always). Objects are named from the
 * stable name; the OID is only a fast local handle.
 */
public record SourceIdentifier(
    @JsonProperty("oid") long oid, @JsonProperty("stableName") StableName stableName) {
  @JsonCreator
  public SourceIdentifier {
    if (oid <= 0 || oid > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("an OID is an unsigned 32-bit number above 0, got " + oid);
    }
    Objects.requireNonNull(stableName, "stableName");
  }
}
