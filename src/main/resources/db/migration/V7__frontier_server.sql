-- Frontiers hold MVCC snapshots (xids) and LSNs of one server; on another server (a dump restored,
-- a major upgrade by dump, a new cluster) they mean nothing, and a new server whose xid counter is
-- below a recorded snapshot would take fresh changes for consumed ones. So each frontier records
-- the server it was taken on, as '<system identifier>/<timeline>' (pg_control_system(),
-- pg_control_checkpoint()), and the database records the server its catalog last worked on: when
-- that is not the server connected to, the buffers are emptied and every stream table re-synced in
-- full once (engine.ServerMove).
ALTER TABLE pgtrickle.pgt_stream_tables ADD COLUMN frontier_server TEXT;

CREATE TABLE pgtrickle.pgt_server (
    only_row BOOLEAN     PRIMARY KEY DEFAULT true CHECK (only_row),
    server   TEXT        NOT NULL,
    since    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Frontiers recorded before this version name no server: the catalog may have been restored onto
-- this one since they were taken, so the first connection treats them as another server's and
-- re-syncs every stream table once (a cost paid once, instead of a risk of skipped changes).
