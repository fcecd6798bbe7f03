"""Data-quality gate: Great Expectations suites from include/expectations, results and reports."""
