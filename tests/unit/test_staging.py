"""Derived columns the provider-return checks rely on, from small hand-made returns."""

from __future__ import annotations

from pathlib import Path

import pytest

from public_health.periods import FinancialQuarter
from public_health.quality.gate import validate_frame
from public_health.returns.cells import KpiValue, ParsedReturn
from public_health.returns.services import load_services
from public_health.returns.staging import gate_parameters, stage_return


def _parsed(values, period="2017-18-Q2", service="healthy_together"):
    vals = [KpiValue(k, FinancialQuarter.parse(p), m, v, None if v is not None else "blank", "KPIs", f"F{i + 5}",
                     str(v))
            for i, (k, p, m, v) in enumerate(values)]
    return ParsedReturn(Path("r.xlsx"), service, FinancialQuarter.parse(period), "xlsx", vals)


@pytest.fixture(scope="module")
def services():
    return load_services()


def _run(services, parsed, previous=None):
    staged = stage_return(parsed, services, previous or {})
    return staged, validate_frame("provider_kpi_values", staged, gate_parameters(services, 0.5, 50), row_label="cell")


def test_previous_quarter():
    assert FinancialQuarter.parse("2017-18-Q2").previous().label == "2017-18-Q1"
    assert FinancialQuarter.parse("2017-18-Q1").previous().label == "2016-17-Q4"


def test_reference_figures_pass(services):
    q2 = "2017-18-Q2"
    staged, out = _run(services, _parsed([
        ("ht_nbr_denom", q2, "actual", 1284.0), ("ht_nbr_10_14d_num", q2, "actual", 1232.0),
        ("ht_new_birth_visit_10_14d", q2, "actual", 96.0), ("ht_new_birth_visit_10_14d", q2, "target", 90.0),
        ("ht_new_birth_visit_10_14d", "2017-18-Q4", "target", 90.0),   # later targets are allowed
    ]))
    assert out.passed and not out.warnings, out.summary()
    assert staged.loc["KPIs!F7", "percent_gap"] == pytest.approx(abs(96 - 100 * 1232 / 1284))


def test_report_slips_load_as_warnings_located_by_cell(services):
    """The published report's slips (123%, a percentage that is not its ratio, a later quarter's actual)
    are warnings: the return loads as sent, and each finding names its cell."""
    q2 = "2017-18-Q2"
    _, out = _run(services, _parsed([
        ("ht_68w_denom", q2, "actual", 1242.0), ("ht_bf_status_68w_num", q2, "actual", 1533.0),
        ("ht_bf_status_68w_pct", q2, "actual", 123.0),
        ("ht_nbr_denom", q2, "actual", 1284.0), ("ht_nbr_10_14d_num", q2, "actual", 1232.0),
        ("ht_new_birth_visit_10_14d", q2, "actual", 91.0),   # does not match 1232 / 1284
        ("ht_nbr_10_14d_num", "2017-18-Q3", "actual", 5.0),  # an actual for a later quarter
    ]))
    assert out.passed, out.summary()
    found = {o.rule: o for o in out.warnings}
    assert found["percent_over_100"].unexpected_examples == [{"value": 123.0, "cell": "KPIs!F7"}]
    assert found["numerator_over_denominator"].unexpected_examples[0]["cell"] == "KPIs!F7"
    assert found["percent_not_ratio"].unexpected_examples[0]["cell"] == "KPIs!F10"
    assert "figure_after_quarter" in found
    assert found["percent_over_100"].description == "A percentage is over 100"


def test_a_figure_for_another_financial_year_is_an_error(services):
    _, out = _run(services, _parsed([("ht_nbr_10_14d_num", "2016-17-Q4", "actual", 5.0)]))
    assert [o.rule for o in out.errors] == ["period_in_return_year"]


def test_big_change_from_previous_quarter_is_a_warning_only(services):
    q1, q2 = "2017-18-Q1", "2017-18-Q2"
    _, out = _run(services, _parsed([("ht_antenatal_visits", q2, "actual", 900.0)]),
                  previous={("ht_antenatal_visits", q1, "actual"): 400.0})
    assert out.passed
    [warning] = out.warnings
    assert warning.unexpected_examples[0]["value"] == pytest.approx(125.0)
