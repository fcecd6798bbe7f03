"""The queries behind the quarterly performance report and the BCF return, and the record of a build.

Every function takes an open connection and returns typed rows; quarters come in as
:class:`~public_health.periods.FinancialQuarter` and are bound as their labels (``2017-18-Q2``).
Values are always bound parameters: lists (indicator ids, quarters, service codes) through expanding
bind parameters, typed so that an empty list is still valid SQL on DuckDB and PostgreSQL. No area code
is written here: the caller passes the ones configuration names (``settings.areas.england``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Integer, String, bindparam, text
from sqlalchemy.engine import Connection

from public_health.periods import FinancialQuarter

from .audit import RunContext

#: mart.return_status statuses of a return that is not in (yet): the report waits for these.
NOT_IN_STATUSES = ("missing", "not_yet_due", "quarantined")
#: core.return_received statuses of a return file that was read (loaded, or stopped by its checks).
READ_STATUSES = ("loaded", "loaded_with_warnings", "quarantined")


def _labels(quarters: Iterable[FinancialQuarter]) -> list[str]:
    return [q.label for q in quarters]


# Provider returns and KPI figures -----------------------------------------------------------------


@dataclass(frozen=True)
class KpiFigure:
    """One figure of a service's return: a KPI's target, actual or actual to date for a quarter."""

    kpi_code: str
    period_label: str          # 2017-18-Q2
    measure: str               # target, actual, actual_to_date, numerator, denominator
    value: float | None
    missing_reason: str | None


@dataclass(frozen=True)
class KpiActual:
    """A KPI's actual for one quarter: the figure, or why there is none."""

    value: float | None
    missing_reason: str | None


@dataclass(frozen=True)
class ReturnStatus:
    """A service's return for a quarter as mart.return_status sees it."""

    service_code: str
    status: str                # received_valid, received_with_warnings, quarantined, late, missing, not_yet_due
    due_date: date | None
    file_path: str | None
    error_summary: str | None


@dataclass(frozen=True)
class ServiceComment:
    comment: str
    lead: str | None
    comment_date: date | None


@dataclass(frozen=True)
class ServiceAction:
    action: str
    action_by: date | None


@dataclass(frozen=True)
class FailedCheck:
    """A data-quality check that failed on the latest read return of a service and quarter."""

    file_path: str
    severity: str
    description: str | None
    unexpected_examples: tuple[dict[str, Any], ...] = ()
    suite: str | None = None
    expectation_index: int | None = None


_KPI_VALUES = text(
    "SELECT kpi_code, period_label, measure, value, missing_reason FROM core.fact_kpi_value"
    " WHERE service_code = :service AND period_label IN :quarters"
).bindparams(bindparam("quarters", expanding=True, type_=String))


def kpi_values(conn: Connection, service_code: str, quarters: Sequence[FinancialQuarter]) -> list[KpiFigure]:
    """Every figure core holds for the service in ``quarters`` (all measures)."""
    rows = conn.execute(_KPI_VALUES, {"service": service_code, "quarters": _labels(quarters)})
    return [KpiFigure(**r._mapping) for r in rows]


_SERVICE_FIGURES = text(
    "SELECT kpi_code, period_label, measure, value, missing_reason FROM core.fact_kpi_value"
    " WHERE service_code = :service ORDER BY kpi_code, period_label, measure"
)


def service_figures(conn: Connection, service_code: str) -> list[KpiFigure]:
    """Every figure core holds for the service, for every period: quarters (``2017-18-Q2``) and
    financial-year columns (``2016-17``) alike, including any given for quarters after a report's own."""
    return [KpiFigure(**r._mapping) for r in conn.execute(_SERVICE_FIGURES, {"service": service_code})]


_KPI_ACTUAL = text(
    "SELECT value, missing_reason FROM core.fact_kpi_value WHERE service_code = :service AND kpi_code = :kpi"
    " AND period_label = :quarter AND measure = 'actual'"
)


def kpi_actual(conn: Connection, service_code: str, kpi_code: str, quarter: FinancialQuarter) -> KpiActual | None:
    """The KPI's actual for the quarter; None when no loaded return gives the KPI at all."""
    row = conn.execute(_KPI_ACTUAL, {"service": service_code, "kpi": kpi_code, "quarter": quarter.label}).first()
    return None if row is None else KpiActual(row.value, row.missing_reason)


_FIGURES_AND_RETURNS = text(
    "SELECT (SELECT count(*) FROM core.fact_kpi_value WHERE period_label = :quarter AND measure <> 'target'"
    " AND service_code IN :services)"
    " + (SELECT count(*) FROM core.return_received WHERE period_label = :quarter AND service_code IN :services)"
).bindparams(bindparam("services", expanding=True, type_=String))


def figures_and_returns_count(conn: Connection, quarter: FinancialQuarter, service_codes: Iterable[str]) -> int:
    """KPI figures (targets aside) plus return files received for the quarter from these services."""
    codes = sorted(service_codes)
    if not codes:
        return 0
    return int(conn.execute(_FIGURES_AND_RETURNS, {"quarter": quarter.label, "services": codes}).scalar_one())


_RETURN_STATUSES = text(
    "SELECT service_code, status, due_date, file_path, error_summary FROM mart.return_status"
    " WHERE period_label = :quarter"
)


def return_statuses(conn: Connection, quarter: FinancialQuarter) -> list[ReturnStatus]:
    """The status of every expected return for the quarter."""
    return [ReturnStatus(**r._mapping) for r in conn.execute(_RETURN_STATUSES, {"quarter": quarter.label})]


_RETURNS_NOT_IN = text(
    "SELECT service_code FROM mart.return_status WHERE period_label = :quarter AND status IN :statuses"
    " ORDER BY service_code"
).bindparams(bindparam("statuses", expanding=True, type_=String))


def returns_not_in(conn: Connection, quarter: FinancialQuarter) -> list[str]:
    """Codes of the services whose return for the quarter is missing, not yet due or quarantined, sorted."""
    rows = conn.execute(_RETURNS_NOT_IN, {"quarter": quarter.label, "statuses": list(NOT_IN_STATUSES)})
    return [r.service_code for r in rows]


_SERVICE_COMMENTS = text(
    "SELECT comment, lead, comment_date FROM core.fact_service_comment WHERE service_code = :service"
    " AND period_label = :quarter ORDER BY seq"
)
_SERVICE_ACTIONS = text(
    "SELECT action, action_by FROM core.fact_service_action WHERE service_code = :service"
    " AND period_label = :quarter ORDER BY seq"
)


def service_comments(conn: Connection, service_code: str, quarter: FinancialQuarter) -> list[ServiceComment]:
    """Comments on performance from the service's return for the quarter, in the return's order."""
    rows = conn.execute(_SERVICE_COMMENTS, {"service": service_code, "quarter": quarter.label})
    return [ServiceComment(**r._mapping) for r in rows]


def service_actions(conn: Connection, service_code: str, quarter: FinancialQuarter) -> list[ServiceAction]:
    """Key actions from the service's return for the quarter, in the return's order."""
    rows = conn.execute(_SERVICE_ACTIONS, {"service": service_code, "quarter": quarter.label})
    return [ServiceAction(**r._mapping) for r in rows]


_LATEST_RETURN_FAILURES = text(
    "SELECT r.file_path, d.severity, d.description, d.unexpected_examples, d.suite, d.expectation_index"
    " FROM (SELECT batch_id, file_path FROM core.return_received WHERE service_code = :service"
    "       AND period_label = :quarter AND status IN :statuses ORDER BY file_modified_at DESC LIMIT 1) r"
    " JOIN audit.dq_result d ON d.batch_id = r.batch_id"
    " WHERE d.success = false ORDER BY d.expectation_index"
).bindparams(bindparam("statuses", expanding=True, type_=String))


def latest_return_failures(conn: Connection, service_code: str, quarter: FinancialQuarter) -> list[FailedCheck]:
    """The failed checks of the latest return file read for the service and quarter (loaded or
    quarantined), in the suite's order; empty when there is no such file or nothing failed."""
    rows = conn.execute(
        _LATEST_RETURN_FAILURES, {"service": service_code, "quarter": quarter.label, "statuses": list(READ_STATUSES)}
    )
    return [
        FailedCheck(
            r.file_path, r.severity, r.description,
            tuple(json.loads(r.unexpected_examples)) if r.unexpected_examples else (),
            r.suite, r.expectation_index,
        )
        for r in rows
    ]


# PHOF indicators -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhofTrendPoint:
    """One period of an indicator's time series for an area (persons or one sex, no category)."""

    indicator_id: int
    phof_code: str | None
    indicator_name: str | None
    unit: str | None
    polarity_code: str | None
    sex: str
    period_label: str
    period_sort_key: int
    value: float | None
    lower_ci_95: float | None
    upper_ci_95: float | None
    england_value: float | None
    #: The last day the period covers (core.dim_period.end_date).
    period_end: date | None = None
    #: audit.load_batch that last changed the value.
    batch_id: int | None = None


@dataclass(frozen=True)
class IndicatorValue:
    """An indicator's value for an area, sex and period (no category), with its 95% limits."""

    indicator_id: int
    sex: str
    period_label: str
    value: float | None
    lower_ci_95: float | None
    upper_ci_95: float | None
    #: audit.load_batch that last changed the value (None where the query does not ask for it).
    batch_id: int | None = None


_TREND_COLUMNS = (
    "SELECT indicator_id, phof_code, indicator_name, unit, polarity_code, sex, period_label, period_sort_key,"
    " value, lower_ci_95, upper_ci_95, england_value, period_end, batch_id FROM mart.phof_trend"
    " WHERE area_code = :area AND indicator_id IN :ids AND category_type = ''"
)
_PHOF_TREND = text(
    _TREND_COLUMNS + " ORDER BY indicator_id, sex, period_sort_key"
).bindparams(bindparam("ids", expanding=True, type_=Integer))
_PHOF_TREND_ENDING_BY = text(
    _TREND_COLUMNS + " AND period_end <= :ending_by ORDER BY indicator_id, sex, period_sort_key"
).bindparams(bindparam("ids", expanding=True, type_=Integer), bindparam("ending_by", type_=Date))


def phof_trend(
    conn: Connection, area_code: str, indicator_ids: Sequence[int], *, ending_by: date | None = None
) -> list[PhofTrendPoint]:
    """The area's time series of each indicator, by indicator, sex and period (oldest first); with
    ``ending_by``, only the periods that end on or before that day (core.dim_period.end_date), so a
    report for a past quarter sees what had been published for periods up to its end."""
    if not indicator_ids:
        return []
    params: dict[str, Any] = {"area": area_code, "ids": [int(i) for i in indicator_ids]}
    if ending_by is None:
        rows = conn.execute(_PHOF_TREND, params)
    else:
        rows = conn.execute(_PHOF_TREND_ENDING_BY, {**params, "ending_by": ending_by})
    return [PhofTrendPoint(**r._mapping) for r in rows]


_INDICATOR_VALUES = text(
    "SELECT indicator_id, sex, period_label, value, lower_ci_95, upper_ci_95, batch_id FROM core.fact_indicator_value"
    " WHERE area_code = :area AND indicator_id IN :ids AND category_type = ''"
).bindparams(bindparam("ids", expanding=True, type_=Integer))


def indicator_values(conn: Connection, area_code: str, indicator_ids: Sequence[int]) -> list[IndicatorValue]:
    """Every value (any sex, age and period; no category) of the indicators for one area, e.g. England
    as the benchmark. Unordered."""
    if not indicator_ids:
        return []
    rows = conn.execute(_INDICATOR_VALUES, {"area": area_code, "ids": [int(i) for i in indicator_ids]})
    return [IndicatorValue(**r._mapping) for r in rows]


_INDICATOR_VALUE = text(
    "SELECT indicator_id, sex, period_label, value, lower_ci_95, upper_ci_95 FROM core.fact_indicator_value"
    " WHERE indicator_id = :id AND area_code = :area AND period_label = :period AND category_type = ''"
    " ORDER BY sex LIMIT 1"
)


def indicator_value(conn: Connection, indicator_id: int, area_code: str, period_label: str) -> IndicatorValue | None:
    """The indicator's value for the area in a period as published (``2016/17``); the first sex
    alphabetically when there are several; None when there is none."""
    row = conn.execute(_INDICATOR_VALUE, {"id": indicator_id, "area": area_code, "period": period_label}).first()
    return None if row is None else IndicatorValue(**row._mapping)


@dataclass(frozen=True)
class IndicatorDetail:
    """An indicator's published metadata (core.dim_indicator)."""

    indicator_id: int
    phof_code: str | None
    name: str
    unit: str | None
    source: str | None          # the data source as Fingertips publishes it


_INDICATOR_DETAILS = text(
    "SELECT indicator_id, phof_code, name, unit, source FROM core.dim_indicator WHERE indicator_id IN :ids"
).bindparams(bindparam("ids", expanding=True, type_=Integer))


def indicator_details(conn: Connection, indicator_ids: Sequence[int]) -> dict[int, IndicatorDetail]:
    """Each indicator's metadata by id; an id core.dim_indicator does not hold is left out."""
    if not indicator_ids:
        return {}
    rows = conn.execute(_INDICATOR_DETAILS, {"ids": sorted({int(i) for i in indicator_ids})})
    return {int(r.indicator_id): IndicatorDetail(**r._mapping) for r in rows}


@dataclass(frozen=True)
class LoadBatchInfo:
    """Where and when a load batch got its data (audit.load_batch)."""

    batch_id: int
    source: str                 # fingertips, provider_return
    source_ref: str             # the URL (or file) the data came from
    finished_at: datetime | None


_LOAD_BATCHES = text(
    "SELECT batch_id, source, source_ref, finished_at FROM audit.load_batch WHERE batch_id IN :ids ORDER BY batch_id"
).bindparams(bindparam("ids", expanding=True, type_=BigInteger))


def load_batches(conn: Connection, batch_ids: Iterable[int]) -> list[LoadBatchInfo]:
    """The audit.load_batch rows of ``batch_ids`` (those it holds), oldest first."""
    ids = sorted({int(b) for b in batch_ids})
    if not ids:
        return []
    return [LoadBatchInfo(int(r.batch_id), r.source, r.source_ref, r.finished_at)
            for r in conn.execute(_LOAD_BATCHES, {"ids": ids})]


_AREA_NAME = text("SELECT area_name FROM core.dim_area WHERE area_code = :area")


def area_name(conn: Connection, area_code: str) -> str | None:
    """The area's name, None when core.dim_area does not know the code."""
    row = conn.execute(_AREA_NAME, {"area": area_code}).first()
    return None if row is None else row[0]


_BATCHES_USED = text(
    "SELECT DISTINCT batch_id FROM core.fact_kpi_value WHERE period_label IN :quarters"
    " UNION SELECT DISTINCT batch_id FROM core.fact_indicator_value WHERE area_code IN :areas ORDER BY 1"
).bindparams(bindparam("quarters", expanding=True, type_=String), bindparam("areas", expanding=True, type_=String))


def batches_used(conn: Connection, quarters: Sequence[FinancialQuarter], area_codes: Sequence[str]) -> list[int]:
    """audit.load_batch ids behind the KPI figures of ``quarters`` and the PHOF values of ``area_codes``."""
    rows = conn.execute(_BATCHES_USED, {"quarters": _labels(quarters), "areas": list(area_codes)})
    return [int(r[0]) for r in rows]


# Builds ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportBuild:
    """One build of a scheduled report, as audit.report_build records it."""

    report: str                                # performance_report, bcf_return
    quarter: FinancialQuarter
    built_at: datetime
    outputs: Mapping[str, str] = field(default_factory=dict)   # output file path -> sha256
    run: RunContext = RunContext()
    #: audit.load_batch ids behind the figures; None when the report does not record them (NULL).
    batch_ids: tuple[int, ...] | None = None
    #: sha256 of the report's figures; None when the report does not compute one (NULL).
    content_sha256: str | None = None


_RECORD_BUILD = text(
    "INSERT INTO audit.report_build (report, period_label, built_at, batch_ids, outputs, content_sha256,"
    " dag_id, run_id, task_id) VALUES (:report, :quarter, :built_at, :batch_ids, :outputs, :content_sha256,"
    " :dag_id, :run_id, :task_id) RETURNING build_id"
)


def record_report_build(conn: Connection, build: ReportBuild) -> int:
    """Write the build's audit.report_build row; its build_id."""
    build_id = conn.execute(
        _RECORD_BUILD,
        {
            "report": build.report,
            "quarter": build.quarter.label,
            "built_at": build.built_at,
            "batch_ids": None if build.batch_ids is None else ",".join(str(b) for b in build.batch_ids),
            "outputs": json.dumps(dict(build.outputs), sort_keys=True),
            "content_sha256": build.content_sha256,
            "dag_id": build.run.dag_id,
            "run_id": build.run.run_id,
            "task_id": build.run.task_id,
        },
    ).scalar_one()
    return int(build_id)


@dataclass(frozen=True)
class BuildRecord:
    """The latest recorded build of a report for a quarter."""

    build_id: int
    outputs: str
    batch_ids: str | None


def latest_report_build(conn: Connection, report: str, quarter: FinancialQuarter) -> BuildRecord | None:
    """The newest audit.report_build row of ``report`` for ``quarter``, if there is one."""
    row = conn.execute(
        text("SELECT build_id, outputs, batch_ids FROM audit.report_build WHERE report = :r AND period_label = :q"
             " ORDER BY build_id DESC LIMIT 1"),
        {"r": report, "q": quarter.label},
    ).first()
    return None if row is None else BuildRecord(int(row.build_id), row.outputs, row.batch_ids)
