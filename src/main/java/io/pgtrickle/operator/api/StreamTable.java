package io.pgtrickle.operator.api;

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
public class StreamTable extends CustomResource<StreamTableSpec, StreamTableStatus>
    implements Namespaced {
  private static final long serialVersionUID = 1L;
}
