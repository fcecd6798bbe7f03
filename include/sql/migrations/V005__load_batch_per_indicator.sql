-- Fingertips is loaded, quarantined and held per indicator (one indicator x area type x parent batch),
-- not per download: each load attempt row can name its indicator and the sha256 of that indicator's
-- rows, and a night that finds a quarantined indicator's content unchanged records it as held since
-- the first quarantine (so the run does not fail again for what it already reported).
-- Written once for PostgreSQL and DuckDB (plain ADD COLUMN; no constraint changes).

ALTER TABLE audit.load_batch ADD COLUMN indicator_id INTEGER;
ALTER TABLE audit.load_batch ADD COLUMN content_sha256 VARCHAR;
ALTER TABLE audit.load_batch ADD COLUMN held_since TIMESTAMPTZ;

COMMENT ON COLUMN audit.load_batch.indicator_id IS 'Fingertips indicator id of a per-indicator load attempt (NULL for rows about a whole download or a provider return).';
COMMENT ON COLUMN audit.load_batch.content_sha256 IS 'sha256 of this indicator''s rows in the raw file (the raw file''s own sha256 is in sha256): equal hashes mean the indicator''s content did not change.';
COMMENT ON COLUMN audit.load_batch.held_since IS 'Set on a quarantined row whose content is the same as an earlier quarantine: the indicator is still held since this time, and the run does not count it as a new problem.';
