package io.pgtrickle.operator.api;

/** The API group and version of this operator's custom resources. */
public final class ApiGroup {
  public static final String NAME = "pgtrickle.io";
  public static final String VERSION = "v1alpha1";
  public static final String API_VERSION = NAME + "/" + VERSION;

  private ApiGroup() {}
}
