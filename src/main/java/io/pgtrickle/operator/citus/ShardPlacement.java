package io.pgtrickle.operator.citus;

/** A node that holds shards of a table, and how many. */
public record ShardPlacement(CitusNode node, int shardCount) {}
