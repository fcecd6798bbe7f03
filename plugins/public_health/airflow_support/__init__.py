"""Thin adapters between Airflow and the package: assets, pools, run context. Only here is Airflow imported."""

from __future__ import annotations

from airflow.sdk import Asset

# Assets other DAGs schedule on. URIs name the warehouse table each stands for.
PHOF_FACTS = Asset(name="phof_indicator_values", uri="warehouse://core/fact_indicator_value", group="warehouse")
KPI_FACTS = Asset(name="provider_kpi_values", uri="warehouse://core/fact_kpi_value", group="warehouse")

# Warehouse-writing tasks share this pool; size 1 on DuckDB (one writer at a time).
WAREHOUSE_POOL = "warehouse"

DEFAULT_OWNER = "public-health-intelligence"
