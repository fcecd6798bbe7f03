"""Assemble the quarterly performance report from the warehouse (marts and core), with the
statistics done here rather than taken on trust: significance against England and direction of
travel from confidence intervals, KPI assessments and service RAG from configured rules."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from public_health.config import Settings, config_dir, load_indicator_set
from public_health.periods import financial_quarter, parse_period

from .model import Action, Comment, DataWarning, KpiCell, KpiRow, PhofRow, Rating, ReportData, ServicePage

log = logging.getLogger(__name__)

SERVICE_INDICATOR_SET = "performance_report_services"
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


class ReportError(RuntimeError):
    """The report cannot be built for this quarter; the message says why."""


def quarter_label(quarter: str) -> str:
    year, q = financial_quarter(quarter)
    p = parse_period(quarter)
    return (f"{year}/{str(year + 1)[-2:]} Quarter {q} ({_MONTHS[p.start.month - 1]} to "
            f"{_MONTHS[p.end.month - 1]} {p.end.year})")


def quarters_shown(quarter: str, years: int) -> list[str]:
    year, _ = financial_quarter(quarter)
    return [f"{y}-{str(y + 1)[-2:]}-Q{q}" for y in range(year - years + 1, year + 1) for q in range(1, 5)]


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def has_data(engine: Engine, quarter: str, services: Iterable[str]) -> bool:
    """Whether the warehouse holds anything at all for the quarter (KPI figures or returns received)
    from the report's services (the BCF local activity return, say, does not count)."""
    codes = sorted(services)
    if not codes:
        return False
    names = ", ".join(f":s{i}" for i in range(len(codes)))
    row = _rows(
        engine,
        "SELECT (SELECT count(*) FROM core.fact_kpi_value WHERE period_label = :q AND measure <> 'target'"
        f" AND service_code IN ({names}))"
        f" + (SELECT count(*) FROM core.return_received WHERE period_label = :q AND service_code IN ({names}))",
        q=quarter, **{f"s{i}": c for i, c in enumerate(codes)},
    )
    return int(row[0][0]) > 0


def outstanding_returns(engine: Engine, quarter: str, services: Iterable[str]) -> list[str]:
    """The report's services whose return for ``quarter`` is not in yet (missing, not yet due or
    quarantined), per mart.return_status. Services outside ``services`` (a return with no report page,
    such as the BCF activity return) never hold the report up."""
    wanted = set(services)
    rows = _rows(
        engine,
        "SELECT service_code FROM mart.return_status WHERE period_label = :q"
        " AND status IN ('missing', 'not_yet_due', 'quarantined') ORDER BY service_code",
        q=quarter,
    )
    return [r.service_code for r in rows if r.service_code in wanted]


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


def _phof_rows(engine: Engine, area: str, indicator_ids: list[int]) -> list[PhofRow]:
    from public_health.stats.significance import compare_to_benchmark
    from public_health.stats.trend import Point, direction_of_travel

    if not indicator_ids:
        return []
    ids = ", ".join(str(int(i)) for i in indicator_ids)
    trend = _rows(
        engine,
        "SELECT indicator_id, phof_code, indicator_name, unit, polarity_code, sex, period_label, period_sort_key,"
        " value, lower_ci_95, upper_ci_95, england_value FROM mart.phof_trend"
        f" WHERE area_code = :a AND indicator_id IN ({ids}) AND category_type = ''"
        " ORDER BY indicator_id, sex, period_sort_key",
        a=area,
    )
    england = {
        (r.indicator_id, r.sex, r.period_label): r
        for r in _rows(
            engine,
            "SELECT indicator_id, sex, period_label, value, lower_ci_95, upper_ci_95 FROM core.fact_indicator_value"
            f" WHERE area_code = 'E92000001' AND indicator_id IN ({ids}) AND category_type = ''",
        )
    }
    series: dict[int, dict[str, list[Any]]] = {}
    for r in trend:
        series.setdefault(r.indicator_id, {}).setdefault(r.sex, []).append(r)
    out = []
    for indicator_id in indicator_ids:
        by_sex = series.get(indicator_id)
        if not by_sex:
            continue
        sex = "Persons" if "Persons" in by_sex else sorted(by_sex)[0]
        points = by_sex[sex]
        latest, previous = points[-1], (points[-2] if len(points) > 1 else None)
        polarity = latest.polarity_code or "neither"
        eng = england.get((indicator_id, sex, latest.period_label))
        significance = compare_to_benchmark(
            latest.value, latest.lower_ci_95, latest.upper_ci_95, eng.value if eng else None, polarity=polarity,
            benchmark_lower=eng.lower_ci_95 if eng else None, benchmark_upper=eng.upper_ci_95 if eng else None,
        )
        direction = direction_of_travel(
            Point(latest.value, latest.lower_ci_95, latest.upper_ci_95),
            Point(previous.value, previous.lower_ci_95, previous.upper_ci_95) if previous else None,
            polarity=polarity,
        )
        out.append(
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
            )
        )
    return out


def _kpi_rows(
    engine: Engine, service: Any, quarter: str, quarters: list[str], amber_margin: float
) -> list[tuple[KpiRow, Any]]:
    """Each KPI's row for the table, with its assessment for the quarter."""
    from public_health.stats.rag import KpiResult, assess_kpi

    figures = _rows(
        engine,
        "SELECT kpi_code, period_label, measure, value, missing_reason FROM core.fact_kpi_value"
        " WHERE service_code = :s",
        s=service.code,
    )
    cells: dict[tuple[str, str, str], KpiCell] = {
        (f.kpi_code, f.period_label, f.measure): KpiCell(f.value, f.missing_reason) for f in figures
    }
    year, q = financial_quarter(quarter)
    q4 = f"{year}-{str(year + 1)[-2:]}-Q4"
    rows = []
    for kpi in service.kpis:
        def cell(period: str, measure: str, kpi_code: str = kpi.code) -> KpiCell | None:
            return cells.get((kpi_code, period, measure))

        target, actual, to_date = cell(quarter, "target"), cell(quarter, "actual"), cell(quarter, "actual_to_date")
        annual = cell(q4, "target")
        assessment = assess_kpi(
            KpiResult(
                kpi_code=kpi.code, unit=kpi.unit, polarity=kpi.polarity, target_kind=kpi.target_kind,
                target=target.value if target else None, actual=actual.value if actual else None,
                actual_to_date=to_date.value if to_date else None,
                annual_target=annual.value if annual and kpi.target_kind == "cumulative" else None,
                quarter=q, information_only=bool(getattr(kpi, "information_only", False)),
            ),
            amber_margin,
        )
        rows.append((
            KpiRow(
                code=kpi.code, name=kpi.name, unit=kpi.unit, target_kind=kpi.target_kind,
                section=getattr(kpi, "section", None),
                information_only=bool(getattr(kpi, "information_only", False)),
                target={p: c for p in quarters if (c := cell(p, "target")) is not None},
                actual={p: c for p in quarters if (c := cell(p, "actual")) is not None},
                actual_to_date={p: c for p in quarters if (c := cell(p, "actual_to_date")) is not None},
                assessment=assessment.status,
                assessment_note=assessment.basis,
            ),
            assessment,
        ))
    return rows


def _warnings(engine: Engine, service_code: str, quarter: str, status: Any) -> list[DataWarning]:
    out: list[DataWarning] = []
    if status is None:
        return out
    if status.status == "missing":
        out.append(DataWarning("error", f"No return received for {quarter}; it was due on {status.due_date}."))
    if status.status == "quarantined":
        out.append(DataWarning("error", f"The latest return failed its checks and was not loaded: "
                                        f"{status.error_summary}", status.file_path))
    latest_batches = _rows(
        engine,
        "SELECT batch_id, file_path FROM core.return_received WHERE service_code = :s AND period_label = :q"
        " AND status IN ('loaded', 'loaded_with_warnings', 'quarantined') ORDER BY file_modified_at DESC LIMIT 1",
        s=service_code, q=quarter,
    )
    for batch in latest_batches:
        for r in _rows(
            engine,
            "SELECT severity, description, unexpected_examples FROM audit.dq_result WHERE batch_id = :b"
            " AND success = false ORDER BY expectation_index",
            b=batch.batch_id,
        ):
            examples = json.loads(r.unexpected_examples) if r.unexpected_examples else []
            cells = ", ".join(str(e.get("cell")) for e in examples[:5] if e.get("cell"))
            out.append(DataWarning(r.severity, r.description, f"{batch.file_path} {cells}".strip()))
    return out


def assemble(engine: Engine, settings: Settings, quarter: str, *, generated_at: datetime | None = None) -> ReportData:
    """Everything the report shows for ``quarter`` (e.g. 2017-18-Q2)."""
    from public_health.returns.services import report_services
    from public_health.stats.rag import load_overrides, service_rag

    financial_quarter(quarter)
    services = report_services(config_dir())
    if not has_data(engine, quarter, services):
        raise ReportError(
            f"the warehouse holds no provider returns or KPI figures for {quarter}: refusing to build an empty "
            "report. Load the quarter's returns (provider_returns DAG) or choose another quarter."
        )
    area = settings.reports.performance.area
    area_row = _rows(engine, "SELECT area_name FROM core.dim_area WHERE area_code = :a", a=area)
    overrides_path = config_dir() / "overrides" / f"{quarter}.yaml"
    overrides = load_overrides(overrides_path) if overrides_path.exists() else {}
    statuses = {r.service_code: r for r in _rows(
        engine,
        "SELECT service_code, status, due_date, file_path, error_summary FROM mart.return_status"
        " WHERE period_label = :q", q=quarter)}
    indicator_ids = _service_indicator_ids(services)
    quarters = quarters_shown(quarter, settings.reports.performance.years_shown)
    pages = []
    for code in sorted(services, key=lambda c: services[c].name.lower()):
        service = services[code]
        status = statuses.get(code)
        if service.redacted:
            pages.append(ServicePage(code, service.name, service.provider, service.purpose, True,
                                     Rating("Grey", "Grey", ["The service is redacted in this report."]),
                                     "redacted", None, quarters, [], [], [], [], []))
            continue
        amber = float(service.rag_rules.amber_margin_pct)
        assessed = _kpi_rows(engine, service, quarter, quarters, amber)
        kpis = [row for row, _ in assessed]
        return_status = status.status if status else "missing"
        rag = service_rag(
            [a for _, a in assessed], return_status=return_status,
            checks_failed=return_status == "quarantined", override=overrides.get(code),
        )
        ov = rag.override
        comments = [Comment(r.comment, r.lead, r.comment_date) for r in _rows(
            engine, "SELECT comment, lead, comment_date FROM core.fact_service_comment WHERE service_code = :s"
            " AND period_label = :q ORDER BY seq", s=code, q=quarter)]
        actions = [Action(r.action, r.action_by) for r in _rows(
            engine, "SELECT action, action_by FROM core.fact_service_action WHERE service_code = :s"
            " AND period_label = :q ORDER BY seq", s=code, q=quarter)]
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
                phof=_phof_rows(engine, area, indicator_ids.get(code, [])),
                kpis=kpis,
                comments=comments,
                actions=actions,
                warnings=_warnings(engine, code, quarter, status),
            )
        )
    batch_rows = _rows(
        engine,
        "SELECT DISTINCT batch_id FROM core.fact_kpi_value WHERE period_label IN ("
        + ", ".join(f"'{q}'" for q in quarters) + ") UNION SELECT DISTINCT batch_id FROM core.fact_indicator_value"
        " WHERE area_code IN (:a, 'E92000001') ORDER BY 1",
        a=area,
    )
    return ReportData(
        quarter=quarter,
        quarter_label=quarter_label(quarter),
        area_code=area,
        area_name=area_row[0][0] if area_row else area,
        generated_at=generated_at or datetime.now(UTC),
        services=pages,
        batches=[int(r[0]) for r in batch_rows],
    )


def output_dir(settings: Settings, quarter: str) -> Path:
    year, q = financial_quarter(quarter)
    return settings.output_dir / "reports" / "performance" / f"{year}-{str(year + 1)[-2:]}-Q{q}"
