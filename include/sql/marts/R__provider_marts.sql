-- Analyst-facing views of provider returns. Repeatable: re-applied whenever this file changes.
-- Each view's comments follow it here: DuckDB drops a view's comments when CREATE OR REPLACE VIEW
-- replaces it, so they are re-applied with the view (tests/unit/test_warehouse_comments.py checks every
-- view and column has one). A view comment opens with its grain ("One row per ...").

CREATE OR REPLACE VIEW mart.kpi_quarterly AS
WITH by_measure AS (
    SELECT
        service_code,
        kpi_code,
        period_label,
        max(CASE WHEN measure = 'target' THEN value END)                  AS target,
        max(CASE WHEN measure = 'actual' THEN value END)                  AS actual,
        max(CASE WHEN measure = 'actual_to_date' THEN value END)          AS actual_to_date,
        max(CASE WHEN measure = 'target' THEN missing_reason END)         AS target_missing_reason,
        max(CASE WHEN measure = 'actual' THEN missing_reason END)         AS actual_missing_reason,
        max(CASE WHEN measure = 'actual_to_date' THEN missing_reason END) AS actual_to_date_missing_reason,
        max(CASE WHEN measure = 'actual' THEN source_file END)            AS source_file,
        max(batch_id)                                                     AS batch_id
    FROM core.fact_kpi_value
    GROUP BY service_code, kpi_code, period_label
)
SELECT
    v.service_code,
    s.service_name,
    pr.provider_name,
    v.kpi_code,
    k.kpi_name,
    k.section,
    k.unit,
    k.polarity,
    k.target_kind,
    k.is_cumulative,
    k.sort_order,
    v.period_label,
    p.start_date                                     AS period_start,
    p.end_date                                       AS period_end,
    v.target,
    v.actual,
    v.actual_to_date,
    v.target_missing_reason,
    v.actual_missing_reason,
    v.actual_to_date_missing_reason,
    num.actual                                       AS numerator,
    den.actual                                       AS denominator,
    CASE WHEN den.actual > 0 THEN round(CAST(100.0 * num.actual / den.actual AS NUMERIC), 1) END
                                                     AS derived_percentage,
    v.source_file,
    v.batch_id
FROM by_measure v
JOIN core.dim_kpi k ON k.service_code = v.service_code AND k.kpi_code = v.kpi_code
JOIN core.dim_service s ON s.service_code = v.service_code
LEFT JOIN core.dim_provider pr ON pr.provider_code = s.provider_code
LEFT JOIN core.dim_period p ON p.period_label = v.period_label
LEFT JOIN by_measure num ON num.service_code = v.service_code AND num.kpi_code = k.numerator_kpi AND num.period_label = v.period_label
LEFT JOIN by_measure den ON den.service_code = v.service_code AND den.kpi_code = k.denominator_kpi AND den.period_label = v.period_label;

COMMENT ON VIEW mart.kpi_quarterly IS 'One row per service KPI and period: target, actual and actual to date side by side (a missing figure carries its reason, never 0) and, for a percentage KPI, the percentage its numerator and denominator give. The period is a financial-year quarter, or a financial year for year figures from a KPI history import.';
COMMENT ON COLUMN mart.kpi_quarterly.service_code IS 'Service code (core.dim_service), e.g. healthy_together.';
COMMENT ON COLUMN mart.kpi_quarterly.service_name IS 'Service name as the report prints it.';
COMMENT ON COLUMN mart.kpi_quarterly.provider_name IS 'Provider delivering the service; NULL when none is configured.';
COMMENT ON COLUMN mart.kpi_quarterly.kpi_code IS 'KPI code within the service (core.dim_kpi).';
COMMENT ON COLUMN mart.kpi_quarterly.kpi_name IS 'KPI name as the report writes it.';
COMMENT ON COLUMN mart.kpi_quarterly.section IS 'Heading the KPI sits under in the report''s table; NULL when none.';
COMMENT ON COLUMN mart.kpi_quarterly.unit IS 'count, percent (figures 0-100), rate, score, currency (pounds) or days.';
COMMENT ON COLUMN mart.kpi_quarterly.polarity IS 'high_is_good, low_is_good or neither: whether a higher actual is better.';
COMMENT ON COLUMN mart.kpi_quarterly.target_kind IS 'none, per_quarter, cumulative (year-to-date actual against year-to-date target), running (multi-year running total against its target to date), annual or half_yearly.';
COMMENT ON COLUMN mart.kpi_quarterly.is_cumulative IS 'True when target and actual to date accumulate over the financial year.';
COMMENT ON COLUMN mart.kpi_quarterly.sort_order IS 'Position of the KPI in the service''s table, from 0: order by it to list KPIs as the report does.';
COMMENT ON COLUMN mart.kpi_quarterly.period_label IS 'Financial-year quarter (e.g. 2017-18-Q2 = July to September 2017), or financial year (e.g. 2015-16) for year figures.';
COMMENT ON COLUMN mart.kpi_quarterly.period_start IS 'First day of the period; NULL only if the period is missing from core.dim_period.';
COMMENT ON COLUMN mart.kpi_quarterly.period_end IS 'Last day of the period (inclusive); NULL only if the period is missing from core.dim_period.';
COMMENT ON COLUMN mart.kpi_quarterly.target IS 'Target for the period in the KPI''s unit (percentages 0-100); for a cumulative KPI the year-to-date target. NULL when there is none: see target_missing_reason.';
COMMENT ON COLUMN mart.kpi_quarterly.actual IS 'Actual for the period in the KPI''s unit (percentages 0-100). NULL when missing: see actual_missing_reason.';
COMMENT ON COLUMN mart.kpi_quarterly.actual_to_date IS 'Actual for the financial year to date (for a running KPI, the running total since it began). NULL when not given or missing: see actual_to_date_missing_reason.';
COMMENT ON COLUMN mart.kpi_quarterly.target_missing_reason IS 'Why the target is missing: blank, dash, not_applicable, tbc, not_yet_available, redacted, pending or not_recorded; NULL when there is a target or no target figure at all.';
COMMENT ON COLUMN mart.kpi_quarterly.actual_missing_reason IS 'Why the actual is missing (same codes as target_missing_reason); NULL when there is an actual or no actual figure at all.';
COMMENT ON COLUMN mart.kpi_quarterly.actual_to_date_missing_reason IS 'Why the actual to date is missing (same codes); NULL when there is one or no such figure at all.';
COMMENT ON COLUMN mart.kpi_quarterly.numerator IS 'For a percentage KPI: the actual of its numerator KPI (core.dim_kpi.numerator_kpi) for the period; NULL otherwise or when missing.';
COMMENT ON COLUMN mart.kpi_quarterly.denominator IS 'For a percentage KPI: the actual of its denominator KPI (core.dim_kpi.denominator_kpi) for the period; NULL otherwise or when missing.';
COMMENT ON COLUMN mart.kpi_quarterly.derived_percentage IS '100 x numerator / denominator, rounded to 1 decimal place: the percentage the counts give, to set beside a stated actual. NULL unless both are present and the denominator is above 0.';
COMMENT ON COLUMN mart.kpi_quarterly.source_file IS 'File the actual came from (a return''s path on the shared drive, or a history file''s name); NULL when there is no actual figure.';
COMMENT ON COLUMN mart.kpi_quarterly.batch_id IS 'The latest audit.load_batch among the period''s figures of the KPI.';

CREATE OR REPLACE VIEW mart.return_files AS
SELECT
    r.batch_id,
    r.service_code,
    s.service_name,
    r.period_label,
    r.file_path,
    r.file_modified_at,
    r.received_at,
    r.status,
    r.is_resubmission,
    r.error_count,
    r.warning_count,
    r.error_summary,
    r.report_path,
    r.landing_path,
    r.sha256
FROM core.return_received r
LEFT JOIN core.dim_service s ON s.service_code = r.service_code;

COMMENT ON VIEW mart.return_files IS 'One row per provider return file taken from the shared drive: what became of it (loaded, loaded with warnings, quarantined, unchanged, superseded), with the service''s name.';
COMMENT ON COLUMN mart.return_files.batch_id IS 'The audit.load_batch of taking the file; the figures it loaded carry it.';
COMMENT ON COLUMN mart.return_files.service_code IS 'Service the file is for, from its cover sheet (or its name); NULL when it could not be told.';
COMMENT ON COLUMN mart.return_files.service_name IS 'Service name; NULL when the service could not be told or is not configured.';
COMMENT ON COLUMN mart.return_files.period_label IS 'Financial-year quarter the file is for, e.g. 2017-18-Q2; NULL when it could not be told.';
COMMENT ON COLUMN mart.return_files.file_path IS 'Path below the shared drive.';
COMMENT ON COLUMN mart.return_files.file_modified_at IS 'Modification time of the file on the shared drive (UTC): when the provider delivered it.';
COMMENT ON COLUMN mart.return_files.received_at IS 'When the pipeline took the file (UTC).';
COMMENT ON COLUMN mart.return_files.status IS 'loaded, loaded_with_warnings, quarantined (nothing loaded; see report_path), unchanged (same bytes as a return already taken) or superseded (a later resubmission replaced it).';
COMMENT ON COLUMN mart.return_files.is_resubmission IS 'True when it replaced figures an earlier return for the same service and quarter had loaded.';
COMMENT ON COLUMN mart.return_files.error_count IS 'Failed error checks (1 for an unreadable file); more than 0 means quarantined.';
COMMENT ON COLUMN mart.return_files.warning_count IS 'Failed warning checks (the file loaded; warnings are shown beside its figures).';
COMMENT ON COLUMN mart.return_files.error_summary IS 'The errors or warnings in a sentence, naming sheet and cell; NULL for a clean file.';
COMMENT ON COLUMN mart.return_files.report_path IS 'The quarantine report (report.md; report.json beside it); NULL unless quarantined.';
COMMENT ON COLUMN mart.return_files.landing_path IS 'Where the copy taken is kept, as received.';
COMMENT ON COLUMN mart.return_files.sha256 IS 'sha256 of the file''s bytes.';

CREATE OR REPLACE VIEW mart.return_status AS
WITH ranked AS (
    SELECT
        r.*,
        row_number() OVER (
            PARTITION BY r.service_code, r.period_label ORDER BY r.file_modified_at DESC, r.batch_id DESC
        ) AS recency,
        count(*) OVER (PARTITION BY r.service_code, r.period_label) AS files_received
    FROM core.return_received r
    WHERE r.status <> 'unchanged'
)
SELECT
    e.service_code,
    s.service_name,
    pr.provider_name,
    e.period_label,
    e.quarter_end,
    e.due_date,
    l.file_path,
    l.file_modified_at                                   AS received_at,
    coalesce(l.files_received, 0)                        AS files_received,
    l.status                                             AS latest_file_status,
    l.error_count,
    l.warning_count,
    l.error_summary,
    l.report_path,
    CASE
        WHEN l.batch_id IS NULL AND current_date > e.due_date THEN 'missing'
        WHEN l.batch_id IS NULL THEN 'not_yet_due'
        WHEN l.status = 'quarantined' THEN 'quarantined'
        WHEN CAST(l.file_modified_at AS DATE) > e.due_date THEN 'late'
        WHEN l.status = 'loaded_with_warnings' THEN 'received_with_warnings'
        ELSE 'received_valid'
    END                                                  AS status,
    CASE WHEN l.batch_id IS NULL THEN current_date > e.due_date
         ELSE CAST(l.file_modified_at AS DATE) > e.due_date END AS is_late
FROM core.return_expected e
JOIN core.dim_service s ON s.service_code = e.service_code
LEFT JOIN core.dim_provider pr ON pr.provider_code = s.provider_code
LEFT JOIN ranked l ON l.service_code = e.service_code AND l.period_label = e.period_label AND l.recency = 1;

COMMENT ON VIEW mart.return_status IS 'One row per service and financial-year quarter a return is owed for: is it in? status is received_valid, received_with_warnings, quarantined, late (arrived after the due date), missing (past due, none received) or not_yet_due, with the due date and the latest file and its errors. Evaluated when queried: missing and not_yet_due depend on today''s date.';
COMMENT ON COLUMN mart.return_status.service_code IS 'Service that owes the return (core.dim_service).';
COMMENT ON COLUMN mart.return_status.service_name IS 'Service name as the report prints it.';
COMMENT ON COLUMN mart.return_status.provider_name IS 'Provider expected to send it; NULL when none is configured.';
COMMENT ON COLUMN mart.return_status.period_label IS 'Financial-year quarter the return is for, e.g. 2017-18-Q2.';
COMMENT ON COLUMN mart.return_status.quarter_end IS 'Last day of the quarter.';
COMMENT ON COLUMN mart.return_status.due_date IS 'When the return is due: quarter_end plus the service''s return_due_days.';
COMMENT ON COLUMN mart.return_status.file_path IS 'The latest file received for the quarter (by modification time; copies found unchanged are not counted), below the shared drive; NULL when none.';
COMMENT ON COLUMN mart.return_status.received_at IS 'When the provider delivered the latest file: its modification time on the shared drive (UTC); NULL when none.';
COMMENT ON COLUMN mart.return_status.files_received IS 'Files received for the service and quarter, drafts, quarantined files and resubmissions included, unchanged copies not; 0 when none.';
COMMENT ON COLUMN mart.return_status.latest_file_status IS 'What became of the latest file: loaded, loaded_with_warnings, quarantined or superseded; NULL when none.';
COMMENT ON COLUMN mart.return_status.error_count IS 'Failed error checks of the latest file; NULL when none received.';
COMMENT ON COLUMN mart.return_status.warning_count IS 'Failed warning checks of the latest file; NULL when none received.';
COMMENT ON COLUMN mart.return_status.error_summary IS 'The latest file''s errors or warnings in a sentence; NULL when it was clean or none was received.';
COMMENT ON COLUMN mart.return_status.report_path IS 'The latest file''s quarantine report; NULL unless it was quarantined.';
COMMENT ON COLUMN mart.return_status.status IS 'missing (past due_date, nothing received), not_yet_due, quarantined (the latest file failed its checks), late (the latest file arrived after due_date), received_with_warnings or received_valid, decided in that order (a late file with warnings is late).';
COMMENT ON COLUMN mart.return_status.is_late IS 'True when the latest file arrived after due_date, or nothing has arrived and due_date has passed.';
