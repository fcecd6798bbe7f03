-- KPIs gain a target kind for multi-year running totals (a five-year programme such as NHS Health
-- Checks), assessed against the programme's own target to date; the column comment says so.
COMMENT ON COLUMN core.dim_kpi.target_kind IS 'none, per_quarter, cumulative (within the financial year: year-to-date actual against year-to-date target), running (a multi-year running total against its own target to date), annual or half_yearly.';
COMMENT ON COLUMN core.dim_kpi.is_cumulative IS 'True when the target and actual to date accumulate over the financial year (target kind cumulative); false for a running total over several years.';
