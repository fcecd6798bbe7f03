-- KPI history imports (pipelines/history_import.py): years of KPI figures from a team's spreadsheet load
-- into core.fact_kpi_value like a provider return, each row with the note the spreadsheet gave it.
-- Superseded figures keep their note in core.fact_kpi_value_history.
-- Written once for PostgreSQL and DuckDB (plain ADD COLUMN; no constraint changes).

ALTER TABLE core.fact_kpi_value ADD COLUMN note VARCHAR;
ALTER TABLE core.fact_kpi_value_history ADD COLUMN note VARCHAR;

COMMENT ON COLUMN core.fact_kpi_value.note IS 'Free-text note on the figure from a KPI history import (the note column of the history file); NULL for figures from provider returns and history rows without a note.';
COMMENT ON COLUMN core.fact_kpi_value_history.note IS 'The superseded figure''s note from a KPI history import (NULL when it had none or came from a provider return).';
