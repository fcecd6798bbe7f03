-- A record of every report build: what it used and what it wrote.

CREATE SEQUENCE audit.report_build_id_seq;

CREATE TABLE audit.report_build (
    build_id        BIGINT PRIMARY KEY DEFAULT nextval('audit.report_build_id_seq'),
    report          VARCHAR NOT NULL,
    period_label    VARCHAR NOT NULL,
    built_at        TIMESTAMPTZ NOT NULL,
    batch_ids       VARCHAR,
    outputs         VARCHAR NOT NULL,
    content_sha256  VARCHAR,
    dag_id          VARCHAR,
    run_id          VARCHAR,
    task_id         VARCHAR
);
COMMENT ON TABLE audit.report_build IS 'One row per build of a scheduled report: which quarter, when, the load batches its figures came from, and the sha256 of every file it wrote.';
COMMENT ON COLUMN audit.report_build.report IS 'performance_report or bcf_return.';
COMMENT ON COLUMN audit.report_build.batch_ids IS 'Comma-separated audit.load_batch ids of the figures the report used.';
COMMENT ON COLUMN audit.report_build.outputs IS 'JSON: output file path -> sha256.';
COMMENT ON COLUMN audit.report_build.content_sha256 IS 'sha256 of the report''s figures (independent of the build time): equal builds from the same warehouse have equal content hashes.';
