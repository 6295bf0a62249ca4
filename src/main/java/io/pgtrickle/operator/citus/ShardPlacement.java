package io.pgtrickle.operator.citus;

import java.util.List;

/** A node that holds shards of a table, and which (pg_dist_shard.shardid, ascending). */
public record ShardPlacement(CitusNode node, List<Long> shardIds) {
  public ShardPlacement {
    shardIds = List.copyOf(shardIds);
  }

  public int shardCount() {
    return shardIds.size();
  }
}
