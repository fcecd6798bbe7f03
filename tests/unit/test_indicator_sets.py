"""The indicator sets under config/indicator_sets load, are consistent, and fail loudly when broken."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from public_health.config import ConfigError, load_indicator_set, load_settings

ROOT = Path(__file__).resolve().parents[2]
SET_DIR = ROOT / "config" / "indicator_sets"
SET_NAMES = sorted(p.stem for p in SET_DIR.glob("*.yaml"))

# One group per service page of the 2017/18 Q2 performance report that lists PHOF indicators.
REPORT_SERVICE_GROUPS_WITH_PHOF = {
    "healthy_together",
    "healthy_eating_schools",
    "oral_health_promotion",
    "rse_training",
    "integrated_sexual_health",
    "larc_gp",
    "ehc_pharmacies",
    "hiv_prevention_positive",
    "hiv_prevention_african",
    "hiv_prevention_msm",
    "hiv_prevention_sex_workers",
    "food_growing_saffron_acres",
    "food_growing_conservation",
    "healthy_lifestyles",
    "health_trainers_probation",
    "active_lifestyle",
    "adult_weight_management",
    "smoking_cessation",
    "nhs_health_checks",
    "substance_misuse_woodlands",
    "substance_misuse_homegroup",
    "substance_misuse_anchor_centre",
    "suicide_awareness",
}
# Services in the report with no PHOF indicator: CIPC (empty box) and Turning Point (redacted).
REPORT_SERVICE_GROUPS_WITHOUT_PHOF = {"cipc", "substance_misuse_turning_point"}


def test_the_three_sets_exist_and_settings_name_only_existing_sets() -> None:
    assert {"phof", "performance_report_services", "sexual_reproductive_health"} <= set(SET_NAMES)
    settings = load_settings(env={})
    assert set(settings.indicator_sets) <= set(SET_NAMES)


@pytest.mark.parametrize("name", SET_NAMES)
def test_every_set_loads_with_unique_positive_int_ids(name: str) -> None:
    ind_set = load_indicator_set(name)
    assert ind_set.name == name
    assert ind_set.source.strip()
    ids = ind_set.indicator_ids
    assert all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)
    assert len(ids) == len(set(ids)), f"{name}: duplicate ids"
    for ref in ind_set.indicators:
        assert ref.name.strip(), f"{name}: indicator {ref.id} has no name"


@pytest.mark.parametrize("name", SET_NAMES)
def test_groups_reference_listed_ids_and_have_unique_codes(name: str) -> None:
    ind_set = load_indicator_set(name)
    known = set(ind_set.indicator_ids)
    codes = [g.code for g in ind_set.groups]
    assert len(codes) == len(set(codes)), f"{name}: duplicate group codes"
    for group in ind_set.groups:
        assert set(group.indicator_ids) <= known, f"{name}: group {group.code} names unlisted ids"
        assert len(group.indicator_ids) == len(set(group.indicator_ids))


def test_phof_set_takes_the_whole_profile_and_lists_real_ids() -> None:
    phof = load_indicator_set("phof")
    assert phof.profile_id == 19
    assert len(phof.indicators) >= 40
    # Anchors checked against public sources (see the file's comments).
    by_id = {i.id: i for i in phof.indicators}
    assert by_id[90362].phof_code == "0.1i"
    assert by_id[20401].phof_code == "2.04"
    assert by_id[92443].phof_code == "2.14"


def test_performance_report_has_a_group_for_every_service_page_with_phof_indicators() -> None:
    report = load_indicator_set("performance_report_services")
    groups = {g.code: g for g in report.groups}
    assert set(groups) == REPORT_SERVICE_GROUPS_WITH_PHOF | REPORT_SERVICE_GROUPS_WITHOUT_PHOF
    for code in REPORT_SERVICE_GROUPS_WITH_PHOF:
        assert groups[code].indicator_ids, f"{code}: the report lists PHOF indicators for this service"
    for code in REPORT_SERVICE_GROUPS_WITHOUT_PHOF:
        assert groups[code].indicator_ids == []
    # Every listed indicator is used by at least one service page.
    used = {i for g in report.groups for i in g.indicator_ids}
    assert used == set(report.indicator_ids)
    # Codes are as the report numbers them.
    codes = {i.phof_code for i in report.indicators}
    assert {"2.04", "3.04", "4.02", "2.12", "2.14a", "2.22v"} <= codes


def test_sexual_health_set_groups_by_strategy_themes() -> None:
    srh = load_indicator_set("sexual_reproductive_health")
    assert {g.code for g in srh.groups} == {"sexually_transmitted_infections", "hiv", "unplanned_pregnancy"}
    assert 20401 in srh.indicator_ids and 90791 in srh.indicator_ids


# Broken copies ------------------------------------------------------------------------------------


def _write_copy(tmp_path: Path, name: str, mutate) -> Path:
    raw = yaml.safe_load((SET_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    target = tmp_path / "indicator_sets"
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", SET_NAMES)
def test_a_misspelt_key_fails_naming_file_and_key(tmp_path: Path, name: str) -> None:
    def mutate(raw: dict) -> None:
        raw["indicators"][0]["phof_cod"] = raw["indicators"][0].pop("phof_code", "x")

    _write_copy(tmp_path, name, mutate)
    with pytest.raises(ConfigError) as exc:
        load_indicator_set(name, config_dir=tmp_path)
    message = str(exc.value)
    assert f"{name}.yaml" in message
    assert "indicators.0.phof_cod" in message
    assert "unknown key" in message


@pytest.mark.parametrize("name", SET_NAMES)
def test_a_string_id_fails_naming_file_and_key(tmp_path: Path, name: str) -> None:
    def mutate(raw: dict) -> None:
        raw["indicators"][1]["id"] = "ninety-thousand"

    _write_copy(tmp_path, name, mutate)
    with pytest.raises(ConfigError) as exc:
        load_indicator_set(name, config_dir=tmp_path)
    message = str(exc.value)
    assert f"{name}.yaml" in message
    assert "indicators.1.id" in message
    assert "ninety-thousand" in message


def test_a_wrong_top_level_key_fails(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:
        raw["profile"] = raw.pop("profile_id")

    _write_copy(tmp_path, "phof", mutate)
    with pytest.raises(ConfigError, match=r"phof\.yaml: profile: unknown key"):
        load_indicator_set("phof", config_dir=tmp_path)


def test_a_group_naming_an_unlisted_id_fails(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:
        raw["groups"][0]["indicator_ids"].append(999999)

    _write_copy(tmp_path, "performance_report_services", mutate)
    with pytest.raises(ConfigError, match=r"performance_report_services\.yaml: .*999999"):
        load_indicator_set("performance_report_services", config_dir=tmp_path)


def test_a_file_whose_name_key_differs_from_its_file_name_fails(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:
        raw["name"] = "something_else"

    _write_copy(tmp_path, "sexual_reproductive_health", mutate)
    with pytest.raises(ConfigError, match=r"sexual_reproductive_health\.yaml: name"):
        load_indicator_set("sexual_reproductive_health", config_dir=tmp_path)


def test_an_unknown_profile_fails_naming_file_and_key(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:
        raw["profile_id"] = 20

    _write_copy(tmp_path, "phof", mutate)
    with pytest.raises(ConfigError) as exc:
        load_indicator_set("phof", config_dir=tmp_path)
    message = str(exc.value)
    assert "phof.yaml: profile_id: unknown Fingertips profile 20" in message
    assert "19 (Public Health Outcomes Framework)" in message and "KNOWN_PROFILES" in message


def test_a_known_profile_other_than_phof_loads(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:
        raw["profile_id"] = 45   # Sexual and Reproductive Health Profiles

    _write_copy(tmp_path, "sexual_reproductive_health", mutate)
    assert load_indicator_set("sexual_reproductive_health", config_dir=tmp_path).profile_id == 45
