"""BCF calculations and configuration, checked against the Leicestershire HWB papers of 2016.

Worked examples come from /work/shared/reference/leicestershire-hwb-minutes-and-reports-2016.txt:

* the BCF planning template of 2 March 2016, sheet "5. HWB Metrics", section 5.1 "HWB NEA
  Activity Plan" (CCG plans and resident shares -> HWB plan 15,387 / 15,862 / 15,623 / 15,620,
  total 62,492; reduction 427 / 440 / 433 / 433 = 1,733; plan after reduction 14,960 / 15,422 /
  15,190 / 15,187 = 60,759; risk share £636,230 / £655,600 / £645,170 / £645,170 = £2,582,170
  at £1,490 an admission; reduction 2.78% / 2.77% / 2.77% / 2.77%, 2.77% overall);
* the report on the fourth quarterly BCF return (paragraph 15): total emergency admissions,
  January to December 2015, planned 13,746 / 13,909 / 14,209 / 14,409 = 56,273, forecast
  14,303 / 14,747 / 14,808 / 15,400 = 59,258, variance 557 / 838 / 599 / 991 = 2,985;
  paragraphs 10 and 23-24 for the 3.5% target (58,314 -> 56,273, 2,041 admissions) and the £3m
  pay-for-performance pot.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from public_health.config import ConfigError
from public_health.reports.bcf.calculations import (
    apportion_nea,
    pay_for_performance,
    plan_after_reduction,
    plan_vs_actual,
    planned_reduction,
    reduction_pct,
    risk_share_value,
)
from public_health.reports.bcf.config import load_bcf_year

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

# Template 5.1 published outputs.
HWB_PLAN = [15387, 15862, 15623, 15620]
HWB_PLAN_TOTAL = 62492
REDUCTION = [427, 440, 433, 433]
REDUCTION_TOTAL = 1733
AFTER = [14960, 15422, 15190, 15187]
AFTER_TOTAL = 60759
RISK_SHARE = [636230, 655600, 645170, 645170]
RISK_SHARE_TOTAL = 2582170
REDUCTION_PCT = ["2.78%", "2.77%", "2.77%", "2.77%"]


@pytest.fixture(scope="module")
def y1617():
    return load_bcf_year("2016-17", CONFIG_DIR)


# --- 2016/17 NEA plan (template section 5.1) -----------------------------------------------------


def test_config_holds_the_papers_ccg_plans(y1617):
    nea = y1617.nea_plan
    assert len(nea.ccgs) == 8
    # 'CCG Total Non-Elective Admission Plan' totals row: 49,548 / 50,422 / 50,524 / 50,019 = 200,513
    ccg_totals = [sum(c.quarterly_plan[q] for c in nea.ccgs) for q in range(4)]
    assert ccg_totals == [49548, 50422, 50524, 50019]
    assert sum(ccg_totals) == 200513
    assert nea.published_hwb_plan == HWB_PLAN
    assert y1617.cost_per_admission.value == 1490
    # Each CCG's printed quarters add up to its printed 'Total (Q1 - Q4)', mapped and unmapped.
    for ccg in nea.ccgs:
        assert sum(ccg.quarterly_plan) == ccg.plan_total.value
        assert abs(sum(ccg.published_hwb_plan) - ccg.hwb_plan_total.value) <= 1, ccg.name
    assert [t.value for t in nea.ccg_plan_totals] == [49548, 50422, 50524, 50019]
    assert nea.ccg_plan_total.value == 200513


def test_apportion_nea_reproduces_hwb_plan_within_share_rounding(y1617):
    """The template printed shares to 0.1% but mapped with unrounded ones.

    With the printed shares the HWB plan comes within 0.1% of the published figures (Q1 15,378 vs
    15,387); it cannot be exact, and the test says so rather than fudging the shares.
    """
    hwb = apportion_nea(y1617.nea_plan.ccgs)
    assert [round(v) for v in hwb] == [15378, 15853, 15613, 15611]
    for got, published in zip(hwb, HWB_PLAN, strict=True):
        assert got == pytest.approx(published, rel=1e-3)
    assert sum(hwb) == pytest.approx(HWB_PLAN_TOTAL, rel=1e-3)


def test_apportion_nea_with_unrounded_shares_matches_template(y1617):
    """Shares recovered from the template's 'Total (Q1 - Q4)' columns (CCG plan, mapped HWB plan)
    reproduce its quarterly HWB plan to the admission: the method is the template's, and the only
    gap above is the rounding of the printed shares. (Partly circular by construction: the annual
    total is then exact by definition; the quarterly figures are the real check.)"""
    published_annual = {  # 'HWB Non-Elective Admission Plan', Total (Q1 - Q4) column
        "NHS Corby CCG": 49,
        "NHS East Leicestershire and Rutland CCG": 25340,
        "NHS Leicester City CCG": 2929,
        "NHS Rushcliffe CCG": 484,
        "NHS South West Lincolnshire CCG": 649,
        "NHS Southern Derbyshire CCG": 335,
        "NHS Warwickshire North CCG": 280,
        "NHS West Leicestershire CCG": 32426,
    }
    assert sum(published_annual.values()) == HWB_PLAN_TOTAL
    ccgs = [
        {"quarterly_plan": c.quarterly_plan, "resident_share": published_annual[c.name] / sum(c.quarterly_plan)}
        for c in y1617.nea_plan.ccgs
    ]
    hwb = apportion_nea(ccgs)
    assert [round(v) for v in hwb] == HWB_PLAN
    assert round(sum(hwb)) == HWB_PLAN_TOTAL


def test_apportion_nea_is_sum_of_plan_times_share():
    ccgs = [
        {"quarterly_plan": [100, 200, 300, 400], "resident_share": 0.5},
        {"quarterly_plan": [10, 10, 10, 10], "resident_share": 1.0},
    ]
    assert apportion_nea(ccgs) == [60.0, 110.0, 160.0, 210.0]
    with pytest.raises(ValueError):
        apportion_nea([{"quarterly_plan": [1, 1, 1, 1], "resident_share": 1.2}])
    with pytest.raises(ValueError):
        apportion_nea([])


def test_reduction_plan_after_reduction_and_risk_share(y1617):
    nea = y1617.nea_plan
    reduction = planned_reduction(nea.published_hwb_plan, reduction=nea.reduction_values)
    assert reduction == REDUCTION
    assert sum(reduction) == REDUCTION_TOTAL

    after = plan_after_reduction(nea.published_hwb_plan, reduction)
    assert after == AFTER
    assert sum(after) == AFTER_TOTAL
    # The NEA metric's plan in the config is the same plan after reduction.
    assert list(y1617.metric("non_elective_admissions").plan_values.values()) == AFTER
    assert nea.after_reduction_total.value == AFTER_TOTAL

    cost = y1617.cost_per_admission.value
    values = [risk_share_value(r, cost) for r in reduction]
    assert values == RISK_SHARE
    assert risk_share_value(REDUCTION_TOTAL, cost) == RISK_SHARE_TOTAL
    assert sum(values) == RISK_SHARE_TOTAL
    # ... and the template prints the same risk share.
    assert [v.value for v in nea.risk_share.value] == RISK_SHARE
    assert nea.risk_share.value_total.value == RISK_SHARE_TOTAL

    pcts = [f"{reduction_pct(p, r):.2f}%" for p, r in zip(HWB_PLAN, reduction, strict=True)]
    assert pcts == REDUCTION_PCT
    assert f"{reduction_pct(HWB_PLAN_TOTAL, REDUCTION_TOTAL):.2f}%" == "2.77%"


def test_reduction_by_percentage_and_missing_cost():
    assert planned_reduction([1000, 2000], reduction_pct=3) == pytest.approx([30, 60])
    with pytest.raises(ValueError):
        planned_reduction([1000], reduction=[1], reduction_pct=3)
    with pytest.raises(ValueError):
        planned_reduction([1000])
    assert risk_share_value(100, None) is None


# --- 2015 plan vs forecast of total emergency admissions (Q4 return report, paragraph 15) ---------

PLAN_2015 = {"Jan-Mar 2015": 13746, "Apr-Jun 2015": 13909, "Jul-Sep 2015": 14209, "Oct-Dec 2015": 14409}
FORECAST_2015 = {"Jan-Mar 2015": 14303, "Apr-Jun 2015": 14747, "Jul-Sep 2015": 14808, "Oct-Dec 2015": 15400}


def test_2015_plan_forecast_and_variance_by_quarter_and_total():
    rows = plan_vs_actual(PLAN_2015, FORECAST_2015, "lower")
    assert [r.period for r in rows] == list(PLAN_2015)
    assert [r.variance for r in rows] == [557, 838, 599, 991]
    last = rows[-1]
    assert (last.ytd_plan, last.ytd_actual, last.ytd_variance) == (56273, 59258, 2985)
    # Above plan on an admissions metric: not on track in any quarter.
    assert [r.on_track for r in rows] == [False] * 4
    # 991 admissions above plan in October-December (paragraph 13): 6.9% over.
    assert round(last.variance_pct, 1) == 6.9
    assert round(last.ytd_variance / last.ytd_plan * 100, 1) == 5.3


def test_2015_target_is_a_3_5_pct_reduction_from_the_revised_baseline():
    # Paragraph 10: 3.5% reduction from 58,314 to 56,273, i.e. 2,041 admissions.
    reduction = planned_reduction([58314], reduction_pct=3.5)[0]
    assert round(reduction) == 2041
    assert round(plan_after_reduction([58314], [reduction])[0]) == 56273
    assert sum(PLAN_2015.values()) == 56273


# --- missing actuals -----------------------------------------------------------------------------


def test_missing_actual_is_none_never_zero():
    plan = {"Q1": 14960, "Q2": 15422, "Q3": 15190, "Q4": 15187}
    rows = plan_vs_actual(plan, {"Q1": 14000, "Q2": None}, "lower")
    q1, q2, q3, _ = rows
    assert q1.on_track is True and q1.variance == -960
    for row in (q2, q3):
        assert row.actual is None
        assert row.variance is None and row.variance_pct is None
        assert row.ytd_actual is None and row.ytd_variance is None
        assert row.on_track is None
    # The plan side keeps accumulating.
    assert q3.ytd_plan == 14960 + 15422 + 15190


def test_plan_vs_actual_polarity_and_non_cumulative():
    rows = plan_vs_actual({"year": 84.2}, {"year": 85.0}, "higher", cumulative=False)
    assert rows[0].on_track is True and rows[0].ytd_plan is None
    rows = plan_vs_actual({"year": 84.2}, {"year": 80.0}, "higher", cumulative=False)
    assert rows[0].on_track is False
    assert plan_vs_actual({"Q1": 1}, {"Q1": 2}, "neither")[0].on_track is None
    with pytest.raises(ValueError):
        plan_vs_actual({"Q1": 1}, {"Q5": 2}, "lower")
    with pytest.raises(ValueError):
        plan_vs_actual({"Q1": 1}, {}, "up")  # type: ignore[arg-type]


# --- pay for performance (Q4 return report, paragraphs 10, 18, 23-24) -----------------------------


def test_pay_for_performance_proportional_capped_and_floored():
    pot = 3_000_000
    # 2015: target 2,041 fewer admissions than the 58,314 baseline; actual/forecast was 59,258,
    # an increase of 944, so no performance payment is earned by formula (the £2m paid in was a
    # local agreement recognising the schemes, paragraph 24a, not a proportional calculation).
    assert pay_for_performance(2041, 58314 - 59258, pot) == 0
    # Proportional: half the reduction releases half the pot.
    assert pay_for_performance(2041, 2041 / 2, pot) == pytest.approx(1_500_000)
    # The four schemes avoided 1,581 of 2,041 (paragraph 18): 77.5% of the pot, if paid pro rata.
    assert pay_for_performance(2041, 1581, pot) == pytest.approx(pot * 1581 / 2041)
    # Capped at 100%.
    assert pay_for_performance(2041, 3000, pot) == pot
    # Unknown achievement is not zero achievement.
    assert pay_for_performance(2041, None, pot) is None
    with pytest.raises(ValueError):
        pay_for_performance(0, 10, pot)


# --- configuration -------------------------------------------------------------------------------


def test_a_count_metric_cannot_be_named_per_100000(tmp_path):
    text = (CONFIG_DIR / "bcf" / "2016-17.yaml").read_text(encoding="utf-8")
    old = "name: Total non-elective admissions into hospital (general and acute), Leicestershire HWB residents"
    assert old in text
    bad = text.replace(old, "name: Total non-elective admissions into hospital (general and acute) per 100,000 population")
    with pytest.raises(ConfigError, match=r"metrics\.3: Value error, a metric counted in admissions"):
        load_bcf_year("2016-17", _copy_config(tmp_path, bad))


def test_conditions_need_an_answer_or_a_reason(tmp_path):
    from public_health.reports.bcf.config import load_conditions

    (tmp_path / "bcf").mkdir()
    text = (CONFIG_DIR / "bcf" / "2015-16.conditions.yaml").read_text(encoding="utf-8")
    (tmp_path / "bcf" / "2015-16.conditions.yaml").write_text(text.replace("unanswered: >-", "reason: >-"))
    with pytest.raises(ConfigError, match="reason: unknown key"):
        load_conditions("2015-16", tmp_path)
    start = text.index("unanswered: >-")
    (tmp_path / "bcf" / "2015-16.conditions.yaml").write_text(text[:start] + text[text.index("conditions:"):])
    with pytest.raises(ConfigError, match=r"have no answer: answer them or say why in `unanswered`"):
        load_conditions("2015-16", tmp_path)
    bad = (CONFIG_DIR / "bcf" / "2016-17.conditions.yaml").read_text(encoding="utf-8").replace(
        'answer: {text: "Yes", line: 2620}', 'answer: {text: "Maybe", line: 2620}')
    (tmp_path / "bcf" / "2016-17.conditions.yaml").write_text(bad)
    with pytest.raises(ConfigError, match="answer must be one of"):
        load_conditions("2016-17", tmp_path)


def test_citations_name_the_paper_and_the_lines():
    from public_health.reports.bcf.config import load_papers

    papers = load_papers(CONFIG_DIR)
    assert papers.cite(11074) == "Item 12, line 11074"
    assert papers.cite(11076, 11074, 11075) == "Item 12, lines 11074-11076"
    assert papers.cite(11057, 11058, 11059, 11060, 11074) == "Item 12, lines 11057-11060, 11074"
    assert papers.cite(613, 2137) == "Item 5, line 613; Item 5 template, line 2137"
    assert papers.paper_of(5000) is None
    assert papers.legend("Item 5 template, line 2137")[0].startswith("Item 5 template = HWB 10 March 2016")
    assert len(papers.legend("Item 5 template, line 2137")) == 1


def test_2016_17_metrics_are_the_six_the_papers_name(y1617):
    names = {m.code: " ".join(m.name.split()) for m in y1617.metrics}
    assert len(names) == 6
    assert names["residential_admissions_65"].startswith("Long-term support needs of older people (aged 65")
    assert names["reablement_91_days"].startswith("Proportion of older people (65 and over) who were still at home 91")
    assert names["delayed_transfers_of_care"] == (
        "Delayed Transfers of Care (delayed days) from hospital per 100,000 population (aged 18+)"
    )
    assert names["non_elective_admissions"].startswith("Total non-elective admissions")
    assert names["patient_experience"] == "Patient/service user experience"
    assert names["falls_admissions_65"].startswith("Emergency admissions for injuries due to falls")
    plans = {m.code: m.plan_values for m in y1617.metrics}
    assert plans["residential_admissions_65"] == {"year": 630.1}
    assert plans["reablement_91_days"] == {"year": 84.2}
    assert plans["delayed_transfers_of_care"] == {"Q1": 714.0, "Q2": 699.7, "Q3": 647.7, "Q4": 662.1}
    assert plans["patient_experience"] == {"year": 63.5}
    assert plans["falls_admissions_65"] == {"year": 1676.1}
    falls = y1617.metric("falls_admissions_65").actual_source
    assert (falls.kind, falls.indicator_id) == ("fingertips", 22401)
    assert y1617.hwb.area_code == "E10000018"


def test_plan_rates_match_template_numerators_and_denominators():
    # Template 5.2-5.6: rate = numerator / denominator.
    assert round(865 / 137280 * 100000, 1) == 630.1
    assert round(379 / 450 * 100, 1) == 84.2
    assert round(3841 / 537924 * 100000, 1) == 714.0
    assert round(3586 / 541613 * 100000, 1) == 662.1
    assert round(2301 / 137280 * 100000, 1) == 1676.1
    assert round(3082 / 4856 * 100, 1) == 63.5


def test_2015_16_plans_are_the_templates_planned_15_16_columns():
    cfg = load_bcf_year("2015-16", CONFIG_DIR)
    assert [m.code for m in cfg.metrics] == [m.code for m in load_bcf_year("2016-17", CONFIG_DIR).metrics]
    nea = cfg.metric("non_elective_admissions")
    assert sum(nea.plan_values.values()) == 56337      # sheet 5b 'Leicestershire 15/16 Plan' total
    assert round(898 / 133952 * 100000, 1) == cfg.metric("residential_admissions_65").plan_values["year"]
    assert round(491 / 599 * 100, 1) == cfg.metric("reablement_91_days").plan_values["year"]
    assert round(3021 / 4856 * 100, 1) == cfg.metric("patient_experience").plan_values["year"]
    assert round(2331 / 133952 * 100000, 1) == cfg.metric("falls_admissions_65").plan_values["year"]
    dtoc = cfg.metric("delayed_transfers_of_care")
    rate = dtoc.actual_source.rate
    printed = [4417, 4103, 5622, 5656]
    for q, numerator in enumerate(printed, start=1):
        assert abs(numerator / rate.denominator(q) * rate.per - dtoc.plan_values[f"Q{q}"]) < 0.11
    # The 15/16 actuals (Q1 & Q2) and forecasts (Q3 & Q4) the template prints are exact on these populations.
    for q, (numerator, printed_rate) in enumerate([(3826, 716.2), (3747, 701.4), (3466, 648.8), (3572, 664.0)], 1):
        assert round(numerator / rate.denominator(q) * rate.per, 1) == printed_rate


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("Q1: {value: 534195,", "Q5: {value: 534195,", "population keys must be Q1..Q4 or 'year'"),
        ("Q1: {value: 534195,", "Q1: {value: 0,", "population must be positive"),
        ("      rate:\n        per: 100000\n", "      denominator_kpi_code: x\n      rate:\n        per: 100000\n",
         "give rate or denominator_kpi_code, not both"),
        ("      kind: fingertips\n      indicator_id: 22401\n",
         "      kind: fingertips\n      indicator_id: 22401\n      kpi_code: x\n",
         "only for kind 'local_return'"),
    ],
)
def test_config_local_return_sources_are_checked(tmp_path, old, new, message):
    text = (CONFIG_DIR / "bcf" / "2015-16.yaml").read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_bcf_year("2015-16", _copy_config(tmp_path, text.replace(old, new, 1), "2015-16"))


@pytest.mark.parametrize("year", ["2025-26", "2026-27"])
def test_later_years_have_three_metrics_and_no_invented_plans(year):
    cfg = load_bcf_year(year, CONFIG_DIR)
    assert [m.code for m in cfg.metrics] == ["emergency_admissions_65", "discharge_delay", "residential_admissions_65"]
    assert all(m.plan == {} for m in cfg.metrics)
    assert cfg.nea_plan is None
    assert cfg.source


def _copy_config(tmp_path: Path, text: str, year: str = "2016-17") -> Path:
    (tmp_path / "bcf").mkdir()
    (tmp_path / "bcf" / f"{year}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_config_error_names_file_and_key(tmp_path):
    text = (CONFIG_DIR / "bcf" / "2016-17.yaml").read_text(encoding="utf-8")
    bad = text.replace("resident_pct: {value: 85.3,", "resident_pct: {value: 853,")
    cfg_dir = _copy_config(tmp_path, bad)
    with pytest.raises(ConfigError) as exc:
        load_bcf_year("2016-17", cfg_dir)
    msg = str(exc.value)
    assert "bcf/2016-17.yaml" in msg
    assert "nea_plan.ccgs.1: Value error, resident_pct must be a percentage between 0 and 100" in msg


def test_config_error_unknown_key_and_bad_polarity(tmp_path):
    text = (CONFIG_DIR / "bcf" / "2016-17.yaml").read_text(encoding="utf-8")
    bad = text.replace("cost_per_admission: {value", "cost_per_admision: {value").replace(
        "polarity: higher", "polarity: up", 1
    )
    with pytest.raises(ConfigError) as exc:
        load_bcf_year("2016-17", _copy_config(tmp_path, bad))
    msg = str(exc.value)
    assert "bcf/2016-17.yaml: cost_per_admision: unknown key" in msg
    assert "bcf/2016-17.yaml: metrics.1.polarity" in msg


def test_config_error_wrong_year_and_missing_file(tmp_path):
    shutil.copytree(CONFIG_DIR / "bcf", tmp_path / "bcf")
    (tmp_path / "bcf" / "2017-18.yaml").write_text(
        (CONFIG_DIR / "bcf" / "2016-17.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"2017-18\.yaml: planning_year"):
        load_bcf_year("2017-18", tmp_path)
    with pytest.raises(ConfigError, match="file not found"):
        load_bcf_year("2030-31", tmp_path)


def test_config_fingertips_source_needs_indicator_id(tmp_path):
    text = (CONFIG_DIR / "bcf" / "2016-17.yaml").read_text(encoding="utf-8")
    bad = text.replace("      indicator_id: 22401\n", "")
    with pytest.raises(ConfigError, match=r"metrics\.5\.actual_source: Value error, kind 'fingertips' needs"):
        load_bcf_year("2016-17", _copy_config(tmp_path, bad))


# --- sections built from the papers --------------------------------------------------------------


def test_pay_for_performance_section_works_the_formula_and_flags_a_slip():
    from public_health.reports.bcf.config import Figure, load_papers
    from public_health.reports.bcf.sections import pay_for_performance_section

    papers = load_papers(CONFIG_DIR)
    p4p = load_bcf_year("2015-16", CONFIG_DIR).pay_for_performance
    section = pay_for_performance_section(p4p, papers)
    amounts = {a.label: a for a in section.amounts}
    assert amounts["Formula result"].value == 0            # admissions rose: nothing earned by formula
    assert amounts["Agreed: kept by the CCGs"].value + amounts["Agreed: paid into the BCF"].value == 3_000_000
    assert section.table.row("Activity variance").values == [557, 838, 599, 991, 2985]
    assert section.notes == []                             # the printed table adds up
    slipped = p4p.model_copy(update={"variance_total": Figure(value=2986, line=11076)})
    notes = pay_for_performance_section(slipped, papers).notes
    assert notes == ["The papers disagree with themselves: forecast less plan works out at 557 / 838 / 599 / 991 / "
                     "2,985, but Item 12, lines 11067-11070, 11076 prints 557 / 838 / 599 / 991 / 2,986."]
