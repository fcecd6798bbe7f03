"""Public health data platform: the work behind the Airflow DAGs.

Plain Python that imports and tests without a scheduler. Only the thin adapters in
``public_health.airflow_support`` import Airflow.
"""
