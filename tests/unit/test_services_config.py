"""The service and KPI configuration in config/services loads, matches the published report, and rejects bad copies."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from public_health.config import CONFIG_DIR, ConfigError
from public_health.returns.services import ServiceConfigError, load_service, load_services

EXPECTED_CODES = [
    "active_lifestyle",
    "adult_weight_management",
    "cipc",
    "ehc_pharmacies",
    "food_growing_conservation",
    "food_growing_saffron_acres",
    "health_trainers_probation",
    "healthy_eating_schools",
    "healthy_lifestyles",
    "healthy_together",
    "hiv_prevention_african",
    "hiv_prevention_msm",
    "hiv_prevention_positive",
    "hiv_prevention_sex_workers",
    "integrated_sexual_health",
    "larc_gp",
    "nhs_health_checks",
    "oral_health_promotion",
    "rse_training",
    "smoking_cessation",
    "substance_misuse_anchor",
    "substance_misuse_homegroup",
    "substance_misuse_turning_point",
    "substance_misuse_woodlands",
    "suicide_awareness",
]


def test_all_25_services_on_the_contents_page_load():
    services = {c: s for c, s in load_services().items() if s.performance_report}
    assert len(services) == 25
    assert list(services) == EXPECTED_CODES
    for code, service in services.items():
        assert service.code == code
        assert service.return_due_days == 30
        assert service.track_from is None and service.track_until is None
        assert service.rag_rules.amber_margin_pct == 10
        if not service.redacted:
            assert service.kpis and service.provider and service.purpose


def test_healthy_together_new_baby_review_2017_18_q2():
    ht = load_service("healthy_together")
    assert ht.provider == "Leicestershire Partnership Trust"
    kpi = ht.kpi("ht_new_birth_visit_10_14d")
    assert kpi.unit == "percent" and kpi.target == 90
    assert (kpi.numerator_kpi, kpi.denominator_kpi) == ("ht_nbr_10_14d_num", "ht_nbr_denom")
    q2 = "2017-18-Q2"
    assert ht.figure("ht_new_birth_visit_10_14d", q2).value == 96
    assert ht.figure("ht_nbr_10_14d_num", q2).value == 1232
    assert ht.figure("ht_nbr_denom", q2).value == 1284
    assert round(1232 / 1284 * 100) == 96
    # the report's own slip is kept for the checks to catch
    assert ht.figure("ht_bf_status_68w_pct", q2).value == 123


def test_redacted_service_is_present_and_marked():
    tp = load_service("substance_misuse_turning_point")
    assert tp.redacted is True
    assert tp.contents_rag == "Redacted" and tp.reference_rag == "Redacted"
    assert tp.page_in_reference == 48
    assert tp.kpis == [] and tp.provider is None


def _copy(tmp_path: Path) -> Path:
    for name in ("_defaults.yaml", "healthy_together.yaml"):
        shutil.copy(CONFIG_DIR / "services" / name, tmp_path / name)
    return tmp_path / "healthy_together.yaml"


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_copy_loads_from_tmp_path(tmp_path):
    _copy(tmp_path)
    assert list(load_services(config_dir=tmp_path)) == ["healthy_together"]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["kpis"][0].update(colour="red"), "kpis.0.colour"),
        (lambda d: d.update(owner="nobody"), "owner"),
        (lambda d: d["kpis"][4].update(target=150), "kpis.4.target"),
        (lambda d: d["kpis"].pop(3), "numerator_kpi"),
    ],
    ids=["unknown-kpi-key", "unknown-top-key", "percent-target-150", "numerator-kpi-missing"],
)
def test_broken_copy_names_file_and_key(tmp_path, change, key):
    path = _copy(tmp_path)
    _edit(path, change)
    with pytest.raises(ServiceConfigError) as exc:
        load_services(config_dir=tmp_path)
    assert isinstance(exc.value, ConfigError)
    assert "healthy_together.yaml" in str(exc.value)
    assert key in str(exc.value)


def test_file_name_must_equal_code(tmp_path):
    path = _copy(tmp_path)
    path.rename(tmp_path / "other.yaml")
    with pytest.raises(ServiceConfigError, match=r"other\.yaml: code: must equal the file name"):
        load_service("other", config_dir=tmp_path)


def test_the_bcf_activity_return_is_a_return_without_a_report_page():
    others = {c: s for c, s in load_services().items() if not s.performance_report}
    assert list(others) == ["bcf_nhs_activity"]
    bcf = others["bcf_nhs_activity"]
    assert (bcf.track_from.label, bcf.track_until.label, bcf.return_due_days) == ("2015-16-Q1", "2016-17-Q4", 45)
    assert {k.code for k in bcf.kpis} == {"bcf_nea_admissions", "bcf_dtoc_delayed_days"}


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"track_from": "2017-18-Q3", "track_until": "2017-18-Q1"}, "track_from 2017-18-Q3 is after track_until"),
        ({"track_from": "2017-19-Q1"}, "track_from: '2017-19' is not a financial year"),
    ],
)
def test_a_bad_tracking_window_is_named(tmp_path, window, message):
    path = _copy(tmp_path)
    _edit(path, lambda d: d.update(window))
    with pytest.raises(ServiceConfigError, match=re.escape(message)):
        load_services(config_dir=tmp_path)


def test_every_service_has_its_published_ratings():
    for code, service in load_services().items():
        if service.performance_report:
            assert service.reference_rag and service.contents_rag, code


def test_nhs_health_checks_compare_like_with_like():
    """The within-year series is cumulative (Q2 target 8,045); the 5 year series runs from 2013-14 (72,404)."""
    nhc = load_service("nhs_health_checks")
    year, running = nhc.kpi("nhc_checks"), nhc.kpi("nhc_checks_running")
    assert (year.target_kind, year.running_from) == ("cumulative", None)
    assert (running.target_kind, running.running_from.label) == ("running", "2013-14-Q1")
    q2 = "2017-18-Q2"
    assert nhc.figure("nhc_checks", q2, "target").value == 8045
    assert nhc.figure("nhc_checks", q2, "actual").value == 1806
    assert nhc.figure("nhc_checks", q2, "actual_to_date") is None
    assert nhc.figure("nhc_checks_running", q2, "target").value == 72404
    assert nhc.figure("nhc_checks_running", q2, "actual_to_date").value == 55834  # the report's slip, as printed


def test_kpis_without_a_target_are_information_only():
    for code, service in load_services().items():
        if not service.performance_report:
            continue
        for kpi in service.kpis:
            if kpi.target_kind == "none":
                assert kpi.information_only, (code, kpi.code)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["kpis"][4].update(target_kind="running"), "running_from: required for target_kind 'running'"),
        (lambda d: d["kpis"][4].update(running_from="2013-14-Q1"), "running_from: only for target_kind 'running'"),
        (lambda d: d["kpis"][4].update(target_kind="running", running_from="2013-15-Q1"), "kpis.4.running_from"),
        (lambda d: d["reference_figures"][0].update(line=0), "reference_figures.0.line"),
        (lambda d: d["reference_comments"][0].update(line=-3), "reference_comments.0.line"),
    ],
    ids=["running-without-start", "start-without-running", "bad-start", "figure-line-0", "comment-line-negative"],
)
def test_running_kpis_and_lines_are_validated(tmp_path, change, message):
    path = _copy(tmp_path)
    _edit(path, change)
    with pytest.raises(ServiceConfigError, match=re.escape(message)):
        load_services(config_dir=tmp_path)


def test_a_running_kpi_loads(tmp_path):
    path = _copy(tmp_path)
    _edit(path, lambda d: d["kpis"][4].update(target_kind="running", running_from="2013-14-Q1"))
    kpi = load_services(config_dir=tmp_path)["healthy_together"].kpis[4]
    assert kpi.target_kind == "running" and kpi.running_from.label == "2013-14-Q1"
