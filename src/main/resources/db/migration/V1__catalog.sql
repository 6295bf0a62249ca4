-- Catalog of the pg-trickle operator. Every object for a source table is keyed by its stable name
-- (FNV-1a-64 of database/schema.table), never by an OID: OIDs differ on every Citus node and change
-- on dump/restore. OIDs are kept only as a local, refreshable handle.

CREATE SCHEMA IF NOT EXISTS pgtrickle_changes;

CREATE TABLE pgtrickle.pgt_stream_tables (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    st_schema       TEXT        NOT NULL,
    st_name         TEXT        NOT NULL,
    defining_query  TEXT        NOT NULL,
    schedule        TEXT        NOT NULL,
    refresh_mode    TEXT        NOT NULL DEFAULT 'AUTO'
                    CHECK (refresh_mode IN ('AUTO', 'FULL', 'DIFFERENTIAL')),
    st_placement    TEXT        NOT NULL DEFAULT 'local'
                    CHECK (st_placement IN ('local', 'reference', 'distributed')),
    cdc_mode        TEXT        NOT NULL DEFAULT 'auto' CHECK (cdc_mode IN ('auto', 'trigger', 'wal')),
    immutable_pk    BOOLEAN     NOT NULL DEFAULT false,
    deletion_policy TEXT        NOT NULL DEFAULT 'Delete' CHECK (deletion_policy IN ('Delete', 'Retain')),
    status          TEXT        NOT NULL DEFAULT 'INITIALIZING',
    -- {stable_name: {node_id: {lsn, snapshot}}}: one frontier per source and node, never one LSN
    -- compared across sources. For trigger capture the exact bound is the MVCC snapshot of the
    -- refresh that consumed the changes; the LSN is reported for lag.
    frontier        JSONB       NOT NULL DEFAULT '{}'::jsonb,
    -- Who declared it (e.g. "namespace/name" of a StreamTable resource); a second claimant fails.
    owner           TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_refresh_at TIMESTAMPTZ,
    last_refresh_mode TEXT,
    last_refresh_ms BIGINT,
    last_refresh_rows BIGINT,
    last_error      TEXT,
    UNIQUE (st_schema, st_name)
);

CREATE TABLE pgtrickle.pgt_change_tracking (
    source_stable_name TEXT        PRIMARY KEY CHECK (source_stable_name ~ '^[0-9a-f]{16}$'),
    source_relid       OID         NOT NULL,
    source_database    TEXT        NOT NULL,
    source_schema      TEXT        NOT NULL,
    source_table       TEXT        NOT NULL,
    source_placement   TEXT        NOT NULL DEFAULT 'local'
                       CHECK (source_placement IN ('local', 'reference', 'distributed')),
    cdc_mode           TEXT        NOT NULL DEFAULT 'trigger' CHECK (cdc_mode IN ('trigger', 'wal')),
    -- ids of the stream tables reading this source; its capture objects go when this is empty.
    consumers          BIGINT[]    NOT NULL DEFAULT '{}',
    -- NULL for trigger capture; {node_id: lsn} for WAL capture (node 0: the server we connect to).
    frontier_per_node  JSONB,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source_database, source_schema, source_table)
);

CREATE TABLE pgtrickle.pgt_dependencies (
    stream_table_id    BIGINT NOT NULL REFERENCES pgtrickle.pgt_stream_tables (id) ON DELETE CASCADE,
    source_relid       OID    NOT NULL,
    source_stable_name TEXT   NOT NULL
                       REFERENCES pgtrickle.pgt_change_tracking (source_stable_name),
    source_placement   TEXT   NOT NULL DEFAULT 'local'
                       CHECK (source_placement IN ('local', 'reference', 'distributed')),
    PRIMARY KEY (stream_table_id, source_stable_name)
);

CREATE INDEX pgt_dependencies_source_idx ON pgtrickle.pgt_dependencies (source_stable_name);
