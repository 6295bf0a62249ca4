package io.pgtrickle.operator.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** A table defined by a SQL query over source tables, kept fresh by the operator. */
@Group(ApiGroup.NAME)
@Version(ApiGroup.VERSION)
@Kind("StreamTable")
@Singular("streamtable")
@Plural("streamtables")
@ShortNames({"st", "sts"})
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
    name = "Reason",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason")
@AdditionalPrinterColumn(name = "Table", jsonPath = ".status.storageTable")
@AdditionalPrinterColumn(name = "Mode", jsonPath = ".spec.refreshMode")
@AdditionalPrinterColumn(name = "Placement", jsonPath = ".status.placement")
@AdditionalPrinterColumn(
    name = "Lag",
    jsonPath = ".status.maxLagBytes",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class StreamTable extends CustomResource<StreamTableSpec, StreamTableStatus>
    implements Namespaced {
  private static final long serialVersionUID = 1L;
}
