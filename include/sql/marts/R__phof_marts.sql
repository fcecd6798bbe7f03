-- Analyst-facing PHOF views. Repeatable: re-applied whenever this file changes.
-- Each view's comments follow it here: DuckDB drops a view's comments when CREATE OR REPLACE VIEW
-- replaces it, so they are re-applied with the view (tests/unit/test_warehouse_comments.py checks every
-- view and column has one). A view comment opens with its grain ("One row per ...").

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

COMMENT ON VIEW mart.phof_trend IS 'One row per indicator x area x sex x age x category x period: the time series of every indicator value loaded from Fingertips (current published values), with the indicator''s name and unit, the area''s name and type, the period''s dates and England''s value for the same breakdown and period. Order by period_sort_key. Superseded values are in core.fact_indicator_value_history.';
COMMENT ON COLUMN mart.phof_trend.indicator_id IS 'Fingertips indicator id (core.dim_indicator).';
COMMENT ON COLUMN mart.phof_trend.phof_code IS 'Public Health Outcomes Framework numbering (e.g. 2.04) where the indicator is in PHOF; NULL otherwise.';
COMMENT ON COLUMN mart.phof_trend.indicator_name IS 'Indicator name as Fingertips publishes it.';
COMMENT ON COLUMN mart.phof_trend.unit IS 'Unit of value and its limits: %, per 1,000, per 100,000, Years, ...';
COMMENT ON COLUMN mart.phof_trend.polarity_code IS 'high_is_good, low_is_good or neither: whether a higher value is better. NULL when Fingertips gives no polarity.';
COMMENT ON COLUMN mart.phof_trend.area_code IS 'ONS code of the area: E92000001 England, E12... regions, E06/E08/E09/E10... authorities (e.g. E10000018 Leicestershire).';
COMMENT ON COLUMN mart.phof_trend.area_name IS 'Area name as Fingertips publishes it.';
COMMENT ON COLUMN mart.phof_trend.area_type IS 'Fingertips area type: England, Regions (statistical), Upper tier local authorities (4/23).';
COMMENT ON COLUMN mart.phof_trend.sex IS 'Persons, Male or Female.';
COMMENT ON COLUMN mart.phof_trend.age IS 'Age band as published, e.g. All ages, <18 yrs.';
COMMENT ON COLUMN mart.phof_trend.category_type IS 'Inequality breakdown type (e.g. deprivation deciles); empty string for the whole population: filter category_type = '''' for headline figures.';
COMMENT ON COLUMN mart.phof_trend.category IS 'Category within category_type (e.g. Most deprived decile (IMD2019)); empty string for the whole population.';
COMMENT ON COLUMN mart.phof_trend.period_label IS 'Time period as published, e.g. 2017, 2017/18, 2015 - 17.';
COMMENT ON COLUMN mart.phof_trend.period_start IS 'First day the period covers.';
COMMENT ON COLUMN mart.phof_trend.period_end IS 'Last day the period covers (inclusive).';
COMMENT ON COLUMN mart.phof_trend.granularity IS 'calendar_year, financial_year, academic_year, rolling_years, rolling_financial_years, quarter, month or other.';
COMMENT ON COLUMN mart.phof_trend.period_sort_key IS 'Chronological order of periods: the end date as yyyymmdd.';
COMMENT ON COLUMN mart.phof_trend.value IS 'The value in the indicator''s unit (a percentage as 0-100, a rate per 1,000 or per 100,000, ...); NULL when not published (usually suppressed: see value_note).';
COMMENT ON COLUMN mart.phof_trend.lower_ci_95 IS 'Lower 95% confidence limit, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN mart.phof_trend.upper_ci_95 IS 'Upper 95% confidence limit, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN mart.phof_trend.lower_ci_99_8 IS 'Lower 99.8% confidence limit, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN mart.phof_trend.upper_ci_99_8 IS 'Upper 99.8% confidence limit, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN mart.phof_trend.count IS 'Numerator: the events or people counted; NULL when not published or suppressed.';
COMMENT ON COLUMN mart.phof_trend.denominator IS 'Denominator: the population or total the value is calculated over; NULL when not published.';
COMMENT ON COLUMN mart.phof_trend.value_note IS 'Fingertips value note (e.g. Value suppressed for disclosure control due to small count); NULL when none.';
COMMENT ON COLUMN mart.phof_trend.compared_to_england IS 'Fingertips comparison with England for the period: Better, Similar, Worse (with a polarity), Higher, Similar, Lower (without), Not compared (England''s own rows, or no interval to compare); NULL when not published.';
COMMENT ON COLUMN mart.phof_trend.compared_to_parent IS 'Fingertips comparison with the parent area (the region for an authority), in the same terms; NULL when not published.';
COMMENT ON COLUMN mart.phof_trend.england_value IS 'England''s value for the same indicator, sex, age, category and period; NULL for England''s own rows and when England has no value for the period.';
COMMENT ON COLUMN mart.phof_trend.batch_id IS 'The audit.load_batch that last changed the value.';

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

COMMENT ON VIEW mart.phof_latest IS 'One row per indicator x area x sex x age x category: its latest period (the one ending last), with England''s value, the region''s value and the average of the area''s CIPFA nearest neighbours for the same period beside it, and Fingertips'' own comparison and trend labels.';
COMMENT ON COLUMN mart.phof_latest.indicator_id IS 'Fingertips indicator id (core.dim_indicator).';
COMMENT ON COLUMN mart.phof_latest.phof_code IS 'Public Health Outcomes Framework numbering (e.g. 2.04) where the indicator is in PHOF; NULL otherwise.';
COMMENT ON COLUMN mart.phof_latest.indicator_name IS 'Indicator name as Fingertips publishes it.';
COMMENT ON COLUMN mart.phof_latest.unit IS 'Unit of the values and limits: %, per 1,000, per 100,000, Years, ...';
COMMENT ON COLUMN mart.phof_latest.value_type IS 'Value type as published, e.g. Proportion, Crude rate, Directly standardised rate.';
COMMENT ON COLUMN mart.phof_latest.polarity_code IS 'high_is_good, low_is_good or neither: whether a higher value is better. NULL when Fingertips gives no polarity.';
COMMENT ON COLUMN mart.phof_latest.area_code IS 'ONS code of the area: E92000001 England, E12... regions, E06/E08/E09/E10... authorities (e.g. E10000018 Leicestershire).';
COMMENT ON COLUMN mart.phof_latest.area_name IS 'Area name as Fingertips publishes it.';
COMMENT ON COLUMN mart.phof_latest.area_type IS 'Fingertips area type: England, Regions (statistical), Upper tier local authorities (4/23).';
COMMENT ON COLUMN mart.phof_latest.sex IS 'Persons, Male or Female.';
COMMENT ON COLUMN mart.phof_latest.age IS 'Age band as published, e.g. All ages, <18 yrs.';
COMMENT ON COLUMN mart.phof_latest.category_type IS 'Inequality breakdown type (e.g. deprivation deciles); empty string for the whole population: filter category_type = '''' for headline figures.';
COMMENT ON COLUMN mart.phof_latest.category IS 'Category within category_type; empty string for the whole population.';
COMMENT ON COLUMN mart.phof_latest.period_label IS 'The latest period the area has a row for, as published (e.g. 2017, 2015 - 17).';
COMMENT ON COLUMN mart.phof_latest.period_start IS 'First day the period covers.';
COMMENT ON COLUMN mart.phof_latest.period_end IS 'Last day the period covers (inclusive).';
COMMENT ON COLUMN mart.phof_latest.granularity IS 'calendar_year, financial_year, academic_year, rolling_years, rolling_financial_years, quarter, month or other.';
COMMENT ON COLUMN mart.phof_latest.value IS 'The value in the indicator''s unit (a percentage as 0-100, a rate per 1,000 or per 100,000, ...); NULL when not published (usually suppressed: see value_note).';
COMMENT ON COLUMN mart.phof_latest.lower_ci_95 IS 'Lower 95% confidence limit, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN mart.phof_latest.upper_ci_95 IS 'Upper 95% confidence limit, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN mart.phof_latest.lower_ci_99_8 IS 'Lower 99.8% confidence limit, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN mart.phof_latest.upper_ci_99_8 IS 'Upper 99.8% confidence limit, in the value''s unit; NULL when not published.';
COMMENT ON COLUMN mart.phof_latest.count IS 'Numerator: the events or people counted; NULL when not published or suppressed.';
COMMENT ON COLUMN mart.phof_latest.denominator IS 'Denominator: the population or total the value is calculated over; NULL when not published.';
COMMENT ON COLUMN mart.phof_latest.value_note IS 'Fingertips value note (e.g. Value suppressed for disclosure control due to small count); NULL when none.';
COMMENT ON COLUMN mart.phof_latest.recent_trend IS 'Fingertips recent trend of the area''s latest points, e.g. Increasing and getting worse, Decreasing and getting better, No significant change, Cannot be calculated; NULL when not published.';
COMMENT ON COLUMN mart.phof_latest.compared_to_england IS 'Fingertips comparison with England: Better, Similar, Worse (with a polarity), Higher, Similar, Lower (without), Not compared (England''s own rows, or no interval to compare); NULL when not published.';
COMMENT ON COLUMN mart.phof_latest.compared_to_parent IS 'Fingertips comparison with the parent area (the region for an authority), in the same terms; NULL when not published.';
COMMENT ON COLUMN mart.phof_latest.compared_to_parent_label IS 'The parent area type of that comparison (e.g. Region); NULL when the parent is England.';
COMMENT ON COLUMN mart.phof_latest.england_value IS 'England''s value for the same indicator, sex, age, category and period; NULL for England''s own rows and when England has no value for the period.';
COMMENT ON COLUMN mart.phof_latest.england_lower_ci_95 IS 'Lower 95% confidence limit of England''s value; NULL as england_value, or when not published.';
COMMENT ON COLUMN mart.phof_latest.england_upper_ci_95 IS 'Upper 95% confidence limit of England''s value; NULL as england_value, or when not published.';
COMMENT ON COLUMN mart.phof_latest.region_code IS 'ONS code of the area''s region (e.g. E12000004 East Midlands); NULL for England and the regions themselves.';
COMMENT ON COLUMN mart.phof_latest.region_value IS 'The region''s value for the same indicator, sex, age, category and period; NULL when there is no region or it has no value.';
COMMENT ON COLUMN mart.phof_latest.nearest_neighbour_average IS 'Unweighted mean of the values of the area''s CIPFA nearest neighbours (core.area_comparator) for the same breakdown and period; NULL for an area without neighbours (only the focus areas have them) or when none has a value.';
COMMENT ON COLUMN mart.phof_latest.nearest_neighbour_count IS 'How many nearest neighbours had a value (the average''s base, out of usually 15); NULL for an area without neighbours.';
COMMENT ON COLUMN mart.phof_latest.batch_id IS 'The audit.load_batch that last changed the area''s value.';
