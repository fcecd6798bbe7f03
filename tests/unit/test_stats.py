"""Worked examples for public_health.stats: significance, direction of travel and service RAG."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from public_health.config import CONFIG_DIR, ConfigError
from public_health.stats import (
    Direction,
    Estimate,
    KpiResult,
    Override,
    Point,
    Significance,
    assess_kpi,
    benchmark_comparison,
    compare_to_benchmark,
    direction_of_travel,
    load_overrides,
    nearest_neighbour_average,
    service_rag,
)
from public_health.stats.rag import KpiAssessment

# --- significance against a benchmark ------------------------------------------------------------


class TestBenchmarkInCi:
    """Default method: England's point value against the area's 95% CI."""

    # Breastfeeding at 6-8 weeks (%): Leicester 57.0 (55.1-58.9), England 44.0 → benchmark below the CI.
    def test_high_is_good_benchmark_below_ci_is_better(self):
        assert compare_to_benchmark(Estimate(57.0, 55.1, 58.9), Estimate(44.0), polarity="high_is_good") is Significance.BETTER

    def test_high_is_good_benchmark_above_ci_is_worse(self):
        assert compare_to_benchmark(Estimate(57.0, 55.1, 58.9), Estimate(61.0), polarity="high_is_good") is Significance.WORSE

    # Under 18 conceptions per 1,000: 24.3 (21.5-27.4); England 18.8 → higher, and low is good → worse.
    def test_low_is_good_benchmark_below_ci_is_worse(self):
        assert compare_to_benchmark(Estimate(24.3, 21.5, 27.4), Estimate(18.8), polarity="low_is_good") is Significance.WORSE

    def test_low_is_good_benchmark_above_ci_is_better(self):
        assert compare_to_benchmark(Estimate(14.0, 12.1, 16.2), Estimate(18.8), polarity="low_is_good") is Significance.BETTER

    def test_benchmark_inside_ci_is_similar(self):
        assert compare_to_benchmark(Estimate(20.1, 17.6, 22.9), Estimate(18.8), polarity="low_is_good") is Significance.SIMILAR

    def test_benchmark_on_the_limit_counts_as_inside(self):
        assert compare_to_benchmark(Estimate(20.1, 18.8, 22.9), Estimate(18.8), polarity="low_is_good") is Significance.SIMILAR
        assert compare_to_benchmark(Estimate(20.1, 17.6, 18.8), Estimate(18.8), polarity="low_is_good") is Significance.SIMILAR

    # Polarity neither (e.g. population aged 65+ %): only higher/lower.
    @pytest.mark.parametrize(
        ("bench", "expected"),
        [(10.0, Significance.HIGHER), (20.0, Significance.LOWER), (15.0, Significance.SIMILAR)],
    )
    def test_polarity_neither(self, bench, expected):
        assert compare_to_benchmark(Estimate(15.5, 14.0, 17.0), Estimate(bench), polarity="neither") is expected


class TestCiOverlap:
    # Area 52.0 (49.0-55.0) against England 57.0 with CI (56.8-57.2): no overlap → worse.
    def test_non_overlapping_is_significant(self):
        got = compare_to_benchmark(
            Estimate(52.0, 49.0, 55.0),
            Estimate(57.0, 56.8, 57.2),
            polarity="high_is_good",
            method="ci_overlap",
        )
        assert got is Significance.WORSE

    # Same area against a region 56.0 (55.0-57.0): the intervals touch at 55.0 → similar, although the
    # benchmark-in-CI method calls it worse (56.0 is outside 49-55).
    def test_touching_intervals_overlap(self):
        area, region = Estimate(52.0, 49.0, 55.0), Estimate(56.0, 55.0, 57.0)
        assert compare_to_benchmark(area, region, polarity="high_is_good", method="ci_overlap") is Significance.SIMILAR
        assert compare_to_benchmark(area, region, polarity="high_is_good") is Significance.WORSE

    def test_overlap_method_needs_benchmark_limits(self):
        got = compare_to_benchmark(Estimate(52.0, 49.0, 55.0), Estimate(57.0), polarity="high_is_good", method="ci_overlap")
        assert got is Significance.NOT_COMPARED

    def test_low_is_good_non_overlapping_lower_is_better(self):
        got = compare_to_benchmark(
            Estimate(8.0, 7.0, 9.0),
            Estimate(12.0, 11.5, 12.5),
            polarity="low_is_good",
            method="ci_overlap",
        )
        assert got is Significance.BETTER


class TestNotCompared:
    @pytest.mark.parametrize(
        "args",
        [
            (None, 49.0, 55.0, 57.0),  # no value
            (52.0, None, 55.0, 57.0),  # no lower limit
            (52.0, 49.0, None, 57.0),  # no upper limit
            (52.0, 49.0, 55.0, None),  # no benchmark
            (52.0, math.nan, 55.0, 57.0),  # NaN is missing
        ],
    )
    def test_missing_inputs(self, args):
        value, lower, upper, benchmark = args
        got = compare_to_benchmark(Estimate(value, lower, upper), Estimate(benchmark), polarity="high_is_good")
        assert got is Significance.NOT_COMPARED

    def test_no_benchmark_at_all(self):
        assert compare_to_benchmark(Estimate(52.0, 49.0, 55.0), None, polarity="high_is_good") is Significance.NOT_COMPARED
        assert benchmark_comparison(Estimate(52.0, 49.0, 55.0), None, polarity="neither").benchmark_value is None

    def test_bad_inputs_raise(self):
        with pytest.raises(ValueError, match="polarity"):
            compare_to_benchmark(Estimate(1.0, 0.5, 1.5), Estimate(1.0), polarity="up")
        with pytest.raises(ValueError, match="method"):
            compare_to_benchmark(Estimate(1.0, 0.5, 1.5), Estimate(1.0), polarity="neither", method="z_test")
        with pytest.raises(ValueError, match="level"):
            compare_to_benchmark(Estimate(1.0, 0.5, 1.5), Estimate(1.0), polarity="neither", level=90)
        with pytest.raises(ValueError, match="lower confidence limit"):
            compare_to_benchmark(Estimate(1.0, 1.5, 0.5), Estimate(1.0), polarity="neither")


def test_string_values_match_fingertips_wording():
    assert [s.value for s in Significance] == ["Better", "Similar", "Worse", "Higher", "Lower", "Not compared"]
    assert Significance.NOT_COMPARED == "Not compared"


def test_level_recorded_and_the_99_8_limits_can_change_the_answer():
    # Same value: 95% limits (49.0-55.0) exclude 56.0, the wider 99.8% limits (47.0-57.0) include it.
    at95 = benchmark_comparison(Estimate(52.0, 49.0, 55.0), Estimate(56.0), polarity="high_is_good", level=95)
    at998 = benchmark_comparison(Estimate(52.0, 47.0, 57.0), Estimate(56.0), polarity="high_is_good", level=99.8)
    assert (at95.significance, at95.level) == (Significance.WORSE, 95.0)
    assert (at998.significance, at998.level, at998.method) == (Significance.SIMILAR, 99.8, "benchmark_in_ci")


def test_nearest_neighbour_average():
    assert nearest_neighbour_average([10.0, 20.0, None, 30.0]) == pytest.approx(20.0)
    assert nearest_neighbour_average([None, math.nan]) is None
    assert nearest_neighbour_average([]) is None


# --- direction of travel --------------------------------------------------------------------------


class TestDirectionOfTravel:
    # Breastfeeding prevalence 2015/16 55.0 (53.0-57.0) → 2016/17 60.0 (58.0-62.0): no overlap.
    def test_high_is_good_rise_is_improving(self):
        got = direction_of_travel(Point(60.0, 58.0, 62.0), Point(55.0, 53.0, 57.0), polarity="high_is_good")
        assert got is Direction.IMPROVING

    def test_low_is_good_rise_is_worsening(self):
        got = direction_of_travel(Point(60.0, 58.0, 62.0), Point(55.0, 53.0, 57.0), polarity="low_is_good")
        assert got is Direction.WORSENING

    def test_low_is_good_fall_is_improving(self):
        got = direction_of_travel(Point(18.8, 17.0, 20.6), Point(24.3, 21.5, 27.4), polarity="low_is_good")
        assert got is Direction.IMPROVING

    def test_overlapping_intervals_no_significant_change(self):
        # 57.0 (55.1-58.9) → 58.0 (56.0-60.0): a rise, but the intervals overlap.
        got = direction_of_travel(Point(58.0, 56.0, 60.0), Point(57.0, 55.1, 58.9), polarity="high_is_good")
        assert got is Direction.NO_SIGNIFICANT_CHANGE

    def test_touching_intervals_no_significant_change(self):
        got = direction_of_travel(Point(60.0, 57.0, 62.0), Point(55.0, 53.0, 57.0), polarity="high_is_good")
        assert got is Direction.NO_SIGNIFICANT_CHANGE

    @pytest.mark.parametrize(
        ("latest", "expected"),
        [(Point(60.0, 58.0, 62.0), Direction.INCREASING), (Point(50.0, 48.0, 52.0), Direction.DECREASING)],
    )
    def test_polarity_neither(self, latest, expected):
        assert direction_of_travel(latest, Point(55.0, 54.0, 56.0), polarity="neither") is expected

    def test_no_previous_period_is_not_available(self):
        assert direction_of_travel(Point(60.0, 58.0, 62.0), None, polarity="high_is_good") is Direction.NOT_AVAILABLE

    @pytest.mark.parametrize(
        ("latest", "previous"),
        [
            (Point(60.0, None, None), Point(55.0, 53.0, 57.0)),  # latest without limits
            (Point(60.0, 58.0, 62.0), Point(55.0, 53.0, None)),  # previous missing its upper limit
            (Point(None, None, None), Point(55.0, 53.0, 57.0)),  # no latest value
        ],
    )
    def test_missing_limits_are_not_available(self, latest, previous):
        assert direction_of_travel(latest, previous, polarity="high_is_good") is Direction.NOT_AVAILABLE

    def test_values(self):
        assert Direction.NO_SIGNIFICANT_CHANGE == "No significant change"
        assert Direction.NOT_AVAILABLE.value == "Not available"


# --- KPI assessment -------------------------------------------------------------------------------


def kpi(**kw) -> KpiResult:
    base = {
        "kpi_code": "k",
        "unit": "percent",
        "polarity": "high_is_good",
        "target_kind": "per_quarter",
        "target": 90.0,
        "actual": None,
        "actual_to_date": None,
        "annual_target": None,
        "quarter": 2,
    }
    base.update(kw)
    return KpiResult(**base)


class TestAssessKpi:
    # % of babies receiving a 6-8 week review, target 90%, amber margin 10% of target (= 9 points).
    @pytest.mark.parametrize(
        ("actual", "status", "shortfall"),
        [
            (96.0, "met", 0.0),
            (90.0, "met", 0.0),  # exactly on target
            (81.0, "near_miss", 10.0),  # short by exactly the margin
            (74.0, "missed", 17.777778),  # the report's Q1 2017-18 figure
        ],
    )
    def test_high_is_good(self, actual, status, shortfall):
        got = assess_kpi(kpi(actual=actual), amber_margin_pct=10)
        assert got.status == status
        assert got.shortfall_pct == pytest.approx(shortfall)
        assert got.kpi_code == "k"

    @pytest.mark.parametrize(
        ("actual", "status"), [(10.0, "met"), (12.0, "met"), (13.0, "near_miss"), (13.3, "missed")]
    )
    def test_low_is_good(self, actual, status):
        # Waiting time in days, target at most 12, margin 10% of target = 1.2 days.
        got = assess_kpi(kpi(unit="days", polarity="low_is_good", target=12.0, actual=actual), amber_margin_pct=10)
        assert got.status == status

    def test_score_compared_like_high_is_good(self):
        # Average confidence on a 1-10 scale, target 8.0, polarity neither.
        low = assess_kpi(kpi(unit="score", polarity="neither", target=8.0, actual=7.5), amber_margin_pct=10)
        high = assess_kpi(kpi(unit="score", polarity="neither", target=8.0, actual=8.6), amber_margin_pct=10)
        assert (low.status, high.status) == ("near_miss", "met")
        assert "minimum" in low.basis

    def test_cumulative_pro_rata_of_annual_target(self):
        # Child weight management completers: annual target 75 → Q2 pro-rata 37.5; 37 to date is short by 1.3%.
        r = kpi(
            unit="count", target_kind="cumulative", target=None, annual_target=75.0, actual=15.0, actual_to_date=37.0
        )
        got = assess_kpi(r, amber_margin_pct=10)
        assert got.status == "near_miss"
        assert got.shortfall_pct == pytest.approx(100 * 0.5 / 37.5)
        assert "pro-rata" in got.basis and "37.5" in got.basis and "2/4 of annual target 75" in got.basis
        # Q3: 56.25 is the pro-rata target; 64 to date meets it even though the quarter's 27 alone would not.
        q3 = kpi(
            unit="count",
            target_kind="cumulative",
            target=None,
            annual_target=75.0,
            actual=27.0,
            actual_to_date=64.0,
            quarter=3,
        )
        assert assess_kpi(q3, amber_margin_pct=10).status == "met"

    def test_cumulative_uses_the_quarters_cumulative_target_when_given(self):
        # A cumulative target to Q2 of 35 against an annual 65 (pro-rata would be 32.5): 34 to date is a
        # near miss against the given 35, although it would meet the pro-rata share.
        r = kpi(unit="count", target_kind="cumulative", target=35.0, annual_target=65.0, actual_to_date=34.0)
        got = assess_kpi(r, amber_margin_pct=10)
        assert got.status == "near_miss" and "cumulative target to Q2 35" in got.basis
        pro_rata = kpi(unit="count", target_kind="cumulative", target=None, annual_target=65.0, actual_to_date=34.0)
        assert assess_kpi(pro_rata, amber_margin_pct=10).status == "met"

    def test_cumulative_without_actual_to_date(self):
        r1 = kpi(unit="count", target_kind="cumulative", target=None, annual_target=75.0, actual=25.0, quarter=1)
        assert assess_kpi(r1, amber_margin_pct=10).status == "met"  # Q1: the quarter is the year to date
        r2 = kpi(unit="count", target_kind="cumulative", target=None, annual_target=75.0, actual=25.0, quarter=2)
        assert assess_kpi(r2, amber_margin_pct=10).status == "no_data"

    @pytest.mark.parametrize(("quarter", "status"), [(1, "no_target"), (2, "missed"), (3, "no_target"), (4, "missed")])
    def test_half_yearly_only_in_q2_and_q4(self, quarter, status):
        # Suicide awareness delegates: 150 per half year; 89 attended.
        r = kpi(unit="count", target_kind="half_yearly", target=150.0, actual=89.0, quarter=quarter)
        got = assess_kpi(r, amber_margin_pct=10)
        assert got.status == status
        if status == "no_target":
            assert "Q2 and Q4 only" in got.basis

    def test_half_yearly_target_from_annual(self):
        r = kpi(unit="count", target_kind="half_yearly", target=None, annual_target=300.0, actual=146.0, quarter=4)
        got = assess_kpi(r, amber_margin_pct=10)
        assert got.status == "near_miss" and got.shortfall_pct == pytest.approx(100 * 4 / 150)

    @pytest.mark.parametrize(("quarter", "status"), [(2, "no_target"), (4, "near_miss")])
    def test_annual_only_in_q4(self, quarter, status):
        # NCMP reception participation: 90.3% against 93%.
        r = kpi(target_kind="annual", target=93.0, actual=90.3, quarter=quarter)
        assert assess_kpi(r, amber_margin_pct=10).status == status

    def test_no_target_no_data_and_information_only(self):
        assert assess_kpi(kpi(target_kind="none", target=None, actual=48.0), 10).status == "no_target"
        assert assess_kpi(kpi(target=None, actual=48.0), 10).status == "no_target"
        got = assess_kpi(kpi(actual=None), 10)
        assert (got.status, got.shortfall_pct) == ("no_data", None)
        info = assess_kpi(kpi(actual=30.0, information_only=True), 10)
        assert info.status == "no_target" and "information only" in info.basis

    def test_zero_target(self):
        assert assess_kpi(kpi(unit="count", target=0.0, actual=4.0), 10).status == "met"
        got = assess_kpi(kpi(unit="count", polarity="low_is_good", target=0.0, actual=1.0), 10)
        assert (got.status, got.shortfall_pct) == ("missed", None)

    def test_invalid_inputs(self):
        with pytest.raises(ValueError, match="quarter"):
            kpi(quarter=5)
        with pytest.raises(ValueError, match="target_kind"):
            kpi(target_kind="monthly")
        with pytest.raises(ValueError, match="amber_margin_pct"):
            assess_kpi(kpi(actual=1.0), amber_margin_pct=-1)


# --- service RAG ----------------------------------------------------------------------------------


def a(code: str, status: str, shortfall: float | None = None) -> KpiAssessment:
    return KpiAssessment(status, shortfall, f"basis of {code}", code)  # type: ignore[arg-type]


class TestServiceRag:
    def test_green_when_every_assessed_kpi_met(self):
        got = service_rag(
            [a("new_baby_review", "met", 0.0), a("review_6_8wk", "met", 0.0), a("antenatal", "no_target")],
            return_status="received",
            checks_failed=False,
        )
        assert (got.computed, got.final) == ("Green", "Green")
        assert "new_baby_review" in got.reasons[0] and "review_6_8wk" in got.reasons[0]
        assert "antenatal" not in " ".join(got.reasons)

    def test_amber_when_worst_is_a_near_miss(self):
        got = service_rag(
            [a("x", "met"), a("ncmp_reception", "near_miss", 2.9)], return_status="received", checks_failed=False
        )
        assert got.computed == "Amber"
        assert any("ncmp_reception narrowly missed" in r for r in got.reasons)

    def test_red_when_any_missed(self):
        got = service_rag(
            [a("x", "near_miss", 5.0), a("completers", "missed", 40.0)], return_status="received", checks_failed=False
        )
        assert got.computed == "Red"
        assert any(r.startswith("completers missed its target") for r in got.reasons)
        assert any(r.startswith("x narrowly missed") for r in got.reasons)

    @pytest.mark.parametrize(
        ("status", "failed", "phrase"),
        [
            ("missing", False, "is missing"),
            ("quarantined", False, "was quarantined"),
            ("received", True, "failed its data-quality checks"),
        ],
    )
    def test_grey_for_unreliable_data_even_if_kpis_met(self, status, failed, phrase):
        got = service_rag([a("x", "met", 0.0)], return_status=status, checks_failed=failed)
        assert (got.computed, got.final) == ("Grey", "Grey")
        assert any(phrase in r for r in got.reasons)
        assert any("unreliable" in r for r in got.reasons)

    def test_grey_when_nothing_could_be_assessed(self):
        got = service_rag(
            [a("referrals", "no_target"), a("pct_completing", "no_data")], return_status="received", checks_failed=False
        )
        assert got.computed == "Grey"
        assert "No KPI could be assessed against a target this quarter." in got.reasons
        assert any("pct_completing" in r for r in got.reasons)

    def test_no_data_kpis_named_but_rating_from_the_rest(self):
        got = service_rag([a("x", "met", 0.0), a("y", "no_data")], return_status="received", checks_failed=False)
        assert got.computed == "Green"
        assert got.reasons[-1] == "No figure this quarter for KPIs with a target: y."

    def test_override_shows_both_ratings(self):
        override = Override(
            "Amber", "Data questions raised with LPT.", "Consultant in Public Health", date(2017, 11, 9)
        )
        got = service_rag([a("x", "met", 0.0)], return_status="received", checks_failed=False, override=override)
        assert (got.computed, got.final, got.override) == ("Green", "Amber", override)
        assert got.overridden
        # The reasons explain the computed rating; the override's reason is printed once, from the override.
        assert not any("Data questions raised" in r for r in got.reasons)

    def test_override_object_validates(self):
        with pytest.raises(ValueError, match="rating"):
            Override("Purple", "r", "Consultant in Public Health", date(2017, 11, 9))
        with pytest.raises(ValueError, match="reason"):
            Override("Amber", "  ", "Consultant in Public Health", date(2017, 11, 9))


# --- override files -------------------------------------------------------------------------------

GOOD = """\
quarter: 2017-18-Q2
overrides:
  - service: healthy_together
    rating: Amber
    reason: Data questions raised with LPT.
    decided_by: Consultant in Public Health
    decided_on: 2017-11-09
"""


def write(tmp_path: Path, text: str, name: str = "2017-18-Q2.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class TestOverrideFiles:
    def test_sample_file_in_config_loads_and_names_real_services(self):
        services = [p.stem for p in (CONFIG_DIR / "services").glob("*.yaml") if not p.name.startswith("_")]
        got = load_overrides(CONFIG_DIR / "overrides" / "2017-18-Q2.yaml", known_services=services)
        assert list(got)[0] == "healthy_together" and len(got) == 14
        # Every other entry is a rating the report published, for a service no rating can be computed for.
        assert all(o.reason.startswith("As published: rated ") for c, o in got.items() if c != "healthy_together")
        o = got["healthy_together"]
        assert (o.rating, o.decided_by) == ("Amber", "Consultant in Public Health")
        assert o.decided_on.year == 2017 and o.decided_on.month == 11
        assert "123%" in o.reason

    def test_good_file(self, tmp_path):
        got = load_overrides(write(tmp_path, GOOD))
        assert got["healthy_together"] == Override(
            "Amber", "Data questions raised with LPT.", "Consultant in Public Health", date(2017, 11, 9)
        )

    def test_missing_reason_names_file_and_key(self, tmp_path):
        path = write(tmp_path, GOOD.replace("    reason: Data questions raised with LPT.\n", ""))
        with pytest.raises(ConfigError) as exc:
            load_overrides(path)
        assert "2017-18-Q2.yaml: overrides.0.reason: Field required" in str(exc.value)

    def test_unknown_rating_names_file_and_key(self, tmp_path):
        path = write(tmp_path, GOOD.replace("rating: Amber", "rating: Purple"))
        with pytest.raises(ConfigError) as exc:
            load_overrides(path)
        assert "2017-18-Q2.yaml: overrides.0.rating:" in str(exc.value)
        assert "'Purple'" in str(exc.value)

    def test_blank_decided_by_and_bad_date(self, tmp_path):
        path = write(tmp_path, GOOD.replace("decided_by: Consultant in Public Health", "decided_by: '  '"))
        with pytest.raises(ConfigError, match=r"overrides\.0\.decided_by: Value error, must not be blank"):
            load_overrides(path)
        path = write(tmp_path, GOOD.replace("2017-11-09", "9th November"))
        with pytest.raises(ConfigError, match=r"overrides\.0\.decided_on"):
            load_overrides(path)

    def test_quarter_must_match_file_name(self, tmp_path):
        path = write(tmp_path, GOOD, name="2017-18-Q3.yaml")
        with pytest.raises(ConfigError, match=r"2017-18-Q3\.yaml: quarter: must match the file name"):
            load_overrides(path)

    def test_duplicate_and_unknown_services(self, tmp_path):
        entry = GOOD.split("overrides:\n")[1]
        with pytest.raises(ConfigError, match=r"overrides: Value error, services listed more than once"):
            load_overrides(write(tmp_path, GOOD + entry))
        with pytest.raises(ConfigError, match=r"overrides\.0\.service: unknown service 'healthy_together'"):
            load_overrides(write(tmp_path, GOOD), known_services=["cipc"])

    def test_unknown_key_rejected(self, tmp_path):
        with pytest.raises(ConfigError, match=r"overrides\.0\.approved: unknown key"):
            load_overrides(write(tmp_path, GOOD + "    approved: yes\n"))
