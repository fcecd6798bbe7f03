"""Assemble the quarterly performance report from the warehouse (marts and core), with the
statistics done here rather than taken on trust: significance against England and direction of
travel from confidence intervals, KPI assessments and service RAG from configured rules.

The figures come from the named queries of :mod:`public_health.warehouse.reports`; the quarter is a
:class:`~public_health.periods.FinancialQuarter`, and so is every quarter in the report's model."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from public_health.config import Settings, config_dir, is_live_fingertips_url, load_indicator_set
from public_health.periods import FinancialQuarter
from public_health.reports import require_quarter
from public_health.warehouse import reports as queries

from .model import (
    Action,
    Comment,
    DataWarning,
    KpiCell,
    KpiRow,
    PhofRow,
    PhofSource,
    Rating,
    ReportData,
    ServicePage,
)

log = logging.getLogger(__name__)

SERVICE_INDICATOR_SET = "performance_report_services"


class ReportError(RuntimeError):
    """The report cannot be built for this quarter; the message says why."""


def has_data(engine: Engine, quarter: FinancialQuarter, services: Iterable[str]) -> bool:
    """Whether the warehouse holds anything at all for the quarter (KPI figures or returns received)
    from the report's services (the BCF local activity return, say, does not count)."""
    quarter = require_quarter(quarter)
    codes = sorted(services)
    if not codes:
        return False
    with engine.connect() as conn:
        return queries.figures_and_returns_count(conn, quarter, codes) > 0


def outstanding_returns(engine: Engine, quarter: FinancialQuarter, services: Iterable[str]) -> list[str]:
    """The report's services whose return for ``quarter`` is not in yet (missing, not yet due or
    quarantined), per mart.return_status. Services outside ``services`` (a return with no report page,
    such as the BCF activity return) never hold the report up."""
    quarter = require_quarter(quarter)
    wanted = set(services)
    with engine.connect() as conn:
        return [code for code in queries.returns_not_in(conn, quarter) if code in wanted]


def _service_indicator_ids(services: dict[str, Any]) -> dict[str, list[int]]:
    ids = {code: list(s.phof_indicator_ids) for code, s in services.items()}
    try:
        groups = {g.code: g.indicator_ids for g in load_indicator_set(SERVICE_INDICATOR_SET).groups}
    except Exception:  # the set is optional; services may list ids themselves
        groups = {}
    for code in ids:
        if not ids[code] and code in groups:
            ids[code] = list(groups[code])
    return ids


@dataclass(frozen=True)
class _PhofQuery:
    """What a service's PHOF table asks of the warehouse."""

    area: str
    england: str
    as_of: date                 # periods ending on or before this day (the quarter's end)
    indicator_ids: tuple[int, ...]


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # not strftime's %B: the text must not depend on the locale


def _no_value_note(as_of: date) -> str:
    return (f"No value loaded for a period ending on or before {as_of.day} {_MONTHS[as_of.month - 1]} "
            f"{as_of.year}.")


def _phof_rows(conn: Connection, query: _PhofQuery) -> list[tuple[PhofRow, frozenset[int | None]]]:
    """Each indicator's row, with the load batches behind the figures it shows (None: a figure with no
    recorded batch). The area's value is for the latest period ending on or before ``query.as_of``; the
    direction of travel compares it with the period before that one; England's value is for the same
    period. An indicator with no such period is shown without a value, saying so."""
    from public_health.stats.significance import Estimate, compare_to_benchmark
    from public_health.stats.trend import direction_of_travel

    indicator_ids = list(query.indicator_ids)
    if not indicator_ids:
        return []
    trend = queries.phof_trend(conn, query.area, indicator_ids, ending_by=query.as_of)
    details = queries.indicator_details(conn, indicator_ids)
    benchmark = {
        (r.indicator_id, r.sex, r.period_label): r
        for r in queries.indicator_values(conn, query.england, indicator_ids)
    }
    series: dict[int, dict[str, list[queries.PhofTrendPoint]]] = {}
    for r in trend:
        series.setdefault(r.indicator_id, {}).setdefault(r.sex, []).append(r)
    out: list[tuple[PhofRow, frozenset[int | None]]] = []
    for indicator_id in indicator_ids:
        detail = details.get(indicator_id)
        by_sex = series.get(indicator_id)
        if not by_sex:
            if detail is not None:
                out.append((
                    PhofRow(
                        indicator_id=indicator_id, phof_code=detail.phof_code, name=detail.name, unit=detail.unit,
                        period=None, area_value=None, area_lower=None, area_upper=None, england_value=None,
                        significance="Not compared", direction="Not available", note=_no_value_note(query.as_of),
                        source=detail.source,
                    ),
                    frozenset(),
                ))
            continue
        sex = "Persons" if "Persons" in by_sex else sorted(by_sex)[0]
        # Latest by the day the period ends (then the published sort key), all ending by query.as_of.
        points = sorted(by_sex[sex], key=lambda p: (p.period_end or date.min, p.period_sort_key))
        latest, previous = points[-1], (points[-2] if len(points) > 1 else None)
        polarity = latest.polarity_code or "neither"
        eng = benchmark.get((indicator_id, sex, latest.period_label))
        area_now = Estimate(latest.value, latest.lower_ci_95, latest.upper_ci_95)
        significance = compare_to_benchmark(
            area_now, Estimate(eng.value, eng.lower_ci_95, eng.upper_ci_95) if eng else None, polarity=polarity
        )
        direction = direction_of_travel(
            area_now,
            Estimate(previous.value, previous.lower_ci_95, previous.upper_ci_95) if previous else None,
            polarity=polarity,
        )
        shown = [latest.batch_id] + ([previous.batch_id] if previous else []) + ([eng.batch_id] if eng else [])
        out.append((
            PhofRow(
                indicator_id=indicator_id,
                phof_code=latest.phof_code,
                name=latest.indicator_name + ("" if sex == "Persons" else f" ({sex})"),
                unit=latest.unit,
                period=latest.period_label,
                area_value=latest.value,
                area_lower=latest.lower_ci_95,
                area_upper=latest.upper_ci_95,
                england_value=eng.value if eng else None,
                significance=getattr(significance, "value", str(significance)),
                direction=getattr(direction, "value", str(direction)),
                previous_period=previous.period_label if previous else None,
                previous_value=previous.value if previous else None,
                source=detail.source if detail else None,
            ),
            frozenset(shown),
        ))
    return out


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _with_provenance(
    conn: Connection, settings: Settings, as_of: date, rows: dict[str, list[tuple[PhofRow, frozenset[int | None]]]]
) -> tuple[dict[str, list[PhofRow]], PhofSource]:
    """Every page's PHOF rows with their extraction time, and the report's PHOF source: when the
    figures were loaded, and whether all of them came from the live Fingertips API."""
    wanted = {b for page in rows.values() for _, batches in page for b in batches}
    found = {b.batch_id: b for b in queries.load_batches(conn, [b for b in wanted if b is not None])}
    pages: dict[str, list[PhofRow]] = {}
    for code, page in rows.items():
        pages[code] = []
        for row, batches in page:
            times = [t for b in batches if b in found and (t := _utc(found[b].finished_at)) is not None]
            pages[code].append(dataclasses.replace(row, extracted_at=max(times) if times else None))
    hosts = sorted({urlsplit(b.source_ref).hostname or b.source_ref for b in found.values()})
    live = all(b in found and is_live_fingertips_url(found[b].source_ref) for b in wanted)
    times = [r.extracted_at for page in pages.values() for r in page if r.extracted_at is not None]
    profile = settings.fingertips.profile
    source = PhofSource(
        profile=f"{profile.name} (Fingertips profile {profile.id})",
        as_of=as_of,
        extracted_at=max(times) if times else None,
        demonstration=not live,
        hosts=tuple(hosts),
    )
    return pages, source


Cells = dict[tuple[str, str, str], KpiCell]   # (kpi_code, period label, measure) -> cell, every period

#: Return checks (rules of include/expectations/provider_kpi_values.json) that the page's consistency
#: findings state figure by figure, so a failed one is not listed a second time.
STATED_BY_FINDINGS = frozenset(
    {"percent_over_100", "numerator_over_denominator", "percent_not_ratio", "to_date_falls", "figure_after_quarter"}
)
#: How far (in percentage points) a stated percentage may be from its numerator / denominator beyond the
#: rounding of its printed digits (half a unit of the last digit): 81% for 24 of 30 (80.0%) is a finding.
PERCENT_TOLERANCE_POINTS = 0.05
#: Findings that make a stated actual to date unusable for a rating (the year's actuals are summed instead).
TO_DATE_RULES = frozenset({"to_date_no_reset", "to_date_not_sum", "running_total_stalled"})


def _service_cells(conn: Connection, service_code: str) -> Cells:
    return {
        (f.kpi_code, f.period_label, f.measure): KpiCell(f.value, f.missing_reason)
        for f in queries.service_figures(conn, service_code)
    }


def _findings(service: Any, cells: Cells, comments: list[Comment], quarter: FinancialQuarter) -> list[Any]:
    """The consistency findings over every figure the warehouse holds for the service (history and
    returns), with the quarter's comments, as of the report's quarter."""
    from public_health.quality.consistency import ServiceFigures, check_service

    values = {key: float(c.value) for key, c in cells.items() if c.value is not None}
    figures = ServiceFigures(
        service_code=service.code, service_name=service.name, kpis=tuple(service.kpis), values=values,
        comments=tuple((quarter.label, c.text) for c in comments), as_of=quarter,
    )
    return check_service(figures, percent_tolerance_points=PERCENT_TOLERANCE_POINTS)


def _year_actuals_sum(cells: Cells, kpi_code: str, quarter: FinancialQuarter) -> float | None:
    """The sum of the KPI's actuals for the quarters of the year up to ``quarter``; None if any is missing."""
    total = 0.0
    for each in quarter.quarters_to_date():
        cell = cells.get((kpi_code, each.label, "actual"))
        if cell is None or cell.value is None:
            return None
        total += float(cell.value)
    return total


def _to_date_finding(findings: list[Any], kpi_code: str, quarter: FinancialQuarter) -> str | None:
    for f in findings:
        if f.kpi_code == kpi_code and f.rule in TO_DATE_RULES and quarter.label in f.periods:
            return f.message.rstrip(".")
    return None


@dataclass(frozen=True)
class _KpiInputs:
    """What a service's KPI rows are built from."""

    service: Any
    quarter: FinancialQuarter
    quarters: list[FinancialQuarter]
    cells: Cells
    findings: list[Any]
    amber_margin: float


def _kpi_rows(inputs: _KpiInputs) -> list[tuple[KpiRow, Any]]:
    """Each KPI's row for the table, with its assessment for the quarter."""
    from public_health.stats.rag import KpiResult, assess_kpi

    quarter, quarters, cells = inputs.quarter, inputs.quarters, inputs.cells
    q4 = quarter.year_quarters()[-1]
    rows = []
    for kpi in inputs.service.kpis:
        def cell(period: FinancialQuarter, measure: str, kpi_code: str = kpi.code) -> KpiCell | None:
            return cells.get((kpi_code, period.label, measure))

        target = cell(quarter, "target")
        actual, to_date = cell(quarter, "actual"), cell(quarter, "actual_to_date")
        annual = cell(q4, "target") or cells.get((kpi.code, quarter.financial_year, "target"))
        target_value = target.value if target else None
        annual_value = annual.value if annual else None
        source = None
        if target_value is None and annual_value is None:
            target_value, annual_value, source = _configured_targets(kpi, quarter)
        information_only = bool(getattr(kpi, "information_only", False))
        assessment = assess_kpi(
            KpiResult(
                kpi_code=kpi.code, unit=kpi.unit, polarity=kpi.polarity, target_kind=kpi.target_kind,
                target=target_value, actual=actual.value if actual else None,
                actual_to_date=to_date.value if to_date else None,
                annual_target=annual_value if kpi.target_kind in ("cumulative", "annual", "half_yearly") else None,
                quarter=quarter.number, information_only=information_only, kpi_name=kpi.name,
                year_actuals_sum=_year_actuals_sum(cells, kpi.code, quarter),
                to_date_finding=_to_date_finding(inputs.findings, kpi.code, quarter), target_source=source,
            ),
            inputs.amber_margin,
        )
        chart, recomputed = _chart_to_date(inputs, kpi, quarters)
        rows.append((
            KpiRow(
                code=kpi.code, name=kpi.name, unit=kpi.unit, target_kind=kpi.target_kind,
                section=getattr(kpi, "section", None),
                information_only=information_only,
                target={q: c for q in quarters if (c := cell(q, "target")) is not None},
                actual={q: c for q in quarters if (c := cell(q, "actual")) is not None},
                actual_to_date={q: c for q in quarters if (c := cell(q, "actual_to_date")) is not None},
                assessment=assessment.status,
                assessment_note=assessment.basis,
                chart_to_date=chart,
                recomputed=recomputed,
                years=_year_cells(cells, kpi.code, quarter),
            ),
            assessment,
        ))
    return rows


_YEAR_LABEL = re.compile(r"\d{4}-\d{2}")


def _configured_targets(kpi: Any, quarter: FinancialQuarter) -> tuple[float | None, float | None, str | None]:
    """(quarter target, annual target, where from) from the KPI's configuration, for a return that gives
    no target: a per-quarter KPI's standing ``target``; otherwise the year's ``targets`` entry, else the
    standing ``target``, as the annual target. Never a target of another year."""
    where = f"configured in config/services for {quarter.financial_year}"
    if kpi.target_kind == "per_quarter":
        return (kpi.target, None, "the standing quarterly target configured in config/services") \
            if kpi.target is not None else (None, None, None)
    annual = kpi.targets.get(quarter.financial_year)
    if annual is not None:
        return None, annual, where
    if kpi.target is not None:
        return None, kpi.target, "the standing annual target configured in config/services"
    return None, None, None


def _is_year(period: str) -> bool:
    """Whether a warehouse period label is a financial-year column (``2016-17``), not a quarter."""
    return _YEAR_LABEL.fullmatch(period) is not None


def _year_cells(cells: Cells, kpi_code: str, quarter: FinancialQuarter) -> dict[str, dict[str, KpiCell]]:
    """The KPI's whole-year figures for the years before the report's: year -> measure -> cell."""
    years: dict[str, dict[str, KpiCell]] = {}
    for (code, period, measure), cell in cells.items():
        if code == kpi_code and _is_year(period) and period < quarter.financial_year:
            years.setdefault(period, {})[measure] = cell
    return years


def _chart_to_date(
    inputs: _KpiInputs, kpi: Any, quarters: list[FinancialQuarter]
) -> tuple[dict[FinancialQuarter, float], frozenset[FinancialQuarter]]:
    """The to-date series a cumulative or running KPI's chart plots: the stated actual to date, except
    where a finding flags it or none is stated, where a cumulative KPI shows the sum of the year's actuals
    instead (and a flagged running total is left out)."""
    if kpi.target_kind not in ("cumulative", "running"):
        return {}, frozenset()
    series: dict[FinancialQuarter, float] = {}
    recomputed = set()
    for q in quarters:
        stated = inputs.cells.get((kpi.code, q.label, "actual_to_date"))
        usable = stated is not None and stated.value is not None
        if usable and _to_date_finding(inputs.findings, kpi.code, q) is None:
            series[q] = float(stated.value)  # type: ignore[union-attr, arg-type]
        elif kpi.target_kind == "cumulative" and (total := _year_actuals_sum(inputs.cells, kpi.code, q)) is not None:
            series[q] = total
            recomputed.add(q)
    return series, frozenset(recomputed)


def _tracked(
    quarter: FinancialQuarter, status: queries.ReturnStatus | None
) -> tuple[FinancialQuarter, str, str | None]:
    return (quarter, status.status, status.file_path) if status else (quarter, "missing", None)


def _flagged(findings: list[Any], quarter: FinancialQuarter) -> set[str]:
    """KPIs whose figures for the quarter have a finding that a rating would rest on."""
    return {f.kpi_code for f in findings if f.kpi_code and f.affects_rating and quarter.label in f.periods}


def _rule_of(check: queries.FailedCheck) -> str | None:
    """The rule name the suite gives the failed check (``meta.rule``), found by its description (stable
    across suite edits, unlike its index), when it can be told."""
    from public_health.quality.gate import load_suite

    if check.suite is None or not check.description:
        return None
    for expectation in load_suite(check.suite).get("expectations", []):
        meta = expectation.get("meta", {})
        if meta.get("description") and check.description.startswith(meta["description"]):
            return meta.get("rule")
    return None


def _warnings(
    conn: Connection, service_code: str, quarter: FinancialQuarter, status: queries.ReturnStatus | None
) -> list[DataWarning]:
    out: list[DataWarning] = []
    if status is None:
        return out
    if status.status == "missing":
        out.append(DataWarning("error", f"No return received for {quarter.label}; it was due on {status.due_date}."))
    if status.status == "quarantined":
        out.append(DataWarning("error", f"The latest return failed its checks and was not loaded: "
                                        f"{status.error_summary}", status.file_path))
    for check in queries.latest_return_failures(conn, service_code, quarter):
        if _rule_of(check) in STATED_BY_FINDINGS:
            continue
        cells = ", ".join(str(e.get("cell")) for e in check.unexpected_examples[:5] if e.get("cell"))
        out.append(DataWarning(check.severity, check.description, f"{check.file_path} {cells}".strip()))
    return out


def assemble(
    engine: Engine, settings: Settings, quarter: FinancialQuarter, *, generated_at: datetime | None = None
) -> ReportData:
    """Everything the report shows for ``quarter`` (e.g. ``FinancialQuarter.parse("2017-18-Q2")``)."""
    from public_health.returns.services import report_services
    from public_health.stats.rag import load_overrides, service_rag

    quarter = require_quarter(quarter)
    services = report_services(config_dir())
    if not has_data(engine, quarter, services):
        raise ReportError(
            f"the warehouse holds no provider returns or KPI figures for {quarter.label}: refusing to build an "
            "empty report. Load the quarter's returns (provider_returns DAG) or choose another quarter."
        )
    area = settings.reports.performance.area
    england = settings.areas.england
    with engine.connect() as conn:
        name = queries.area_name(conn, area)
        overrides_path = config_dir() / "overrides" / f"{quarter.label}.yaml"
        overrides = load_overrides(overrides_path) if overrides_path.exists() else {}
        statuses = {r.service_code: r for r in queries.return_statuses(conn, quarter)}
        year_statuses = {
            q: {r.service_code: r for r in queries.return_statuses(conn, q)} for q in quarter.quarters_to_date()
        }
        indicator_ids = _service_indicator_ids(services)
        # The KPI table's columns: every quarter of the financial years shown, up to this quarter's year end.
        first_year = quarter.year - settings.reports.performance.years_shown + 1
        quarters = FinancialQuarter.range(FinancialQuarter(first_year, 1), quarter.year_quarters()[-1])
        pages = []
        for code in sorted(services, key=lambda c: services[c].name.lower()):
            service = services[code]
            status = statuses.get(code)
            if service.redacted:
                pages.append(ServicePage(code, service.name, service.provider, service.purpose, True,
                                         Rating("Grey", "Grey", ["The service is redacted in this report."]),
                                         "redacted", None, quarters, [], [], [], [], []))
                continue
            comments = [Comment(r.comment, r.lead, r.comment_date)
                        for r in queries.service_comments(conn, code, quarter)]
            cells = _service_cells(conn, code)
            findings = _findings(service, cells, comments, quarter)
            amber = float(service.rag_rules.amber_margin_pct)
            assessed = _kpi_rows(_KpiInputs(service, quarter, quarters, cells, findings, amber))
            kpis = [row for row, _ in assessed]
            return_status = status.status if status else "missing"
            rag = service_rag(
                [a for _, a in assessed], return_status=return_status,
                checks_failed=return_status == "quarantined", override=overrides.get(code),
                flagged=_flagged(findings, quarter),
            )
            ov = rag.override
            actions = [Action(r.action, r.action_by) for r in queries.service_actions(conn, code, quarter)]
            pages.append(
                ServicePage(
                    code=code, name=service.name, provider=service.provider, purpose=service.purpose, redacted=False,
                    rating=Rating(
                        computed=rag.computed, final=rag.final, reasons=list(rag.reasons),
                        override_rating=ov.rating if ov else None, override_reason=ov.reason if ov else None,
                        override_by=ov.decided_by if ov else None, override_on=ov.decided_on if ov else None,
                    ),
                    return_status=return_status,
                    return_file=status.file_path if status else None,
                    quarters=quarters,
                    phof=[],  # filled below, with when the figures were loaded
                    kpis=kpis,
                    comments=comments,
                    actions=actions,
                    warnings=_warnings(conn, code, quarter, status),
                    findings=findings,
                    years=sorted({year for row in kpis for year in row.years}),
                    returns=[_tracked(q, year_statuses[q].get(code)) for q in quarter.quarters_to_date()],
                )
            )
        phof_rows = {
            page.code: _phof_rows(conn, _PhofQuery(area, england, quarter.end, tuple(indicator_ids.get(page.code, []))))
            for page in pages if not page.redacted
        }
        phof, phof_source = _with_provenance(conn, settings, quarter.end, phof_rows)
        pages = [dataclasses.replace(p, phof=phof[p.code]) if p.code in phof else p for p in pages]
        batches = queries.batches_used(conn, quarters, [area, england])
    return ReportData(
        quarter=quarter,
        area_code=area,
        area_name=name if name is not None else area,
        generated_at=generated_at or datetime.now(UTC),
        services=pages,
        batches=batches,
        phof_source=phof_source,
    )


def output_dir(settings: Settings, quarter: FinancialQuarter) -> Path:
    """``<output>/reports/performance/2017-18-Q2``: where the quarter's report files go."""
    return settings.output_dir / "reports" / "performance" / require_quarter(quarter).label
