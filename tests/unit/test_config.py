"""Settings load, environment overrides apply, and a wrong key or value names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from public_health.config import CONFIG_DIR, ConfigError, load_settings

SETTINGS = CONFIG_DIR / "settings.yaml"


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(SETTINGS.read_text())
    mutate(data)
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_repository_settings_load():
    s = load_settings(env={})
    assert s.areas.home == "E10000018"
    assert s.areas.focus == ["E10000018", "E06000016", "E06000017"]
    assert s.schedules.timezone == "Europe/London"
    assert s.warehouse_url.startswith("duckdb:////") and s.warehouse_url.endswith("data/warehouse.duckdb")
    assert s.fingertips.offline is False


def test_environment_overrides():
    s = load_settings(env={"WAREHOUSE_URL": "postgresql+psycopg://loader@db:5432/warehouse",
                           "FINGERTIPS_BASE_URL": "http://127.0.0.1:9/api/", "FINGERTIPS_OFFLINE": "yes"})
    assert s.warehouse_url == "postgresql+psycopg://loader@db:5432/warehouse"
    assert s.fingertips.base_url == "http://127.0.0.1:9/api"
    assert s.fingertips.offline is True


def test_bad_offline_flag_is_named():
    with pytest.raises(ConfigError, match="FINGERTIPS_OFFLINE"):
        load_settings(env={"FINGERTIPS_OFFLINE": "maybe"})


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["fingertips"]["retry"].update(max_attempts=0), r"settings.yaml: fingertips\.retry\.max_attempts: .*greater than or equal to 1"),
        (lambda d: d["fingertips"].update(retrys=3), r"settings.yaml: fingertips\.retrys: unknown key"),
        (lambda d: d["areas"].update(home="Leicestershire"), r"settings.yaml: areas\.home: .*pattern"),
        (lambda d: d["schedules"].update(timezone="Europe/Leicester"), r"settings.yaml: schedules\.timezone: .*unknown time zone"),
        (lambda d: d["warehouse"].update(url="mysql://x"), r"settings.yaml: warehouse\.url: .*duckdb"),
        (lambda d: d.pop("areas"), r"settings.yaml: areas: Field required"),
        (lambda d: d.update(indicator_sets=["no_such_set"]), r"indicator_sets: no file .*no_such_set.yaml"),
    ],
)
def test_wrong_key_or_value_names_file_and_key(tmp_path, mutate, expected):
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError, match=expected):
        load_settings(path, env={})


def test_invalid_yaml_names_file(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("warehouse: [unclosed\n")
    with pytest.raises(ConfigError, match="settings.yaml: not valid YAML"):
        load_settings(path, env={})


# Fingertips profiles: only known ones, refused when the file loads ---------------------------------


def test_known_profiles_have_names_and_sources():
    from public_health.config import KNOWN_PROFILES

    assert KNOWN_PROFILES[19].name == "Public Health Outcomes Framework"
    assert KNOWN_PROFILES[45].name == "Sexual and Reproductive Health Profiles"
    for profile in KNOWN_PROFILES.values():
        assert "fingertips-open" in profile.source and profile.url_key


def test_settings_profile_id_names_the_report_framework():
    s = load_settings(env={})
    assert s.fingertips.profile_id == 19
    assert s.fingertips.profile.name == "Public Health Outcomes Framework"


def test_an_unknown_settings_profile_is_refused_at_load(tmp_path):
    path = _write(tmp_path, lambda d: d["fingertips"].update(profile_id=99))
    with pytest.raises(ConfigError, match=r"settings.yaml: fingertips\.profile_id: unknown Fingertips profile 99"
                                          r"; known profiles: 19 \(Public Health Outcomes Framework\), 45 "):
        load_settings(path, env={})


def test_an_indicator_set_with_an_unknown_profile_stops_the_settings_load(tmp_path):
    """The nightly refresh reads the sets at 2 am; a wrong profile id is found when settings load."""
    import shutil

    shutil.copytree(CONFIG_DIR / "indicator_sets", tmp_path / "indicator_sets")
    phof = tmp_path / "indicator_sets" / "phof.yaml"
    raw = yaml.safe_load(phof.read_text())
    raw["profile_id"] = 1919
    phof.write_text(yaml.safe_dump(raw))
    path = _write(tmp_path, lambda d: None)
    with pytest.raises(ConfigError, match=r"indicator_sets/phof\.yaml: profile_id: unknown Fingertips profile 1919"):
        load_settings(path, env={})
