-- Question: what is an indicator's latest value for an area, beside England, the region and the area's
--   comparator group (its CIPFA nearest neighbours), and how does Fingertips compare it with England?
-- Parameters (edit the params line): indicator_id, the Fingertips id (20401 = PHOF 2.04, under 18s
--   conception rate per 1,000); area_code, the ONS code (E10000018 = Leicestershire; E06000016 Leicester,
--   E06000017 Rutland). Only the focus areas (settings areas.focus) have nearest neighbours.
-- Returns one row per sex, age and category the indicator is published for (category_type '' is the
--   whole population), from mart.phof_latest. Runs unchanged on DuckDB and PostgreSQL.
WITH params AS (
    SELECT 20401 AS indicator_id, 'E10000018' AS area_code
)
SELECT
    l.phof_code,
    l.indicator_name,
    l.area_name,
    l.sex,
    l.age,
    l.category_type,
    l.category,
    l.period_label,
    l.unit,
    l.value,
    l.lower_ci_95,
    l.upper_ci_95,
    l.england_value,
    l.value - l.england_value AS difference_from_england,
    l.compared_to_england,
    l.region_value,
    l.compared_to_parent,
    l.nearest_neighbour_average,
    l.nearest_neighbour_count,
    l.recent_trend,
    l.value_note
FROM mart.phof_latest l
JOIN params p ON p.indicator_id = l.indicator_id AND p.area_code = l.area_code
ORDER BY l.category_type, l.category, l.sex, l.age;
