-- Conformed dimensions and facts for PHOF indicators from Fingertips, with revision history.

CREATE TABLE core.dim_indicator (
    indicator_id        INTEGER PRIMARY KEY,
    phof_code           VARCHAR,
    name                VARCHAR NOT NULL,
    definition          VARCHAR,
    unit                VARCHAR,
    value_type          VARCHAR,
    polarity            VARCHAR,
    polarity_code       VARCHAR CHECK (polarity_code IN ('high_is_good', 'low_is_good', 'neither')),
    source              VARCHAR,
    last_data_upload    TIMESTAMPTZ,
    loaded_data_upload  TIMESTAMPTZ,
    indicator_sets      VARCHAR,
    updated_at          TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE core.dim_indicator IS 'One row per Fingertips indicator the platform tracks, with its published metadata.';
COMMENT ON COLUMN core.dim_indicator.indicator_id IS 'Fingertips indicator id.';
COMMENT ON COLUMN core.dim_indicator.phof_code IS 'Public Health Outcomes Framework numbering (e.g. 2.04, C02a) where the indicator is in PHOF.';
COMMENT ON COLUMN core.dim_indicator.unit IS 'Unit as published (e.g. %, per 100,000).';
COMMENT ON COLUMN core.dim_indicator.value_type IS 'Value type as published (e.g. Crude rate, Directly standardised rate, Proportion).';
COMMENT ON COLUMN core.dim_indicator.polarity IS 'Polarity as Fingertips labels it.';
COMMENT ON COLUMN core.dim_indicator.polarity_code IS 'high_is_good, low_is_good or neither: decides improving/worsening and better/worse.';
COMMENT ON COLUMN core.dim_indicator.last_data_upload IS 'When Fingertips last uploaded data for the indicator (from the latest metadata sync).';
COMMENT ON COLUMN core.dim_indicator.loaded_data_upload IS 'The upload date of the data now in core.fact_indicator_value; older than last_data_upload means a refresh is due.';
COMMENT ON COLUMN core.dim_indicator.indicator_sets IS 'Comma-separated configured indicator sets (config/indicator_sets) that include the indicator.';

CREATE TABLE core.dim_area (
    area_code           VARCHAR PRIMARY KEY,
    area_name           VARCHAR NOT NULL,
    short_name          VARCHAR,
    area_type_id        INTEGER,
    area_type           VARCHAR,
    parent_area_code    VARCHAR,
    updated_at          TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE core.dim_area IS 'Areas (England, regions, upper-tier local authorities, ...) with their parent area.';
COMMENT ON COLUMN core.dim_area.area_code IS 'ONS code, e.g. E10000018 (Leicestershire).';
COMMENT ON COLUMN core.dim_area.area_type_id IS 'Fingertips area type id (15 England, 6 region, 502 counties and unitary authorities).';
COMMENT ON COLUMN core.dim_area.parent_area_code IS 'Parent area (the region for an upper-tier authority; England for a region).';

CREATE TABLE core.area_comparator (
    area_code           VARCHAR NOT NULL,
    comparator_code     VARCHAR NOT NULL,
    kind                VARCHAR NOT NULL CHECK (kind IN ('england', 'region', 'nearest_neighbour')),
    rank                INTEGER NOT NULL,
    source              VARCHAR,
    PRIMARY KEY (area_code, comparator_code, kind)
);
COMMENT ON TABLE core.area_comparator IS 'Comparators of an area: England, its region, and its CIPFA nearest neighbours in rank order.';
COMMENT ON COLUMN core.area_comparator.rank IS '1 for England and region; 1..n nearest-neighbour rank.';

CREATE TABLE core.dim_period (
    period_label        VARCHAR PRIMARY KEY,
    sort_key            INTEGER NOT NULL,
    start_date          DATE NOT NULL,
    end_date            DATE NOT NULL,
    granularity         VARCHAR NOT NULL
        CHECK (granularity IN ('quarter', 'month', 'financial_year', 'calendar_year', 'academic_year',
                               'rolling_years', 'rolling_financial_years', 'other')),
    years               INTEGER
);
COMMENT ON TABLE core.dim_period IS 'Time periods exactly as published, with a sortable key and the dates they cover.';
COMMENT ON COLUMN core.dim_period.period_label IS 'Label as published: 2017/18, 2017, 2015 - 17, 2017/18 Q2, ...';
COMMENT ON COLUMN core.dim_period.sort_key IS 'Sorts periods chronologically (start date as yyyymmdd, then length).';
COMMENT ON COLUMN core.dim_period.granularity IS 'quarter, month, financial_year, calendar_year, academic_year, rolling_years, rolling_financial_years or other.';

CREATE TABLE core.fact_indicator_value (
    indicator_id            INTEGER NOT NULL,
    area_code               VARCHAR NOT NULL,
    sex                     VARCHAR NOT NULL,
    age                     VARCHAR NOT NULL,
    category_type           VARCHAR NOT NULL,
    category                VARCHAR NOT NULL,
    period_label            VARCHAR NOT NULL,
    value                   DOUBLE PRECISION,
    lower_ci_95             DOUBLE PRECISION,
    upper_ci_95             DOUBLE PRECISION,
    lower_ci_99_8           DOUBLE PRECISION,
    upper_ci_99_8           DOUBLE PRECISION,
    count                   DOUBLE PRECISION,
    denominator             DOUBLE PRECISION,
    value_note              VARCHAR,
    recent_trend            VARCHAR,
    compared_to_england     VARCHAR,
    compared_to_parent      VARCHAR,
    compared_to_parent_label VARCHAR,
    compared_to_goal        VARCHAR,
    time_period_sortable    BIGINT,
    batch_id                BIGINT NOT NULL,
    PRIMARY KEY (indicator_id, area_code, sex, age, category_type, category, period_label)
);
COMMENT ON TABLE core.fact_indicator_value IS 'Current published value of each indicator x area x sex x age x category x period. Superseded versions are in core.fact_indicator_value_history.';
COMMENT ON COLUMN core.fact_indicator_value.category_type IS 'Inequality breakdown type (e.g. County & UA deprivation deciles); empty string when none.';
COMMENT ON COLUMN core.fact_indicator_value.category IS 'Category within category_type; empty string when none.';
COMMENT ON COLUMN core.fact_indicator_value.lower_ci_95 IS 'Lower 95% confidence limit.';
COMMENT ON COLUMN core.fact_indicator_value.upper_ci_95 IS 'Upper 95% confidence limit.';
COMMENT ON COLUMN core.fact_indicator_value.lower_ci_99_8 IS 'Lower 99.8% confidence limit.';
COMMENT ON COLUMN core.fact_indicator_value.upper_ci_99_8 IS 'Upper 99.8% confidence limit.';
COMMENT ON COLUMN core.fact_indicator_value.count IS 'Numerator count where published.';
COMMENT ON COLUMN core.fact_indicator_value.value_note IS 'Fingertips value note (e.g. suppressed, data quality caveat).';
COMMENT ON COLUMN core.fact_indicator_value.recent_trend IS 'Fingertips recent trend label.';
COMMENT ON COLUMN core.fact_indicator_value.compared_to_england IS 'Fingertips comparison with England (Better, Similar, Worse, Higher, Lower, Not compared ...).';
COMMENT ON COLUMN core.fact_indicator_value.compared_to_parent IS 'Fingertips comparison with the parent area (the region for an upper-tier authority).';
COMMENT ON COLUMN core.fact_indicator_value.compared_to_parent_label IS 'The parent area type named in the comparison column header (e.g. Region).';
COMMENT ON COLUMN core.fact_indicator_value.batch_id IS 'audit.load_batch that last changed the row.';

CREATE SEQUENCE core.fact_indicator_value_history_id_seq;
CREATE TABLE core.fact_indicator_value_history (
    history_id              BIGINT PRIMARY KEY DEFAULT nextval('core.fact_indicator_value_history_id_seq'),
    indicator_id            INTEGER NOT NULL,
    area_code               VARCHAR NOT NULL,
    sex                     VARCHAR NOT NULL,
    age                     VARCHAR NOT NULL,
    category_type           VARCHAR NOT NULL,
    category                VARCHAR NOT NULL,
    period_label            VARCHAR NOT NULL,
    value                   DOUBLE PRECISION,
    lower_ci_95             DOUBLE PRECISION,
    upper_ci_95             DOUBLE PRECISION,
    lower_ci_99_8           DOUBLE PRECISION,
    upper_ci_99_8           DOUBLE PRECISION,
    count                   DOUBLE PRECISION,
    denominator             DOUBLE PRECISION,
    value_note              VARCHAR,
    recent_trend            VARCHAR,
    compared_to_england     VARCHAR,
    compared_to_parent      VARCHAR,
    compared_to_parent_label VARCHAR,
    compared_to_goal        VARCHAR,
    time_period_sortable    BIGINT,
    batch_id                BIGINT NOT NULL,
    superseded_by_batch_id  BIGINT NOT NULL
);
COMMENT ON TABLE core.fact_indicator_value_history IS 'Every superseded version of a core.fact_indicator_value row: Fingertips revises published figures, and nothing is overwritten without a trace.';
COMMENT ON COLUMN core.fact_indicator_value_history.batch_id IS 'Batch that had written this version.';
COMMENT ON COLUMN core.fact_indicator_value_history.superseded_by_batch_id IS 'Batch whose load replaced this version.';
CREATE INDEX ix_fiv_history_key ON core.fact_indicator_value_history (indicator_id, area_code, period_label);
