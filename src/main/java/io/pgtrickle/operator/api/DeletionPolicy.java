package io.pgtrickle.operator.api;

/** What happens to the storage table when the stream table is deleted. */
public enum DeletionPolicy {
  Delete,
  Retain
}
