"""Build the Better Care Fund quarterly return and board summary from configuration and the warehouse.

Plans, the papers' reported statuses, the national conditions' answers, the NEA plan and the pay for
performance / risk share figures come from ``config/bcf/`` (each with its line in the reference
papers); actuals from the warehouse (a Fingertips indicator or a local return loaded by the provider
returns pipeline). A missing actual becomes a visible gap note in the return and the summary, never a
blank or a zero, and a metric that cannot be judged says why.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from public_health.config import ConfigError, Settings, config_dir
from public_health.periods import FinancialQuarter
from public_health.reports import require_quarter
from public_health.warehouse.audit import RunContext
from public_health.warehouse.reports import ReportBuild, indicator_value, kpi_actual, record_report_build

from .config import BcfMetric, BcfYear, Papers, load_bcf_year, load_conditions, load_papers
from .model import (
    BcfReturn,
    FinanceSection,
    MetricLine,
    MetricQuarter,
    MetricStatus,
    NationalCondition,
    SourcedTable,
)
from .sections import nea_table, pay_for_performance_section, risk_share_section
from .view import gap_notes, missing_actual_note, quarter_words

log = logging.getLogger(__name__)

REPORT = "bcf_return"
NARRATIVE_FIELDS = ("progress", "challenges", "plans_next_quarter")
SIGN_OFF_FIELDS = ["Completed by", "Email", "Telephone", "Approved by (HWB chair or delegate)", "Date approved"]


def _kpi_actual(conn: Connection, service: str, kpi: str, quarter: FinancialQuarter) -> tuple[float | None, str | None]:
    row = kpi_actual(conn, service, kpi, quarter)
    if row is None:
        return None, f"no loaded {service} return for {quarter_words(quarter)} gives {kpi}"
    if row.value is None:
        return None, f"the {service} return for {quarter_words(quarter)} gives {kpi} as '{row.missing_reason}'"
    return float(row.value), None


def _actual(
    conn: Connection, metric: BcfMetric, hwb_code: str, quarter: FinancialQuarter
) -> tuple[float | None, str | None]:
    """(actual, why missing) for one quarter."""
    source = metric.actual_source
    year = quarter.financial_year
    if source.kind == "local_return" and source.service_code and source.kpi_code:
        value, why = _kpi_actual(conn, source.service_code, source.kpi_code, quarter)
        if value is None:
            return None, why
        if source.denominator_kpi_code:
            denominator, why = _kpi_actual(conn, source.service_code, source.denominator_kpi_code, quarter)
            if denominator is None:
                return None, why
            if denominator == 0:
                return None, (f"{source.denominator_kpi_code} is 0 in the {source.service_code} return for "
                              f"{quarter.label}: no average")
            return value / denominator, None
        if source.rate is not None:
            population = source.rate.denominator(quarter.number)
            if population is None:
                return None, f"config/bcf/{year}.yaml gives no population for Q{quarter.number} to make the rate"
            return value / population * source.rate.per, None
        return value, None
    if source.kind == "fingertips" and source.indicator_id:
        fy_label = year.replace("-", "/")   # 2016/17, as Fingertips publishes a financial year
        row = indicator_value(conn, source.indicator_id, hwb_code, fy_label)
        if metric.frequency == "annual" or row is not None:
            if row is None:
                return None, (f"Fingertips indicator {source.indicator_id} has no {fy_label} value for "
                              f"{hwb_code} yet")
            return row.value, None
        return None, (f"Fingertips publishes indicator {source.indicator_id} for whole years; no quarterly "
                      "actual")
    return None, source.note or "no source of actuals is configured for this metric"


def check_sources(cfg: BcfYear, services: dict[str, Any], path: str) -> None:
    """Every local_return source names a configured service and KPIs of it (ConfigError otherwise)."""
    for i, metric in enumerate(cfg.metrics):
        source = metric.actual_source
        if source.kind != "local_return":
            continue
        where = f"{path}: metrics.{i}.actual_source"
        service = services.get(source.service_code)
        if service is None:
            raise ConfigError(f"{where}.service_code: no service {source.service_code!r} in config/services")
        codes = {k.code for k in service.kpis}
        for key in ("kpi_code", "denominator_kpi_code"):
            code = getattr(source, key)
            if code is not None and code not in codes:
                raise ConfigError(f"{where}.{key}: {code!r} is not a KPI of {source.service_code} "
                                  f"(it has {', '.join(sorted(codes))})")


def _quarterly_plan(plan: dict[str, float], quarter: FinancialQuarter) -> dict[FinancialQuarter, float]:
    """A metric's quarterly plan values (config keys 'Q1'..'Q4') by the quarters of ``quarter``'s year, in
    the config's order; other keys ('year') are not quarters and are left out."""
    by_key = {f"Q{q.number}": q for q in quarter.year_quarters()}
    return {by_key[key]: value for key, value in plan.items() if key in by_key}


def metric_status(metric: BcfMetric, on_track: bool | None, quarter: FinancialQuarter, papers: Papers) -> MetricStatus:
    """The status printed for a metric: computed from its actuals when they allow a judgement for
    ``quarter``; otherwise the status the papers report (their words, period and line); otherwise
    "not assessed" with the reason."""
    if on_track is not None:
        to_date = " to date" if "count" in metric.unit else ""
        return MetricStatus(on_track, "computed", f"actual against plan{to_date}, {quarter_words(quarter)}")
    reported = metric.reported_status
    if reported is not None:
        judged = {"on_track": True, "off_track": False, "not_assessed": None}[reported.status]
        return MetricStatus(judged, "reported", reported.quote.text, papers.cite(reported.quote.line),
                            reported.period)
    return MetricStatus(None, "none", f"no actual for {quarter_words(quarter)} and no status reported in the papers")


def _metric_line(conn: Connection, cfg: BcfYear, metric: BcfMetric, quarter: FinancialQuarter,
                 papers: Papers) -> MetricLine:
    """One metric for the return of ``quarter``: plan, actual (or why not), variance and status."""
    from .calculations import plan_vs_actual

    year = quarter.financial_year
    quarters = quarter.year_quarters()
    plan_values = metric.plan_values
    quarterly = _quarterly_plan(plan_values, quarter)
    annual = plan_values.get("year")
    periods = quarters if metric.frequency == "quarterly" else [quarters[-1]]
    plan = {q: quarterly.get(q, annual if metric.frequency == "annual" else None) for q in periods}
    due = {q for q in periods if q <= quarter}   # later quarters: no actual expected yet
    actual: dict[FinancialQuarter, float | None] = {}
    why_missing: dict[FinancialQuarter, str] = {}
    gaps: list[str] = []
    for q in periods:
        if q not in due:
            continue
        value, why = _actual(conn, metric, cfg.hwb.area_code, q)
        actual[q] = value
        if value is None:
            why_missing[q] = why or "reason not recorded"
            gaps.append(missing_actual_note(q, why_missing[q]))
    if metric.frequency == "annual" and quarter.number < 4:
        gaps.append(f"Annual metric: the {year} actual is reported at year end (Q4)")
    rows = plan_vs_actual(plan, actual, metric.polarity, cumulative="count" in metric.unit)
    current = next((r for r in rows if r.period == quarter), None)
    latest = [r for r in rows if r.period in due]
    last = latest[-1] if latest else None
    on_track = current.on_track if current else None
    return MetricLine(
        code=metric.code, name=metric.name, unit=metric.unit, frequency=metric.frequency,
        polarity=metric.polarity,
        quarters=[MetricQuarter(r.period, r.plan, r.actual, r.variance, r.variance_pct, why_missing.get(r.period))
                  for r in rows],
        ytd_plan=last.ytd_plan if last else None, ytd_actual=last.ytd_actual if last else None,
        ytd_variance=last.ytd_variance if last else None,
        on_track=on_track,
        annual_plan=annual if annual is not None else (sum(quarterly.values()) if quarterly else None),
        actual_source=metric.actual_source.kind.replace("_", " "), gap_notes=gaps,
        status=metric_status(metric, on_track, quarter, papers),
        plan_source=papers.cite(*(f.line for f in metric.plan.values())) if metric.plan else None,
    )


def national_conditions(year: str, papers: Papers) -> tuple[list[NationalCondition], str | None]:
    """The year's national conditions with the papers' answers and sources, and why they carry none
    when the papers do not answer them."""
    conditions = load_conditions(year, config_dir())
    if conditions is None:
        return [], None
    out = []
    for c in conditions.conditions:
        lines = ([c.answer.line] if c.answer else []) + [q.line for q in c.comments]
        out.append(NationalCondition(
            c.code, c.text, None if c.answer is None else c.answer.text == "Yes",
            " ".join(q.text for q in c.comments) or None,
            c.answer.text if c.answer else None,
            papers.cite(*lines) if lines else None,
        ))
    return out, conditions.unanswered


def finance_sections(cfg: BcfYear, papers: Papers, quarter: FinancialQuarter) -> list[FinanceSection]:
    """Pay for performance (a year with a scheme) and the NEA risk share (a year with one); the risk
    share carries the previous year's pay-for-performance result when that year has one."""
    sections = []
    if cfg.pay_for_performance is not None:
        sections.append(pay_for_performance_section(cfg.pay_for_performance, papers))
    previous_year = quarter.year_quarters()[0].previous().financial_year
    try:
        previous = load_bcf_year(previous_year, config_dir()).pay_for_performance
    except ConfigError:
        previous = None   # no configuration for the previous year
    risk = risk_share_section(cfg, papers, previous)
    if risk is not None:
        sections.append(risk)
    return sections


def _cited(data: list[MetricLine], conditions: list[NationalCondition], nea: SourcedTable | None,
           finance: list[FinanceSection]) -> str:
    """Every citation the return prints, as one text (for the legend of paper names)."""
    parts = [m.plan_source or "" for m in data] + [m.status.source or "" for m in data if m.status]
    parts += [c.source or "" for c in conditions]
    tables = ([nea] if nea else []) + [f.table for f in finance if f.table]
    parts += [r.source for t in tables for r in t.rows] + [n for t in tables for n in t.notes]
    parts += [a.source for f in finance for a in f.amounts] + [n for f in finance for n in f.notes]
    return " ".join(parts)


def assemble(
    engine: Engine, settings: Settings, quarter: FinancialQuarter, *, generated_at: datetime | None = None
) -> BcfReturn:
    """The return for ``quarter``: every configured metric with plan, actual (or why not), variance and
    status; the national conditions as the papers answer them; the NEA plan; pay for performance and
    the risk share."""
    from public_health.returns.services import load_services

    quarter = require_quarter(quarter)
    year = quarter.financial_year
    cfg = load_bcf_year(year, config_dir())
    papers = load_papers(config_dir())
    check_sources(cfg, load_services(config_dir()), f"config/bcf/{year}.yaml")
    with engine.connect() as conn:
        lines = [_metric_line(conn, cfg, metric, quarter, papers) for metric in cfg.metrics]
    conditions, unanswered = national_conditions(year, papers)
    nea = nea_table(cfg, papers, quarter)
    finance = finance_sections(cfg, papers, quarter)
    return BcfReturn(
        planning_year=year, quarter=quarter, hwb_name=cfg.hwb.name, hwb_code=cfg.hwb.area_code,
        generated_at=generated_at or datetime.now(UTC), metrics=lines, conditions=conditions,
        conditions_unanswered=unanswered, narrative={k: "" for k in NARRATIVE_FIELDS},
        sign_off_fields=SIGN_OFF_FIELDS, nea=nea, finance=finance,
        sources=papers.legend(_cited(lines, conditions, nea, finance)),
    )


def build_return(
    engine: Engine, settings: Settings, quarter: FinancialQuarter, run: RunContext | None = None
) -> dict[str, Any]:
    """Write bcf-return.xlsx, board-summary.html and board-summary.pdf for ``quarter`` and record the build."""
    from .html import write_summary_html, write_summary_pdf
    from .xlsx import write_return_xlsx

    data = assemble(engine, settings, quarter)
    folder = settings.output_dir / "bcf" / quarter.label
    folder.mkdir(parents=True, exist_ok=True)
    paths = [
        write_return_xlsx(data, folder / "bcf-return.xlsx"),
        write_summary_html(data, folder / "board-summary.html"),
        write_summary_pdf(data, folder / "board-summary.pdf"),
    ]
    outputs = {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}
    gaps = [n for m in data.metrics for n in gap_notes(m, data.quarter)]
    run = run or RunContext()
    with engine.begin() as conn:
        record_report_build(conn, ReportBuild(report=REPORT, quarter=quarter, built_at=datetime.now(UTC),
                                              outputs=outputs, run=run))
    for note in gaps:
        log.warning("%s", note)
    return {"quarter": quarter.label, "folder": str(folder), "outputs": outputs, "gaps": gaps}
