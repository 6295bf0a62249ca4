-- Where each WAL-captured source's data lived when it was last checked (its nodes and, for a
-- distributed table, which node holds each shard), and the last change seen: a node that joined
-- or left, or a shard that moved, re-syncs the source's stream tables in full.
ALTER TABLE pgtrickle.pgt_change_tracking
    ADD COLUMN capture_topology    JSONB,
    ADD COLUMN topology_changed_at TIMESTAMPTZ,
    ADD COLUMN topology_change     TEXT;
