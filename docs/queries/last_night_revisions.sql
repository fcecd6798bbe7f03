-- Question: which published values did last night's Fingertips refresh revise, and from what to what?
-- Parameters: none to edit. "Last night" is the latest Airflow run of the refresh, as in
--   last_night_load.sql (replace the body of last_run by a run id to look at another run).
-- Returns one row per revised value (indicator, area, sex, age, category, period): the version held
--   before (from core.fact_indicator_value_history) beside the value now held (core.fact_indicator_value;
--   if the value has been revised again since, the newest). New rows are not revisions: they are counted
--   in last_night_load.sql. Runs unchanged on DuckDB and PostgreSQL.
WITH last_run AS (
    SELECT run_id
    FROM audit.load_batch
    WHERE source = 'fingertips' AND run_id IS NOT NULL
    ORDER BY started_at DESC, batch_id DESC
    LIMIT 1
),
night AS (
    SELECT b.batch_id
    FROM audit.load_batch b
    JOIN last_run r ON r.run_id = b.run_id
    WHERE b.source = 'fingertips'
)
SELECT
    h.indicator_id,
    i.name AS indicator_name,
    h.area_code,
    a.area_name,
    h.sex,
    h.age,
    h.category_type,
    h.category,
    h.period_label,
    h.value AS old_value,
    f.value AS new_value,
    f.value - h.value AS change,
    h.lower_ci_95 AS old_lower_ci_95,
    h.upper_ci_95 AS old_upper_ci_95,
    f.lower_ci_95 AS new_lower_ci_95,
    f.upper_ci_95 AS new_upper_ci_95,
    h.value_note AS old_value_note,
    f.value_note AS new_value_note,
    h.batch_id AS old_batch_id,
    h.superseded_by_batch_id AS revised_by_batch_id
FROM core.fact_indicator_value_history h
JOIN night n ON n.batch_id = h.superseded_by_batch_id
LEFT JOIN core.fact_indicator_value f
       ON f.indicator_id = h.indicator_id AND f.area_code = h.area_code AND f.sex = h.sex AND f.age = h.age
      AND f.category_type = h.category_type AND f.category = h.category AND f.period_label = h.period_label
LEFT JOIN core.dim_indicator i ON i.indicator_id = h.indicator_id
LEFT JOIN core.dim_area a ON a.area_code = h.area_code
ORDER BY h.indicator_id, h.area_code, h.period_label, h.sex, h.age, h.category_type, h.category;
