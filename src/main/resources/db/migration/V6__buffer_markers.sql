-- A partial index of the TRUNCATE and re-sync markers on every change buffer (new buffers get it
-- when created): a refresh asks whether its window holds a marker without reading the window.
-- Markers are rare, so the index stays nearly empty and costs writers next to nothing.
DO $$
DECLARE
    buffer record;
BEGIN
    FOR buffer IN
        SELECT c.relname FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'pgtrickle_changes' AND c.relkind = 'r' AND c.relname LIKE 'changes\_%'
    LOOP
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgtrickle_changes.%I (xid)'
                       ' WHERE op IN (''T'', ''R'')',
                       'idx_' || buffer.relname || '_markers', buffer.relname);
    END LOOP;
END
$$;
