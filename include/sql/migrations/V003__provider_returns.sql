-- Commissioned services, their KPIs and the quarterly provider returns, with revision history.

CREATE TABLE core.dim_provider (
    provider_code   VARCHAR PRIMARY KEY,
    provider_name   VARCHAR NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE core.dim_provider IS 'Organisations commissioned to deliver services (NHS trusts, charities, GP practices, pharmacies).';
COMMENT ON COLUMN core.dim_provider.provider_code IS 'Short code derived from the provider name in config/services.';

CREATE TABLE core.dim_service (
    service_code        VARCHAR PRIMARY KEY,
    service_name        VARCHAR NOT NULL,
    provider_code       VARCHAR,
    purpose             VARCHAR,
    redacted            BOOLEAN NOT NULL,
    return_due_days     INTEGER NOT NULL,
    phof_indicator_ids  VARCHAR,
    updated_at          TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE core.dim_service IS 'Commissioned public health services as configured in config/services (one per performance report page).';
COMMENT ON COLUMN core.dim_service.redacted IS 'True for a service the published report redacts: it is listed, never reported on.';
COMMENT ON COLUMN core.dim_service.return_due_days IS 'Days after quarter end the provider return is due.';
COMMENT ON COLUMN core.dim_service.phof_indicator_ids IS 'Comma-separated Fingertips ids of the PHOF indicators relevant to the service.';

CREATE TABLE core.dim_kpi (
    service_code        VARCHAR NOT NULL,
    kpi_code            VARCHAR NOT NULL,
    kpi_name            VARCHAR NOT NULL,
    section             VARCHAR,
    unit                VARCHAR NOT NULL,
    polarity            VARCHAR NOT NULL,
    target_kind         VARCHAR NOT NULL,
    frequency           VARCHAR NOT NULL,
    is_cumulative       BOOLEAN NOT NULL,
    numerator_kpi       VARCHAR,
    denominator_kpi     VARCHAR,
    decimals            INTEGER,
    information_only    BOOLEAN NOT NULL,
    sort_order          INTEGER NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (service_code, kpi_code)
);
COMMENT ON TABLE core.dim_kpi IS 'Key performance indicators each service reports on, as configured.';
COMMENT ON COLUMN core.dim_kpi.unit IS 'count, percent, rate, score, currency or days.';
COMMENT ON COLUMN core.dim_kpi.target_kind IS 'none, per_quarter, cumulative (over the financial year), annual or half_yearly.';
COMMENT ON COLUMN core.dim_kpi.is_cumulative IS 'True when the target and actual to date accumulate over the financial year.';
COMMENT ON COLUMN core.dim_kpi.numerator_kpi IS 'For a percentage: the KPI holding its numerator count.';
COMMENT ON COLUMN core.dim_kpi.denominator_kpi IS 'For a percentage: the KPI holding its denominator count.';

CREATE TABLE core.fact_kpi_value (
    service_code    VARCHAR NOT NULL,
    kpi_code        VARCHAR NOT NULL,
    period_label    VARCHAR NOT NULL,
    measure         VARCHAR NOT NULL CHECK (measure IN ('target', 'actual', 'actual_to_date', 'numerator', 'denominator')),
    value           DOUBLE PRECISION,
    missing_reason  VARCHAR,
    source_file     VARCHAR,
    source_cell     VARCHAR,
    raw_value       VARCHAR,
    batch_id        BIGINT NOT NULL,
    PRIMARY KEY (service_code, kpi_code, period_label, measure)
);
COMMENT ON TABLE core.fact_kpi_value IS 'KPI figures from provider returns: one row per KPI x financial-year quarter x measure. Superseded figures are in core.fact_kpi_value_history.';
COMMENT ON COLUMN core.fact_kpi_value.period_label IS 'Financial-year quarter, e.g. 2017-18-Q2 (July to September 2017).';
COMMENT ON COLUMN core.fact_kpi_value.value IS 'The figure (percentages as 0-100); NULL when missing, with missing_reason.';
COMMENT ON COLUMN core.fact_kpi_value.missing_reason IS 'Why there is no figure: blank, dash, not_applicable, tbc, not_yet_available, redacted, pending, not_recorded. Never stored as 0.';
COMMENT ON COLUMN core.fact_kpi_value.source_file IS 'The shared-drive file the figure came from.';
COMMENT ON COLUMN core.fact_kpi_value.source_cell IS 'Sheet and cell (or CSV line) the figure was read from.';
COMMENT ON COLUMN core.fact_kpi_value.raw_value IS 'The cell as the provider typed it.';

CREATE SEQUENCE core.fact_kpi_value_history_id_seq;
CREATE TABLE core.fact_kpi_value_history (
    history_id              BIGINT PRIMARY KEY DEFAULT nextval('core.fact_kpi_value_history_id_seq'),
    service_code            VARCHAR NOT NULL,
    kpi_code                VARCHAR NOT NULL,
    period_label            VARCHAR NOT NULL,
    measure                 VARCHAR NOT NULL,
    value                   DOUBLE PRECISION,
    missing_reason          VARCHAR,
    source_file             VARCHAR,
    source_cell             VARCHAR,
    raw_value               VARCHAR,
    batch_id                BIGINT NOT NULL,
    superseded_by_batch_id  BIGINT NOT NULL
);
COMMENT ON TABLE core.fact_kpi_value_history IS 'Every superseded KPI figure (resubmissions replace earlier figures; nothing is lost).';
COMMENT ON COLUMN core.fact_kpi_value_history.superseded_by_batch_id IS 'Load batch of the return that replaced this figure.';

CREATE TABLE core.fact_service_comment (
    service_code    VARCHAR NOT NULL,
    period_label    VARCHAR NOT NULL,
    seq             INTEGER NOT NULL,
    comment         VARCHAR NOT NULL,
    lead            VARCHAR,
    comment_date    DATE,
    batch_id        BIGINT NOT NULL,
    PRIMARY KEY (service_code, period_label, seq)
);
COMMENT ON TABLE core.fact_service_comment IS 'Comments on performance from the latest valid return for a service and quarter (comment, lead, date).';

CREATE TABLE core.fact_service_action (
    service_code    VARCHAR NOT NULL,
    period_label    VARCHAR NOT NULL,
    seq             INTEGER NOT NULL,
    action          VARCHAR NOT NULL,
    action_by       DATE,
    batch_id        BIGINT NOT NULL,
    PRIMARY KEY (service_code, period_label, seq)
);
COMMENT ON TABLE core.fact_service_action IS 'Key actions from the latest valid return for a service and quarter, with their action-by dates.';

CREATE TABLE core.return_expected (
    service_code    VARCHAR NOT NULL,
    period_label    VARCHAR NOT NULL,
    quarter_end     DATE NOT NULL,
    due_date        DATE NOT NULL,
    PRIMARY KEY (service_code, period_label)
);
COMMENT ON TABLE core.return_expected IS 'The returns each service owes: one per service and financial-year quarter, with its due date.';

CREATE TABLE core.return_received (
    batch_id            BIGINT PRIMARY KEY,
    service_code        VARCHAR,
    period_label        VARCHAR,
    file_path           VARCHAR NOT NULL,
    file_modified_at    TIMESTAMPTZ NOT NULL,
    sha256              VARCHAR NOT NULL,
    landing_path        VARCHAR NOT NULL,
    received_at         TIMESTAMPTZ NOT NULL,
    status              VARCHAR NOT NULL
        CHECK (status IN ('loaded', 'loaded_with_warnings', 'quarantined', 'unchanged', 'superseded')),
    is_resubmission     BOOLEAN NOT NULL,
    error_count         INTEGER NOT NULL,
    warning_count       INTEGER NOT NULL,
    error_summary       VARCHAR,
    report_path         VARCHAR
);
COMMENT ON TABLE core.return_received IS 'Every provider return file taken from the shared drive, with what became of it.';
COMMENT ON COLUMN core.return_received.file_path IS 'Path on the shared drive (never modified; a copy is in landing_path).';
COMMENT ON COLUMN core.return_received.file_modified_at IS 'Modification time of the file on the shared drive: when the provider delivered it.';
COMMENT ON COLUMN core.return_received.status IS 'loaded, loaded_with_warnings, quarantined (failed its checks; nothing loaded), unchanged (same content as before), superseded (a later resubmission replaced it).';
COMMENT ON COLUMN core.return_received.is_resubmission IS 'True when it replaced figures an earlier return for the same service and quarter had loaded.';
CREATE INDEX ix_return_received_file ON core.return_received (file_path, sha256);
