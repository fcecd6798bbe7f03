-- Analyst-facing PHOF views. Repeatable: re-applied whenever this file changes.

CREATE OR REPLACE VIEW mart.phof_trend AS
SELECT
    f.indicator_id,
    i.phof_code,
    i.name                      AS indicator_name,
    i.unit,
    i.polarity_code,
    f.area_code,
    a.area_name,
    a.area_type,
    f.sex,
    f.age,
    f.category_type,
    f.category,
    f.period_label,
    p.start_date                AS period_start,
    p.end_date                  AS period_end,
    p.granularity,
    p.sort_key                  AS period_sort_key,
    f.value,
    f.lower_ci_95,
    f.upper_ci_95,
    f.lower_ci_99_8,
    f.upper_ci_99_8,
    f.count,
    f.denominator,
    f.value_note,
    f.compared_to_england,
    f.compared_to_parent,
    e.value                     AS england_value,
    f.batch_id
FROM core.fact_indicator_value f
JOIN core.dim_period p ON p.period_label = f.period_label
LEFT JOIN core.dim_indicator i ON i.indicator_id = f.indicator_id
LEFT JOIN core.dim_area a ON a.area_code = f.area_code
LEFT JOIN core.area_comparator ec ON ec.area_code = f.area_code AND ec.kind = 'england'
LEFT JOIN core.fact_indicator_value e
       ON e.area_code = ec.comparator_code
      AND e.indicator_id = f.indicator_id AND e.sex = f.sex AND e.age = f.age
      AND e.category_type = f.category_type AND e.category = f.category
      AND e.period_label = f.period_label;

COMMENT ON VIEW mart.phof_trend IS 'Time series of every PHOF indicator value per area, sex, age and category, with period start and end dates and the England value for the same period. Order by period_sort_key.';

CREATE OR REPLACE VIEW mart.phof_latest AS
WITH ranked AS (
    SELECT
        f.*,
        p.start_date,
        p.end_date,
        p.granularity,
        row_number() OVER (
            PARTITION BY f.indicator_id, f.area_code, f.sex, f.age, f.category_type, f.category
            ORDER BY p.sort_key DESC
        ) AS recency
    FROM core.fact_indicator_value f
    JOIN core.dim_period p ON p.period_label = f.period_label
),
latest AS (
    SELECT * FROM ranked WHERE recency = 1
),
neighbours AS (
    SELECT
        c.area_code,
        n.indicator_id, n.sex, n.age, n.category_type, n.category, n.period_label,
        avg(n.value)   AS nn_average,
        count(n.value) AS nn_count
    FROM core.area_comparator c
    JOIN core.fact_indicator_value n ON n.area_code = c.comparator_code
    WHERE c.kind = 'nearest_neighbour'
    GROUP BY c.area_code, n.indicator_id, n.sex, n.age, n.category_type, n.category, n.period_label
)
SELECT
    l.indicator_id,
    i.phof_code,
    i.name                      AS indicator_name,
    i.unit,
    i.value_type,
    i.polarity_code,
    l.area_code,
    a.area_name,
    a.area_type,
    l.sex,
    l.age,
    l.category_type,
    l.category,
    l.period_label,
    l.start_date                AS period_start,
    l.end_date                  AS period_end,
    l.granularity,
    l.value,
    l.lower_ci_95,
    l.upper_ci_95,
    l.lower_ci_99_8,
    l.upper_ci_99_8,
    l.count,
    l.denominator,
    l.value_note,
    l.recent_trend,
    l.compared_to_england,
    l.compared_to_parent,
    l.compared_to_parent_label,
    e.value                     AS england_value,
    e.lower_ci_95               AS england_lower_ci_95,
    e.upper_ci_95               AS england_upper_ci_95,
    rc.comparator_code          AS region_code,
    r.value                     AS region_value,
    nb.nn_average               AS nearest_neighbour_average,
    nb.nn_count                 AS nearest_neighbour_count,
    l.batch_id
FROM latest l
LEFT JOIN core.dim_indicator i ON i.indicator_id = l.indicator_id
LEFT JOIN core.dim_area a ON a.area_code = l.area_code
LEFT JOIN core.area_comparator ec ON ec.area_code = l.area_code AND ec.kind = 'england'
LEFT JOIN core.fact_indicator_value e
       ON e.area_code = ec.comparator_code
      AND e.indicator_id = l.indicator_id AND e.sex = l.sex AND e.age = l.age
      AND e.category_type = l.category_type AND e.category = l.category
      AND e.period_label = l.period_label
LEFT JOIN core.area_comparator rc ON rc.area_code = l.area_code AND rc.kind = 'region'
LEFT JOIN core.fact_indicator_value r
       ON r.area_code = rc.comparator_code
      AND r.indicator_id = l.indicator_id AND r.sex = l.sex AND r.age = l.age
      AND r.category_type = l.category_type AND r.category = l.category
      AND r.period_label = l.period_label
LEFT JOIN neighbours nb
       ON nb.area_code = l.area_code
      AND nb.indicator_id = l.indicator_id AND nb.sex = l.sex AND nb.age = l.age
      AND nb.category_type = l.category_type AND nb.category = l.category
      AND nb.period_label = l.period_label;

COMMENT ON VIEW mart.phof_latest IS 'Latest period of every PHOF indicator per area, sex, age and category, with the England value, the region value and the CIPFA nearest-neighbour average for the same period beside it, and Fingertips'' own comparison labels.';
