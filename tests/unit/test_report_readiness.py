"""When an asset update may build the performance report: only once every return of the report's own
services is in. A return with no page in the report (the BCF activity return) never holds it up."""

from __future__ import annotations

from public_health.periods import FinancialQuarter
from public_health.reports.performance.data import has_data, outstanding_returns
from public_health.returns.services import load_services
from public_health.warehouse.returns import sync_services


def test_outstanding_returns_are_the_report_services_only(warehouse):
    services = load_services()
    quarter = FinancialQuarter.parse("2015-16-Q1")
    with warehouse.begin() as conn:
        sync_services(conn, services, quarter, quarter)
    in_report = [c for c, s in services.items() if s.performance_report]
    waiting = outstanding_returns(warehouse, quarter, in_report)
    assert "bcf_nhs_activity" not in waiting
    # Every report service but the redacted one (no return expected of it) is missing its 2015-16 Q1 return.
    assert len(waiting) == len([c for c in in_report if not services[c].redacted]) == 24
    assert "bcf_nhs_activity" in outstanding_returns(warehouse, quarter, services)
    assert not has_data(warehouse, quarter, in_report)
