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

/** A PostgreSQL database (with or without Citus) that the operator manages. */
@Group(ApiGroup.NAME)
@Version(ApiGroup.VERSION)
@Kind("CitusCluster")
@Singular("cituscluster")
@Plural("citusclusters")
@ShortNames({"cc"})
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
    name = "Nodes",
    jsonPath = ".status.nodeCount",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "PostgreSQL", jsonPath = ".status.postgresVersion")
@AdditionalPrinterColumn(name = "Citus", jsonPath = ".status.citusVersion")
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class CitusCluster extends CustomResource<CitusClusterSpec, CitusClusterStatus>
    implements Namespaced {
  private static final long serialVersionUID = 1L;
}
