"""Build the Better Care Fund quarterly return and board summary from configuration and the warehouse.

Plans come from ``config/bcf/<year>.yaml``; actuals from the warehouse (a Fingertips indicator or a
local return loaded by the provider returns pipeline). A missing actual becomes a visible gap note in
the return and the summary, never a blank or a zero.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from public_health.config import Settings, config_dir, read_yaml
from public_health.periods import financial_quarter
from public_health.warehouse.audit import RunContext

from .model import BcfReturn, MetricLine, MetricQuarter, NationalCondition

log = logging.getLogger(__name__)

REPORT = "bcf_return"
NARRATIVE_FIELDS = ("progress", "challenges", "plans_next_quarter")
SIGN_OFF_FIELDS = ["Completed by", "Email", "Telephone", "Approved by (HWB chair or delegate)", "Date approved"]


def planning_year_of(quarter: str) -> str:
    year, _ = financial_quarter(quarter)
    return f"{year}-{str(year + 1)[-2:]}"


def _kpi_actual(conn: Any, service: str, kpi: str, quarter: str) -> tuple[float | None, str | None]:
    row = conn.execute(
        text("SELECT value, missing_reason FROM core.fact_kpi_value WHERE service_code = :s AND kpi_code = :k"
             " AND period_label = :q AND measure = 'actual'"),
        {"s": service, "k": kpi, "q": quarter},
    ).first()
    if row is None:
        return None, f"no loaded {service} return for {quarter[:7]} {quarter[-2:]} gives {kpi}"
    if row.value is None:
        return None, f"the {service} return for {quarter[:7]} {quarter[-2:]} gives {kpi} as '{row.missing_reason}'"
    return float(row.value), None


def _actual(engine: Engine, metric: Any, hwb_code: str, quarter: str) -> tuple[float | None, str | None]:
    """(actual, why missing) for one quarter."""
    source = metric.actual_source
    year = planning_year_of(quarter)
    with engine.connect() as conn:
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
                                  f"{quarter}: no average")
                return value / denominator, None
            if source.rate is not None:
                population = source.rate.denominator(int(quarter[-1]))
                if population is None:
                    return None, f"config/bcf/{year}.yaml gives no population for {quarter[-2:]} to make the rate"
                return value / population * source.rate.per, None
            return value, None
        if source.kind == "fingertips" and source.indicator_id:
            fy_label = f"{year[:4]}/{year[5:]}"
            row = conn.execute(
                text("SELECT value FROM core.fact_indicator_value WHERE indicator_id = :i AND area_code = :a"
                     " AND period_label = :p AND category_type = '' ORDER BY sex LIMIT 1"),
                {"i": source.indicator_id, "a": hwb_code, "p": fy_label},
            ).first()
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


def _plan_key(key: str, year: str) -> str | None:
    """Config plan keys ('Q1'..'Q4' or 'year') as quarter labels; None for the annual plan."""
    return f"{year}-{key}" if key.startswith("Q") else None


def assemble(engine: Engine, settings: Settings, quarter: str, *, generated_at: datetime | None = None) -> BcfReturn:
    """The return for ``quarter``: every configured metric with plan, actual (or why not), variance."""
    from .calculations import plan_vs_actual
    from .config import load_bcf_year

    year = planning_year_of(quarter)
    from public_health.returns.services import load_services

    cfg = load_bcf_year(year, config_dir())
    check_sources(cfg, load_services(config_dir()), f"config/bcf/{year}.yaml")
    _, q_now = financial_quarter(quarter)
    quarters = [f"{year}-Q{q}" for q in range(1, 5)]
    lines = []
    for metric in cfg.metrics:
        quarterly = {_plan_key(k, year): v for k, v in metric.plan.items() if _plan_key(k, year)}
        annual = metric.plan.get("year")
        periods = quarters if metric.frequency == "quarterly" else [f"{year}-Q4"]
        plan = {q: quarterly.get(q, annual if metric.frequency == "annual" else None) for q in periods}
        actual: dict[str, float | None] = {}
        gaps: list[str] = []
        for q in periods:
            if int(q[-1]) > q_now:
                continue   # not due yet: no actual expected
            value, why = _actual(engine, metric, cfg.hwb.area_code, q)
            actual[q] = value
            if value is None:
                gaps.append(f"Actual not available for {q[:7]} {q[-2:]}: {why}")
        if metric.frequency == "annual" and q_now < 4:
            gaps.append(f"Annual metric: the {year} actual is reported at year end (Q4)")
        cumulative = "count" in metric.unit
        rows = plan_vs_actual(plan, actual, metric.polarity, cumulative=cumulative)
        current = next((r for r in rows if r.period == quarter), None)
        latest = [r for r in rows if int(r.period[-1]) <= q_now]
        last = latest[-1] if latest else None
        lines.append(MetricLine(
            code=metric.code, name=metric.name, unit=metric.unit, frequency=metric.frequency,
            polarity=metric.polarity,
            quarters=[MetricQuarter(r.period, r.plan, r.actual, r.variance, r.variance_pct,
                                    None if r.actual is not None or int(r.period[-1]) > q_now
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


def build_return(engine: Engine, settings: Settings, quarter: str, run: RunContext | None = None) -> dict[str, Any]:
    from .render import write_return_xlsx, write_summary_html, write_summary_pdf

    data = assemble(engine, settings, quarter)
    folder = settings.output_dir / "bcf" / quarter
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
        conn.execute(
            text("INSERT INTO audit.report_build (report, period_label, built_at, outputs, dag_id, run_id, task_id)"
                 " VALUES (:r, :q, :t, :o, :d, :ru, :ta)"),
            {"r": REPORT, "q": quarter, "t": datetime.now(UTC), "o": json.dumps(outputs, sort_keys=True),
             "d": run.dag_id, "ru": run.run_id, "ta": run.task_id},
        )
    for note in gaps:
        log.warning("%s", note)
    return {"quarter": quarter, "folder": str(folder), "outputs": outputs, "gaps": gaps}
