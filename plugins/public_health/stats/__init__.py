"""Statistics for the performance report: significance against a benchmark, direction of travel, RAG.

Pure functions over plain values; no Airflow and no database access.
"""

from public_health.stats.rag import (
    KpiAssessment,
    KpiResult,
    Override,
    RagResult,
    assess_kpi,
    load_overrides,
    service_rag,
)
from public_health.stats.significance import (
    BenchmarkComparison,
    Estimate,
    Significance,
    benchmark_comparison,
    compare_to_benchmark,
    nearest_neighbour_average,
)
from public_health.stats.trend import Direction, Point, direction_of_travel

__all__ = [
    "BenchmarkComparison",
    "Direction",
    "Estimate",
    "KpiAssessment",
    "KpiResult",
    "Override",
    "Point",
    "RagResult",
    "Significance",
    "assess_kpi",
    "benchmark_comparison",
    "compare_to_benchmark",
    "direction_of_travel",
    "load_overrides",
    "nearest_neighbour_average",
    "service_rag",
]
