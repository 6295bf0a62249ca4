package io.pgtrickle.operator.engine;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * How far one node's changes to one source are applied. For trigger capture the exact bound is
 * {@code snapshot}: a change is applied iff its writing transaction is visible in it (so a
 * transaction that commits late, whatever its LSN, is picked up next time); {@code lsn} is the WAL
 * position at that moment, for reporting lag. For WAL capture {@code lsn} is the exact bound.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NodeMark(String lsn, String snapshot) {}
