-- Audit schema: one row per load attempt and one per data-quality expectation per batch.
-- Written once for PostgreSQL and DuckDB.

CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;

CREATE SEQUENCE audit.load_batch_id_seq;

CREATE TABLE audit.load_batch (
    batch_id        BIGINT PRIMARY KEY DEFAULT nextval('audit.load_batch_id_seq'),
    source          VARCHAR NOT NULL,
    source_ref      VARCHAR NOT NULL,
    sha256          VARCHAR,
    landing_path    VARCHAR,
    rows_read       BIGINT,
    rows_loaded     BIGINT,
    rows_inserted   BIGINT,
    rows_updated    BIGINT,
    rows_unchanged  BIGINT,
    status          VARCHAR NOT NULL
        CHECK (status IN ('running', 'loaded', 'quarantined', 'failed', 'unchanged')),
    error_summary   VARCHAR,
    report_path     VARCHAR,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    download_s      DOUBLE PRECISION,
    parse_s         DOUBLE PRECISION,
    validate_s      DOUBLE PRECISION,
    load_s          DOUBLE PRECISION,
    dag_id          VARCHAR,
    run_id          VARCHAR,
    task_id         VARCHAR,
    details         VARCHAR
);

COMMENT ON TABLE audit.load_batch IS 'One row per load attempt of one batch (a landed file): where it came from, its sha256, row counts, status, error summary, timings and the Airflow dag/run/task that ran it.';
COMMENT ON COLUMN audit.load_batch.source IS 'Pipeline that produced the batch: fingertips or provider_return.';
COMMENT ON COLUMN audit.load_batch.source_ref IS 'URL or file path the raw data came from.';
COMMENT ON COLUMN audit.load_batch.sha256 IS 'sha256 of the raw file as received (content address of the landing copy).';
COMMENT ON COLUMN audit.load_batch.landing_path IS 'Path of the kept raw file in the landing area.';
COMMENT ON COLUMN audit.load_batch.rows_read IS 'Data rows parsed from the raw file.';
COMMENT ON COLUMN audit.load_batch.rows_loaded IS 'Rows that changed core: inserted plus updated.';
COMMENT ON COLUMN audit.load_batch.rows_inserted IS 'Fact rows new to core.';
COMMENT ON COLUMN audit.load_batch.rows_updated IS 'Fact rows whose values changed (previous version copied to history).';
COMMENT ON COLUMN audit.load_batch.rows_unchanged IS 'Rows identical to what core already held.';
COMMENT ON COLUMN audit.load_batch.status IS 'running, loaded, quarantined (failed its checks; nothing loaded), failed (error; nothing loaded) or unchanged (same content as already loaded; nothing rewritten).';
COMMENT ON COLUMN audit.load_batch.error_summary IS 'Why the batch was quarantined or failed, naming file, row, column or URL.';
COMMENT ON COLUMN audit.load_batch.report_path IS 'Error report (Markdown; JSON beside it) for a quarantined batch.';
COMMENT ON COLUMN audit.load_batch.details IS 'JSON with anything else worth keeping (indicator ids, parameters).';

CREATE TABLE audit.dq_result (
    batch_id            BIGINT NOT NULL,
    suite               VARCHAR NOT NULL,
    expectation_index   INTEGER NOT NULL,
    expectation         VARCHAR NOT NULL,
    column_name         VARCHAR,
    severity            VARCHAR NOT NULL CHECK (severity IN ('error', 'warning')),
    success             BOOLEAN NOT NULL,
    element_count       BIGINT,
    unexpected_count    BIGINT,
    observed_value      VARCHAR,
    unexpected_examples VARCHAR,
    description         VARCHAR,
    PRIMARY KEY (batch_id, suite, expectation_index)
);

COMMENT ON TABLE audit.dq_result IS 'One row per Great Expectations expectation evaluated against one batch.';
COMMENT ON COLUMN audit.dq_result.severity IS 'error: a failure quarantines the batch; warning: recorded and shown, the batch still loads.';
COMMENT ON COLUMN audit.dq_result.observed_value IS 'What the check observed (JSON).';
COMMENT ON COLUMN audit.dq_result.unexpected_examples IS 'Up to 20 failing values with their row numbers (JSON).';
