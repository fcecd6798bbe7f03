-- Question: how has each KPI of a service moved quarter by quarter, against its target?
-- Parameters (edit the params line): service_code, the service's code (its config/services file name:
--   healthy_together = Healthy Together, the 0-19 Healthy Child Programme); first_quarter, the earliest
--   financial-year quarter shown (e.g. 2015-16-Q1).
-- Returns one row per KPI and quarter, in the report's KPI order, oldest quarter first, with the
--   previous quarter's actual and the change since. A missing figure is NULL with its reason beside it,
--   never 0. Whole-year figures (period labels like 2015-16) are left out. From mart.kpi_quarterly.
--   Runs unchanged on DuckDB and PostgreSQL.
WITH params AS (
    SELECT 'healthy_together' AS service_code, '2015-16-Q1' AS first_quarter
),
quarters AS (
    SELECT k.*
    FROM mart.kpi_quarterly k
    JOIN params p ON p.service_code = k.service_code
    WHERE k.period_label LIKE '____-__-Q_'
      AND k.period_label >= p.first_quarter
)
SELECT
    q.service_name,
    q.kpi_code,
    q.kpi_name,
    q.unit,
    q.target_kind,
    q.period_label,
    q.target,
    q.actual,
    q.actual_missing_reason,
    q.actual_to_date,
    lag(q.actual) OVER (PARTITION BY q.kpi_code ORDER BY q.period_start) AS previous_actual,
    q.actual - lag(q.actual) OVER (PARTITION BY q.kpi_code ORDER BY q.period_start) AS change_from_previous,
    q.derived_percentage,
    q.source_file
FROM quarters q
ORDER BY q.sort_order, q.period_start;
