"""The steps each DAG runs, as plain functions (no Airflow imports): testable without a scheduler."""
