"""Build the Better Care Fund quarterly return and board summary from configuration and the warehouse.

Plans come from ``config/bcf/<year>.yaml``; actuals from the warehouse (a Fingertips indicator or a
local return loaded by the provider returns pipeline). A missing actual becomes a visible gap note in
the return and the summary, never a blank or a zero.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from public_health.config import Settings, config_dir, read_yaml
from public_health.periods import FinancialQuarter
from public_health.reports import require_quarter
from public_health.warehouse.audit import RunContext
from public_health.warehouse.reports import ReportBuild, indicator_value, kpi_actual, record_report_build

from .model import BcfReturn, MetricLine, MetricQuarter, NationalCondition
from .view import quarter_words

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


def _actual(conn: Connection, metric: Any, hwb_code: str, quarter: FinancialQuarter) -> tuple[float | None, str | None]:
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


def check_sources(cfg: Any, services: dict[str, Any], path: str) -> None:
    """Every local_return source names a configured service and KPIs of it (ConfigError otherwise)."""
    from public_health.config import ConfigError

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


def nea_table(cfg: Any) -> dict[str, list[float | None]] | None:
    """The planning year's non-elective admission (NEA) plan, as template section 5.1 lays it out:
    each CCG's plan mapped to the HWB by resident share, the HWB plan, the additional BCF reduction,
    the plan after reduction and the risk-share value. Label -> [Q1, Q2, Q3, Q4, year]."""
    from .calculations import apportion_nea, plan_after_reduction, planned_reduction, risk_share_value

    plan = cfg.nea_plan
    if plan is None:
        return None

    def row(values: list[float]) -> list[float | None]:
        return [round(v) for v in values] + [round(sum(values))]

    table: dict[str, list[float | None]] = {}
    for ccg in plan.ccgs:
        table[f"{ccg.name}: plan x {ccg.resident_share:.1%} resident in {cfg.hwb.name}"] = row(apportion_nea([ccg]))
    mapped = apportion_nea(plan.ccgs)
    table["HWB planned NEA: sum of the mapped CCG plans"] = row(mapped)
    hwb = list(plan.published_hwb_plan) if plan.published_hwb_plan else mapped
    if plan.published_hwb_plan:
        table["HWB planned NEA as the template gives it (unrounded shares)"] = row(hwb)
    if plan.planned_reduction is None and plan.reduction_pct is None:
        return table
    reduction = planned_reduction(hwb, reduction=plan.planned_reduction, reduction_pct=plan.reduction_pct)
    table["Additional BCF reduction"] = row(reduction)
    table["HWB NEA plan after reduction"] = row(plan_after_reduction(hwb, reduction))
    if plan.risk_share and cfg.cost_per_admission:
        values = [float(risk_share_value(r, cfg.cost_per_admission)) for r in reduction]  # type: ignore[arg-type]
        table[f"Risk-share value, GBP (reduction x {cfg.cost_per_admission:,.0f} per admission)"] = row(values)
    return table


def _quarterly_plan(plan: dict[str, float], quarter: FinancialQuarter) -> dict[FinancialQuarter, float]:
    """A metric's quarterly plan values (config keys 'Q1'..'Q4') by the quarters of ``quarter``'s year, in
    the config's order; other keys ('year') are not quarters and are left out."""
    by_key = {f"Q{q.number}": q for q in quarter.year_quarters()}
    return {by_key[key]: value for key, value in plan.items() if key in by_key}


def assemble(
    engine: Engine, settings: Settings, quarter: FinancialQuarter, *, generated_at: datetime | None = None
) -> BcfReturn:
    """The return for ``quarter``: every configured metric with plan, actual (or why not), variance."""
    from public_health.returns.services import load_services

    from .calculations import plan_vs_actual
    from .config import load_bcf_year

    quarter = require_quarter(quarter)
    year = quarter.financial_year
    cfg = load_bcf_year(year, config_dir())
    check_sources(cfg, load_services(config_dir()), f"config/bcf/{year}.yaml")
    quarters = quarter.year_quarters()
    lines = []
    with engine.connect() as conn:
        for metric in cfg.metrics:
            quarterly = _quarterly_plan(metric.plan, quarter)
            annual = metric.plan.get("year")
            periods = quarters if metric.frequency == "quarterly" else [quarters[-1]]
            plan = {q: quarterly.get(q, annual if metric.frequency == "annual" else None) for q in periods}
            due = {q for q in periods if q <= quarter}   # later quarters: no actual expected yet
            actual: dict[FinancialQuarter, float | None] = {}
            gaps: list[str] = []
            for q in periods:
                if q not in due:
                    continue
                value, why = _actual(conn, metric, cfg.hwb.area_code, q)
                actual[q] = value
                if value is None:
                    gaps.append(f"Actual not available for {quarter_words(q)}: {why}")
            if metric.frequency == "annual" and quarter.number < 4:
                gaps.append(f"Annual metric: the {year} actual is reported at year end (Q4)")
            cumulative = "count" in metric.unit
            rows = plan_vs_actual(plan, actual, metric.polarity, cumulative=cumulative)
            current = next((r for r in rows if r.period == quarter), None)
            latest = [r for r in rows if r.period in due]
            last = latest[-1] if latest else None
            lines.append(MetricLine(
                code=metric.code, name=metric.name, unit=metric.unit, frequency=metric.frequency,
                polarity=metric.polarity,
                quarters=[MetricQuarter(r.period, r.plan, r.actual, r.variance, r.variance_pct,
                                        None if r.actual is not None or r.period not in due
                                        else "not available") for r in rows],
                ytd_plan=last.ytd_plan if last else None, ytd_actual=last.ytd_actual if last else None,
                ytd_variance=last.ytd_variance if last else None,
                on_track=current.on_track if current else None,
                annual_plan=annual if annual is not None else (sum(quarterly.values()) if quarterly else None),
                actual_source=metric.actual_source.kind.replace("_", " "), gap_notes=gaps,
            ))
    conditions_path = config_dir() / "bcf" / f"{year}.conditions.yaml"
    conditions = [
        NationalCondition(str(c["code"]), c["text"], None, None)
        for c in ((read_yaml(conditions_path) or {}).get("conditions", []) if conditions_path.exists() else [])
    ]
    return BcfReturn(
        planning_year=year, quarter=quarter, hwb_name=cfg.hwb.name, hwb_code=cfg.hwb.area_code,
        generated_at=generated_at or datetime.now(UTC), metrics=lines, conditions=conditions,
        narrative={k: "" for k in NARRATIVE_FIELDS}, sign_off_fields=SIGN_OFF_FIELDS, nea=nea_table(cfg),
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
    gaps = [n for m in data.metrics for n in m.gap_notes]
    run = run or RunContext()
    with engine.begin() as conn:
        record_report_build(conn, ReportBuild(report=REPORT, quarter=quarter, built_at=datetime.now(UTC),
                                              outputs=outputs, run=run))
    for note in gaps:
        log.warning("%s", note)
    return {"quarter": quarter.label, "folder": str(folder), "outputs": outputs, "gaps": gaps}
