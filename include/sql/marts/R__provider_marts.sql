-- Analyst-facing views of provider returns. Repeatable: re-applied whenever this file changes.

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

COMMENT ON VIEW mart.kpi_quarterly IS 'One row per service KPI and financial-year quarter: target, actual, actual to date (missing figures carry a reason, never 0) and, for a percentage KPI, the percentage derived from its numerator and denominator.';

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

COMMENT ON VIEW mart.return_files IS 'Every provider return file taken from the shared drive and what became of it (loaded, with warnings, quarantined, unchanged, superseded).';

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

COMMENT ON VIEW mart.return_status IS 'Per service and quarter: is the return in? status is received_valid, received_with_warnings, quarantined, late (arrived after the due date), missing (past due, none received) or not_yet_due; with dates, the latest file and its errors.';
