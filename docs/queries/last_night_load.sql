-- Question: what did last night's Fingertips refresh do, indicator by indicator: loaded (how many rows
--   new, how many revised), unchanged, held or newly quarantined (and why), or failed?
-- Parameters: none to edit. "Last night" is the latest Airflow run of the refresh (the run of the newest
--   fingertips attempt in audit.load_batch). For another run, replace the body of last_run by its run id,
--   e.g. SELECT 'scheduled__2018-05-02T01:00:00+00:00' AS run_id.
-- Returns one row per load attempt of that run, in the order they started: outcome is the attempt's
--   status, or held for an indicator still in quarantine with content unchanged since (not a new
--   problem). A whole batch with no new upload is one unchanged row without an indicator.
--   From audit.load_batch and core.dim_indicator. Runs unchanged on DuckDB and PostgreSQL.
WITH last_run AS (
    SELECT run_id
    FROM audit.load_batch
    WHERE source = 'fingertips' AND run_id IS NOT NULL
    ORDER BY started_at DESC, batch_id DESC
    LIMIT 1
)
SELECT
    b.run_id,
    b.batch_id,
    b.indicator_id,
    i.name AS indicator_name,
    CASE WHEN b.held_since IS NOT NULL THEN 'held' ELSE b.status END AS outcome,
    b.rows_read,
    b.rows_inserted,
    b.rows_updated,
    b.rows_unchanged,
    b.held_since,
    b.error_summary,
    b.report_path,
    b.started_at,
    b.finished_at
FROM audit.load_batch b
JOIN last_run r ON r.run_id = b.run_id
LEFT JOIN core.dim_indicator i ON i.indicator_id = b.indicator_id
WHERE b.source = 'fingertips'
ORDER BY b.batch_id;
