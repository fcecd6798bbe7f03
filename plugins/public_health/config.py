"""Typed settings loaded from ``config/`` with environment overrides.

Every file is validated when loaded. A wrong key or value raises :class:`ConfigError` naming the
file and the dotted key, e.g. ``config/settings.yaml: fingertips.retry.max_attempts: Input should
be greater than or equal to 1 (got 0)``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from public_health.periods import FinancialQuarter

PROJECT_ROOT = Path(os.environ.get("PH_PROJECT_ROOT", Path(__file__).resolve().parents[2]))
CONFIG_DIR = PROJECT_ROOT / "config"


def config_dir() -> Path:
    """The configuration folder: ``PH_CONFIG_DIR`` when set (read at each call), else ``config/``."""
    return Path(os.environ.get("PH_CONFIG_DIR") or CONFIG_DIR)


AREA_CODE_PATTERN = r"^[EWSN]\d{8}$"
QUARTER_LABEL_PATTERN = r"^\d{4}-\d{2}-Q[1-4]$"


def _quarter_label(value: Any) -> Any:
    """Configuration names a quarter by its label (``2017-18-Q2``), nothing looser."""
    if isinstance(value, str) and not re.match(QUARTER_LABEL_PATTERN, value):
        raise PydanticCustomError(
            "string_pattern_mismatch", "String should match pattern '{pattern}'", {"pattern": QUARTER_LABEL_PATTERN}
        )
    return value


#: A configuration key holding a financial quarter: written as its label, read as a FinancialQuarter.
QuarterLabel = Annotated[FinancialQuarter, BeforeValidator(_quarter_label)]


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid. The message names file and key."""


#: The live Fingertips API's host. Data loaded from any other host (the offline stub on 127.0.0.1, a
#: test server) is not a published figure; reports compare their load batches' URLs with this.
LIVE_FINGERTIPS_HOST = "fingertips.phe.org.uk"


def is_live_fingertips_url(url: str | None) -> bool:
    """Whether ``url`` is on the live Fingertips host (any scheme, port or path; subdomains too)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url or "").hostname or "").lower()
    return host == LIVE_FINGERTIPS_HOST or host.endswith("." + LIVE_FINGERTIPS_HOST)


@dataclass(frozen=True)
class KnownProfile:
    """A Fingertips profile whose id was checked against a public source."""

    id: int
    name: str
    url_key: str   # https://fingertips.phe.org.uk/profile/<url_key>
    source: str


#: Fingertips profiles configuration may name (settings ``fingertips.profile_id``, an indicator set's
#: ``profile_id``). An id not here is refused when the file loads. To add one, give where its id was
#: verified. Both below are constants of the Fingertips code itself (ukhsa-collaboration/fingertips-open,
#: commit 6780897): ``ProfileIds.Phof = 19`` and ``ProfileIds.SexualHealth = 45`` in
#: PholioVisualisationWS/PholioObjects/Constants.cs, FingertipsUploadService/ProfileData/Constants.cs and
#: IndicatorsUI/DomainObjects/Constants.cs, whose ``ProfileUrlKeys`` gives their URL keys
#: (``public-health-outcomes-framework``, ``sexualhealth``); profile 19 is also fingertipsR's own example
#: (ropensci/fingertipsR R/indicators.R: ``indicators(ProfileID = 19)``). PHDS_fingertips_py names neither.
KNOWN_PROFILES: dict[int, KnownProfile] = {
    p.id: p
    for p in (
        KnownProfile(
            19, "Public Health Outcomes Framework", "public-health-outcomes-framework",
            "ukhsa-collaboration/fingertips-open PholioVisualisationWS/PholioObjects/Constants.cs "
            "(ProfileIds.Phof = 19), IndicatorsUI/DomainObjects/Constants.cs (ProfileUrlKeys.Phof); "
            "ropensci/fingertipsR R/indicators.R "
            "(indicators(ProfileID = 19))",
        ),
        KnownProfile(
            45, "Sexual and Reproductive Health Profiles", "sexualhealth",
            "ukhsa-collaboration/fingertips-open PholioVisualisationWS/PholioObjects/Constants.cs "
            "(ProfileIds.SexualHealth = 45), IndicatorsUI/DomainObjects/Constants.cs (ProfileIds.SexualHealth = "
            "45, ProfileUrlKeys.SexualHealth = \"sexualhealth\")",
        ),
    )
}


def _known_profile(value: Any) -> Any:
    """A Fingertips profile id must be one of :data:`KNOWN_PROFILES` (checked when the file loads)."""
    if isinstance(value, int) and not isinstance(value, bool) and value not in KNOWN_PROFILES:
        known = ", ".join(f"{p.id} ({p.name})" for p in KNOWN_PROFILES.values())
        raise PydanticCustomError(
            "unknown_profile",
            "unknown Fingertips profile {value}; known profiles: {known}. A new profile goes into "
            "KNOWN_PROFILES in plugins/public_health/config.py with where its id was verified",
            {"value": value, "known": known},
        )
    return value


#: A configuration key holding a Fingertips profile id that must be in :data:`KNOWN_PROFILES`.
ProfileId = Annotated[int, Field(ge=1), AfterValidator(_known_profile)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseSettings(_Strict):
    url: str = Field(min_length=1, description="SQLAlchemy URL of the warehouse")

    @field_validator("url")
    @classmethod
    def _known_dialect(cls, v: str) -> str:
        if not (v.startswith("duckdb://") or v.startswith("postgresql")):
            raise ValueError("must be a duckdb:/// or postgresql+psycopg:// SQLAlchemy URL")
        return v


class RetrySettings(_Strict):
    max_attempts: int = Field(ge=1, le=20)
    backoff_initial_s: float = Field(ge=0, le=600)
    backoff_max_s: float = Field(ge=0, le=3600)


class FingertipsSettings(_Strict):
    base_url: str
    offline: bool = False
    connect_timeout_s: float = Field(gt=0, le=600)
    read_timeout_s: float = Field(gt=0, le=3600)
    probe_timeout_s: float = Field(gt=0, le=60)
    retry: RetrySettings
    batch_size: int = Field(ge=1, le=200)
    #: The framework the performance report's "Relevant PHOF indicators" tables come from: they name it
    #: as their source ("Public Health Outcomes Framework, Fingertips profile 19"). Which indicators are
    #: loaded is decided by the indicator sets (an indicator set's own profile_id loads a whole profile).
    profile_id: ProfileId

    @property
    def profile(self) -> KnownProfile:
        """The known profile ``profile_id`` names."""
        return KNOWN_PROFILES[self.profile_id]
    child_area_type_id: int = Field(ge=1)
    parent_area_type_id: int = Field(ge=1)
    nearest_neighbour_type_id: int = Field(ge=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")


class AreaSettings(_Strict):
    home: str = Field(pattern=AREA_CODE_PATTERN)
    focus: list[str] = Field(min_length=1)
    england: str = Field(pattern=AREA_CODE_PATTERN)
    region: str = Field(pattern=AREA_CODE_PATTERN)

    @field_validator("focus")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        import re

        bad = [c for c in v if not re.match(AREA_CODE_PATTERN, c)]
        if bad:
            raise ValueError(f"not ONS area codes (like E10000018): {bad}")
        return v


class ReturnsSettings(_Strict):
    shared_drive: Path
    settle_seconds: float = Field(ge=0, le=86400)
    track_from: QuarterLabel
    #: The last quarter a return is expected for; unset: the last quarter ended on the run's date.
    track_until: QuarterLabel | None = None
    percent_tolerance_points: float = Field(ge=0, le=100)
    change_warning_pct: float = Field(gt=0)


class PerformanceReportSettings(_Strict):
    area: str = Field(pattern=AREA_CODE_PATTERN)
    years_shown: int = Field(ge=1, le=5)


class ReportSettings(_Strict):
    performance: PerformanceReportSettings


class ScheduleSettings(_Strict):
    timezone: str
    fingertips_refresh: str
    provider_returns: str
    performance_report: str
    #: After the quarter's return window closes (the BCF local activity return is due 45 days after).
    bcf_return: str = "0 7 20 2,5,8,11 *"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("fingertips_refresh", "provider_returns", "performance_report", "bcf_return")
    @classmethod
    def _cron(cls, v: str) -> str:
        if len(v.split()) != 5:
            raise ValueError(f"must be a five-field cron expression, got {v!r}")
        return v


class PathSettings(_Strict):
    data_dir: Path
    output_dir: Path


_EMAIL_ADDRESS = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


class AlertSettings(_Strict):
    """Where failure alerts and run digests go (``airflow_support.alerts``). Mail is sent only when the Airflow
    connection ``smtp_conn_id`` exists and ``recipients`` is not empty; otherwise the same text is logged at ERROR
    in the task's log."""

    smtp_conn_id: str = Field(default="smtp_default", min_length=1, description="Airflow SMTP connection id")
    recipients: list[str] = Field(default_factory=list)
    #: The sender; unset: the connection's ``from_email`` extra, else Airflow's ``[email] from_email``.
    from_email: str | None = None
    subject_prefix: str = "[public health data]"

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if not _EMAIL_ADDRESS.match(a)]
        if bad:
            raise ValueError(f"not email addresses: {bad}")
        return v

    @field_validator("from_email")
    @classmethod
    def _sender(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL_ADDRESS.match(v):
            raise ValueError(f"not an email address: {v!r}")
        return v


class Settings(_Strict):
    warehouse: WarehouseSettings
    fingertips: FingertipsSettings
    areas: AreaSettings
    indicator_sets: list[str] = Field(min_length=1)
    returns: ReturnsSettings
    reports: ReportSettings
    schedules: ScheduleSettings
    paths: PathSettings
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    # Derived locations -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return _absolute(self.paths.data_dir)

    @property
    def output_dir(self) -> Path:
        return _absolute(self.paths.output_dir)

    @property
    def shared_drive(self) -> Path:
        return _absolute(self.returns.shared_drive)

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def warehouse_url(self) -> str:
        """The warehouse URL with a relative DuckDB path made absolute against the project root."""
        url = self.warehouse.url
        prefix = "duckdb:///"
        if url.startswith(prefix):
            rest = url[len(prefix) :]
            if rest and rest != ":memory:" and not rest.startswith("/"):
                return prefix + str(_absolute(Path(rest)))
        return url


class IndicatorRef(_Strict):
    id: int = Field(ge=1, description="Fingertips indicator id")
    name: str = Field(min_length=1)
    phof_code: str | None = Field(default=None, description="PHOF numbering, e.g. 2.04")
    note: str | None = None


class IndicatorGroup(_Strict):
    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    indicator_ids: list[int]


class IndicatorSet(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    source: str = Field(min_length=1, description="Where the list comes from")
    profile_id: ProfileId | None = Field(
        default=None,
        description="Include every indicator of this Fingertips profile (resolved at run time); one of KNOWN_PROFILES",
    )
    indicators: list[IndicatorRef] = Field(default_factory=list)
    groups: list[IndicatorGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> IndicatorSet:
        if self.profile_id is None and not self.indicators:
            raise ValueError("an indicator set needs a profile_id or a list of indicators")
        ids = [i.id for i in self.indicators]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"indicator ids listed twice: {dupes}")
        known = set(ids)
        for g in self.groups:
            missing = [i for i in g.indicator_ids if i not in known]
            if missing:
                raise ValueError(f"group {g.code!r} names indicator ids not in 'indicators': {missing}")
        return self

    @property
    def indicator_ids(self) -> list[int]:
        return [i.id for i in self.indicators]


_config_dir = config_dir


def _absolute(p: Path) -> Path:
    return p if p.is_absolute() else PROJECT_ROOT / p


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against the documented keys)"
        got = err.get("input")
        shown = "" if err["type"] in ("missing", "extra_forbidden") or isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{_rel(path)}: {key}: {msg}{shown}")
    return "\n".join(lines)


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def read_yaml(path: Path) -> Any:
    """Read a YAML file, raising ConfigError naming the file (and line) on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{_rel(path)}: file not found") from exc
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader (libyaml's when available)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{_rel(path)}: not valid YAML: {exc}") from exc


def validate_file(model: type[BaseModel], path: Path, data: Any | None = None) -> Any:
    """Validate YAML at ``path`` against ``model``; errors name the file and the dotted key."""
    raw = read_yaml(path) if data is None else data
    if not isinstance(raw, dict):
        raise ConfigError(f"{_rel(path)}: expected a mapping of keys at the top level")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from None


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _env_overrides(raw: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    if env.get("WAREHOUSE_URL"):
        raw.setdefault("warehouse", {})["url"] = env["WAREHOUSE_URL"]
    if env.get("FINGERTIPS_BASE_URL"):
        raw.setdefault("fingertips", {})["base_url"] = env["FINGERTIPS_BASE_URL"]
    if "FINGERTIPS_OFFLINE" in env:
        value = env["FINGERTIPS_OFFLINE"].strip().lower()
        if value not in _TRUE | _FALSE:
            raise ConfigError(
                f"environment: FINGERTIPS_OFFLINE: expected 1/0/true/false, got {env['FINGERTIPS_OFFLINE']!r}"
            )
        raw.setdefault("fingertips", {})["offline"] = value in _TRUE
    if env.get("PH_DATA_DIR"):
        raw.setdefault("paths", {})["data_dir"] = env["PH_DATA_DIR"]
    if env.get("PH_SHARED_DRIVE"):
        raw.setdefault("returns", {})["shared_drive"] = env["PH_SHARED_DRIVE"]
    if env.get("PH_OUTPUT_DIR"):
        raw.setdefault("paths", {})["output_dir"] = env["PH_OUTPUT_DIR"]
    if "PH_ALERT_RECIPIENTS" in env:   # set but empty: nobody (alerts are logged only)
        addresses = [a for a in re.split(r"[,;\s]+", env["PH_ALERT_RECIPIENTS"]) if a]
        raw.setdefault("alerts", {})["recipients"] = addresses
    if env.get("PH_ALERT_SMTP_CONN_ID"):
        raw.setdefault("alerts", {})["smtp_conn_id"] = env["PH_ALERT_SMTP_CONN_ID"]
    if env.get("PH_ALERT_FROM"):
        raw.setdefault("alerts", {})["from_email"] = env["PH_ALERT_FROM"]
    return raw


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Load ``config/settings.yaml`` (or ``path``) and apply environment overrides."""
    path = path or config_dir() / "settings.yaml"
    env = dict(os.environ) if env is None else env
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{_rel(path)}: expected a mapping of keys at the top level")
    settings: Settings = validate_file(Settings, path, _env_overrides(raw, env))
    for name in settings.indicator_sets:
        set_path = path.parent / "indicator_sets" / f"{name}.yaml"
        if not set_path.exists():
            raise ConfigError(f"{_rel(path)}: indicator_sets: no file {_rel(set_path)} for set {name!r}")
        # Validate each set now (an unknown profile, a misspelt key), not when the nightly refresh reads it.
        load_indicator_set(name, path.parent)
    return settings


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings (loaded once)."""
    return load_settings()


def load_indicator_set(name: str, config_dir: Path | None = None) -> IndicatorSet:
    path = (config_dir or _config_dir()) / "indicator_sets" / f"{name}.yaml"
    ind_set: IndicatorSet = validate_file(IndicatorSet, path)
    if ind_set.name != name:
        raise ConfigError(f"{_rel(path)}: name: must equal the file name {name!r} (got {ind_set.name!r})")
    return ind_set


def load_indicator_sets(names: list[str], config_dir: Path | None = None) -> list[IndicatorSet]:
    return [load_indicator_set(n, config_dir) for n in names]


Dialect = Literal["duckdb", "postgresql"]
