-- Question: which provider returns are late, missing, or quarantined with nothing good after them?
-- Parameters (edit the params line): first_quarter and last_quarter, the financial-year quarters to look
--   at (e.g. 2017-18-Q1 to 2017-18-Q4).
-- Returns one row per service and quarter whose return is missing (past its due date, nothing received),
--   late (the latest file arrived after the due date) or quarantined (the latest file failed its checks),
--   with the days past the due date (up to today when nothing came) and the latest file's errors. The
--   status is evaluated today, from mart.return_status. Runs unchanged on DuckDB and PostgreSQL.
WITH params AS (
    SELECT '2017-18-Q1' AS first_quarter, '2017-18-Q4' AS last_quarter
)
SELECT
    s.period_label,
    s.service_name,
    s.provider_name,
    s.status,
    s.due_date,
    s.received_at,
    CASE
        WHEN s.received_at IS NULL THEN current_date - s.due_date
        ELSE CAST(s.received_at AS DATE) - s.due_date
    END AS days_after_due,
    s.files_received,
    s.latest_file_status,
    s.error_summary,
    s.report_path
FROM mart.return_status s
CROSS JOIN params p
WHERE s.status IN ('missing', 'late', 'quarantined')
  AND s.period_label BETWEEN p.first_quarter AND p.last_quarter
ORDER BY s.period_label, s.status, s.service_name;
