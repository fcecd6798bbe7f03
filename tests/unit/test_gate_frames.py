"""validate_frames: many frames checked in one Great Expectations pass give, frame by frame, exactly what
validate_frame gives each frame alone (checks, counts, examples located in the frame's own index, verdict)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from public_health.periods import FinancialQuarter
from public_health.quality import gate
from public_health.quality.gate import validate_frame, validate_frames
from public_health.returns.cells import KpiValue, ParsedReturn
from public_health.returns.services import load_services
from public_health.returns.staging import gate_parameters, stage_return

SUITE = "provider_kpi_values"


@pytest.fixture(scope="module")
def services():
    return load_services()


@pytest.fixture(scope="module")
def parameters(services):
    return gate_parameters(services, 0.5, 50)


def _staged(services, values, period="2017-18-Q2", service="healthy_together", previous=None, sheet="KPIs"):
    figures = [KpiValue(k, FinancialQuarter.parse(p), m, v, None if v is not None else "blank", sheet,
                        f"F{i + 5}" if sheet else f"line {i + 2}", str(v))
               for i, (k, p, m, v) in enumerate(values)]
    parsed = ParsedReturn(Path("r.xlsx"), service, FinancialQuarter.parse(period), "xlsx", figures)
    return stage_return(parsed, services, previous or {})


def _without_seconds(outcome):
    data = outcome.to_dict()
    data.pop("seconds")
    return data


def _frames(services):
    q1, q2, q3 = "2017-18-Q1", "2017-18-Q2", "2017-18-Q3"
    clean = _staged(services, [
        ("ht_nbr_denom", q2, "actual", 1284.0), ("ht_nbr_10_14d_num", q2, "actual", 1232.0),
        ("ht_new_birth_visit_10_14d", q2, "actual", 96.0), ("ht_new_birth_visit_10_14d", q2, "target", 90.0),
    ])
    slips = _staged(services, [   # warnings only: 123%, a percentage that is not its ratio, a later actual
        ("ht_68w_denom", q2, "actual", 1242.0), ("ht_bf_status_68w_num", q2, "actual", 1533.0),
        ("ht_bf_status_68w_pct", q2, "actual", 123.0), ("ht_nbr_denom", q2, "actual", 1284.0),
        ("ht_nbr_10_14d_num", q2, "actual", 1232.0), ("ht_new_birth_visit_10_14d", q2, "actual", 91.0),
        ("ht_nbr_10_14d_num", q3, "actual", 5.0),
    ])
    errors = _staged(services, [   # errors: the same figure twice, a negative and a fractional count, last year
        ("ht_antenatal_visits", q2, "actual", 900.0), ("ht_antenatal_visits", q2, "actual", 901.0),
        ("ht_nbr_denom", q2, "actual", -4.0), ("ht_nbr_10_14d_num", q2, "actual", 10.5),
        ("ht_nbr_10_14d_num", "2016-17-Q4", "actual", 5.0), ("no_such_kpi", q2, "actual", 1.0),
    ])
    # Same figures as `errors`, so its duplicates are duplicates of another frame's rows too: each frame
    # must still see only its own.
    errors_again = errors.copy()
    change = _staged(services, [("ht_antenatal_visits", q2, "actual", 900.0)],
                     previous={("ht_antenatal_visits", q1, "actual"): 400.0})
    csv_layout = _staged(services, [("ht_antenatal_visits", q2, "actual", -1.0)], sheet=None)
    unknown_service = _staged(services, [("ht_antenatal_visits", q2, "actual", 3.0)], service="weight_watchers")
    no_rows = clean.iloc[:0]
    # A frame numbered by row (as a CSV is): examples are located by row_offset, not by label.
    numbered = errors.reset_index(drop=True)
    return [clean, errors, slips, change, errors_again, csv_layout, unknown_service, no_rows, numbered]


def test_one_pass_gives_each_frame_its_own_outcome(services, parameters):
    frames = _frames(services)
    together = validate_frames(SUITE, frames, parameters, row_label="cell")
    alone = [validate_frame(SUITE, f, parameters, row_label="cell") for f in frames]
    assert [_without_seconds(o) for o in together] == [_without_seconds(o) for o in alone]
    # and the verdicts are the ones the frames were built for
    assert [o.passed for o in together] == [True, False, True, True, False, False, False, True, False]
    assert {o.rule for o in together[1].errors} == {"one_figure_per_cell", "negative_count", "whole_count",
                                                   "period_in_return_year", "known_kpi"}
    duplicates = next(o for o in together[1].errors if o.rule == "one_figure_per_cell")
    assert duplicates.unexpected_count == 2 and [e["cell"] for e in duplicates.unexpected_examples] == ["KPIs!F5", "KPIs!F6"]
    assert [e["cell"] for e in next(o for o in together[8].errors if o.rule == "negative_count")
            .unexpected_examples] == [4]   # row 2 of a frame numbered from 0, plus row_offset 2
    assert [w.rule for w in together[3].warnings] == ["large_change"]


def test_the_pass_is_one_great_expectations_run(services, parameters, monkeypatch):
    frames = _frames(services)
    calls = []
    original = gate._prepared

    def counting(*args, **kwargs):
        prepared = original(*args, **kwargs)
        batch_definition = prepared[2]

        class Counted:
            def get_batch(self, batch_parameters):
                calls.append(len(batch_parameters["dataframe"]))
                return batch_definition.get_batch(batch_parameters=batch_parameters)

        return prepared[0], prepared[1], Counted()

    monkeypatch.setattr(gate, "_prepared", counting)
    validate_frames(SUITE, frames, parameters, row_label="cell")
    assert calls == [sum(len(f) for f in frames)]


def test_frames_whose_checked_columns_differ_in_type_are_checked_one_by_one(services, parameters):
    frames = _frames(services)[:3]
    odd = frames[0].copy()
    odd["count_value"] = odd["count_value"].astype("Float64")   # the checks' verdict must not depend on the pass
    frames.append(odd)
    together = validate_frames(SUITE, frames, parameters, row_label="cell")
    alone = [validate_frame(SUITE, f, parameters, row_label="cell") for f in frames]
    assert [_without_seconds(o) for o in together] == [_without_seconds(o) for o in alone]


def test_no_frames_and_one_frame(services, parameters):
    assert validate_frames(SUITE, [], parameters) == []
    [clean] = _frames(services)[:1]
    [one] = validate_frames(SUITE, [clean], parameters, row_label="cell")
    assert _without_seconds(one) == _without_seconds(validate_frame(SUITE, clean, parameters, row_label="cell"))


def test_compound_uniqueness_keeps_ignoring_rows_whose_columns_are_all_missing(services, parameters):
    """The frame number added to a uniqueness check must not make all-missing rows count (GE ignores them)."""
    base = _frames(services)[0]
    blank = base.iloc[:2].copy()
    for column in ("service_code", "kpi_code", "period", "measure"):
        blank[column] = pd.array([None, None], dtype=base[column].dtype)
    frames = [pd.concat([base, blank]), pd.concat([base, blank])]
    together = validate_frames(SUITE, frames, parameters, row_label="cell")
    alone = [validate_frame(SUITE, f, parameters, row_label="cell") for f in frames]
    assert [_without_seconds(o) for o in together] == [_without_seconds(o) for o in alone]
    unique = next(o for o in together[0].outcomes if o.rule == "one_figure_per_cell")
    assert unique.success


def test_more_unexpected_rows_than_great_expectations_lists(services, parameters, monkeypatch):
    """GE lists at most 200 unexpected values of a check; frames whose failing rows come after the 200th in the
    stacked pass still get their own examples, as they would alone."""
    slips = _frames(services)[2]
    many = pd.concat([slips] * 6)   # 42 rows, every percentage over 100 and each pair upside down
    many["percent_value"] = 150.0
    many["numerator"] = pd.array([5.0] * len(many), dtype="Float64")
    many["denominator"] = pd.array([4.0] * len(many), dtype="Float64")
    frames = [many] * 7   # 294 unexpected rows a check in one pass
    alone = validate_frame(SUITE, many, parameters, row_label="cell")

    def not_frame_by_frame(*args, **kwargs):
        raise AssertionError("validated frame by frame, not in one pass")

    monkeypatch.setattr(gate, "validate_frame", not_frame_by_frame)
    together = validate_frames(SUITE, frames, parameters, row_label="cell")
    assert all(_without_seconds(o) == _without_seconds(alone) for o in together)
    over = next(o for o in together[-1].warnings if o.rule == "percent_over_100")
    assert over.unexpected_count == 42 and len(over.unexpected_examples) == gate.MAX_EXAMPLES
    pair = next(o for o in together[-1].warnings if o.rule == "numerator_over_denominator")
    assert pair.unexpected_examples[0]["value"] == [4.0, 5.0]
