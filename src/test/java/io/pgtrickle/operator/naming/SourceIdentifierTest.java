package io.pgtrickle.operator.naming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import org.junit.jupiter.api.Test;

class SourceIdentifierTest {
  private final ObjectMapper mapper = new ObjectMapper();

  @Test
  void roundTripsThroughJson() throws Exception {
    SourceIdentifier original =
        new SourceIdentifier(4_294_967_295L, StableName.of(new QualifiedTable("d", "s", "t")));

    String json = mapper.writeValueAsString(original);
    SourceIdentifier back = mapper.readValue(json, SourceIdentifier.class);

    assertThat(back).isEqualTo(original);
    JsonNode tree = mapper.readTree(json);
    assertThat(tree.get("oid").asLong()).isEqualTo(4_294_967_295L);
    assertThat(tree.get("stableName").asText()).isEqualTo(original.stableName().value());
  }

  @Test
  void rejectsMalformedJson() {
    assertThatThrownBy(
            () ->
                mapper.readValue(
                    "{\"oid\": 16384, \"stableName\": \"not-a-name\"}", SourceIdentifier.class))
        .hasRootCauseInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("16 lower-case hex digits");
    assertThatThrownBy(
            () ->
                mapper.readValue(
                    "{\"oid\": 0, \"stableName\": \"2def2740256dfb26\"}", SourceIdentifier.class))
        .isInstanceOf(ValueInstantiationException.class)
        .hasMessageContaining("unsigned 32-bit");
  }
}
