"""The return's sections built from the papers' own tables: the non-elective admission (NEA) plan of
template section 5.1 (the CCG rows as printed), the 2015 pay-for-performance scheme and the 2016-17 NEA
risk share.

Every printed figure comes from ``config/bcf/<year>.yaml`` with its line in the reference text and is
cited with it; what the return works out (sums, the formula's result, the risk-share value) is marked
as worked and checked against what the papers print. Where the two differ the section says so in a
note rather than choosing one quietly.
"""

from __future__ import annotations

from collections.abc import Sequence

from public_health.periods import FinancialQuarter

from .calculations import apportion_nea, pay_for_performance, plan_after_reduction, risk_share_value
from .config import BcfYear, Figure, NeaPlan, Papers, PayForPerformance, RiskShare
from .model import Amount, FinanceSection, SourcedTable, TableRow
from .view import format_count, format_money, format_values, quarter_words

SUM_OF_CCG_ROWS = "Sum of the printed CCG rows"
HWB_PLAN = "Total HWB planned NEA (as printed)"
REDUCTION = "Additional BCF reduction (as printed)"
AFTER_REDUCTION = "HWB NEA plan after reduction"
RISK_SHARE_PRINTED = "Risk share as printed"
RISK_SHARE_WORKED = "Worked: reduction x cost of an admission"


def _lines(*groups: Figure | Sequence[Figure] | None) -> list[int]:
    out: list[int] = []
    for group in groups:
        if group is None:
            continue
        out += [group.line] if isinstance(group, Figure) else [f.line for f in group]
    return out


def _block(*groups: Figure | Sequence[Figure] | None) -> tuple[int, int]:
    """The first and last line of a row the papers print as one block of lines (a CCG's row of
    template 5.1 runs over consecutive lines: its shares, then plan and mapped figure in turn)."""
    lines = _lines(*groups)
    return min(lines), max(lines)


def _printed(figures: Sequence[Figure], total: Figure | None) -> list[float | None]:
    return [f.value for f in figures] + [total.value if total is not None else None]


def _with_total(values: Sequence[float]) -> list[float | None]:
    return [*values, sum(values)]


def _disagree(what: str, worked: Sequence[float | None], printed: Sequence[float | None], source: str) -> list[str]:
    """A note when a worked row and the papers' printed row differ (nothing when they agree)."""
    if all(w is None or p is None or round(w) == round(p) for w, p in zip(worked, printed, strict=True)):
        return []
    return [f"The papers disagree with themselves: {what} works out at {format_values(worked)}, but "
            f"{source} prints {format_values(printed)}."]


# --------------------------------------------------------------------------------------------------
# NEA plan (template section 5.1)
# --------------------------------------------------------------------------------------------------


def nea_table(cfg: BcfYear, papers: Papers, quarter: FinancialQuarter) -> SourcedTable | None:
    """Template section 5.1 as printed: each CCG's plan and its mapped HWB figures (its row), the HWB
    total, the additional reduction and the plan after it, with the rounding note that explains why the
    printed CCG rows do not add up to the printed HWB total. (The risk share is its own section.)"""
    plan = cfg.nea_plan
    if plan is None:
        return None
    columns = [quarter_words(q) for q in quarter.year_quarters()] + ["Total"]
    rows: list[TableRow] = []
    notes: list[str] = []
    for ccg in plan.ccgs:
        first, last = _block(ccg.resident_pct, ccg.hwb_population_pct, ccg.plan, ccg.hwb_plan_total)
        block = papers.cite(*range(first, last + 1))
        rows.append(TableRow(f"{ccg.name}: CCG total NEA plan", _printed(ccg.plan, ccg.plan_total), block,
                             detail=True))
        rows.append(TableRow(
            f"{ccg.name} ({ccg.resident_pct.value:.1f}% / {ccg.hwb_population_pct.value:.1f}%)",
            _printed(ccg.hwb_plan, ccg.hwb_plan_total), block))
        notes += _disagree(f"{ccg.name}'s CCG plan over the year", [sum(ccg.quarterly_plan)],
                           [ccg.plan_total.value], papers.cite(ccg.plan_total.line))
    rows.append(TableRow("CCG plans, totals row", _printed(plan.ccg_plan_totals, plan.ccg_plan_total),
                         papers.cite(*_lines(plan.ccg_plan_totals, plan.ccg_plan_total)), detail=True))
    summed = [sum(c.hwb_plan[q].value for c in plan.ccgs) for q in range(4)]
    summed_total = sum(c.hwb_plan_total.value for c in plan.ccgs)
    rows.append(TableRow(SUM_OF_CCG_ROWS, [*summed, summed_total], "worked from the rows above", worked=True))
    hwb = plan.published_hwb_plan
    rows.append(TableRow(HWB_PLAN, _printed(plan.hwb_plan, plan.hwb_plan_total),
                         papers.cite(*_lines(plan.hwb_plan, plan.hwb_plan_total))))
    notes.append(_rounding_note(summed, summed_total, plan, papers))
    mapped = apportion_nea(plan.ccgs)
    notes.append(
        f"Mapping each CCG plan with its printed one-decimal share gives {format_values(mapped)} "
        f"({format_count(sum(mapped))} for the year), within "
        f"{max(abs(m - h) / h for m, h in zip(mapped, hwb, strict=True)) * 100:.2f}% of the printed HWB "
        "plan: the printed shares are rounded, the template used the unrounded ones.")
    notes += _disagree("the HWB plan over the year", [sum(hwb)], [plan.hwb_plan_total.value],
                       papers.cite(plan.hwb_plan_total.line))
    reduction = plan.reduction_values
    if reduction is None and plan.reduction_pct is not None:
        reduction = [h * plan.reduction_pct / 100 for h in hwb]
    title = (f"Template section 5.1: each CCG's plan mapped to {cfg.hwb.name}, as printed (in brackets: share "
             f"of the CCG's registered population resident in {cfg.hwb.name} / share of {cfg.hwb.name}'s "
             "residents registered with the CCG)")
    if reduction is None:
        return SourcedTable(title, columns, rows, notes)
    if plan.planned_reduction is not None:
        rows.append(TableRow(REDUCTION, _printed(plan.planned_reduction, plan.planned_reduction_total),
                             papers.cite(*_lines(plan.planned_reduction, plan.planned_reduction_total))))
    after = _with_total(plan_after_reduction(hwb, reduction))
    rows.append(TableRow(AFTER_REDUCTION, after, "worked: HWB plan less the reduction", worked=True))
    notes += _after_reduction_checks(cfg, after, papers)
    return SourcedTable(title, columns, rows, notes)


def _rounding_note(summed: list[float], summed_total: float, plan: NeaPlan, papers: Papers) -> str:
    printed = plan.published_hwb_plan
    if [round(s) for s in summed] == [round(p) for p in printed] and round(summed_total) == round(
            plan.hwb_plan_total.value):
        return "The printed CCG rows add up to the printed HWB total."
    by_quarter = sum(summed)
    return (
        f"Rounding: the printed CCG rows add up to {format_values(summed)} ({format_count(by_quarter)} over "
        f"the quarters), not the printed HWB total of {format_values(printed)} "
        f"({format_count(plan.hwb_plan_total.value)}; {papers.cite(*_lines(plan.hwb_plan, plan.hwb_plan_total))}). "
        "The template maps each CCG's plan with its unrounded share, prints every mapped figure rounded on "
        "its own, and prints as the HWB total the rounded sum of the unrounded figures. The CCG rows' own "
        f"'Total (Q1 - Q4)' figures add up to {format_count(summed_total)}.")


def _after_reduction_checks(cfg: BcfYear, after: list[float | None], papers: Papers) -> list[str]:
    notes: list[str] = []
    plan = cfg.nea_plan
    assert plan is not None
    if plan.after_reduction_total is not None:
        notes += _disagree("the plan after reduction over the year", [after[-1]], [plan.after_reduction_total.value],
                           papers.cite(plan.after_reduction_total.line))
    metric = next((m for m in cfg.metrics if m.code == "non_elective_admissions"), None)
    if metric is not None and all(f"Q{q}" in metric.plan for q in range(1, 5)):
        printed = [metric.plan[f"Q{q}"] for q in range(1, 5)]
        notes += _disagree("the plan after reduction", after[:4], [f.value for f in printed],
                           papers.cite(*_lines(printed)))
    return notes


# --------------------------------------------------------------------------------------------------
# Pay for performance (2015) and the risk share (2016-17)
# --------------------------------------------------------------------------------------------------


def pay_for_performance_section(p4p: PayForPerformance, papers: Papers) -> FinanceSection:
    """The 2015 pay-for-performance scheme: plan against forecast by quarter and in total, what the
    formula pays, and the split the partners agreed instead, each with its source."""
    planned, forecast = [f.value for f in p4p.planned], [f.value for f in p4p.forecast]
    table = SourcedTable(
        f"Total emergency admissions, {p4p.period}", [*p4p.quarter_labels, "Total"],
        [
            TableRow("Planned activity", _printed(p4p.planned, p4p.planned_total),
                     papers.cite(*_lines(p4p.planned, p4p.planned_total))),
            TableRow("Forecast activity", _printed(p4p.forecast, p4p.forecast_total),
                     papers.cite(*_lines(p4p.forecast, p4p.forecast_total))),
            TableRow("Activity variance", _printed(p4p.variance, p4p.variance_total),
                     papers.cite(*_lines(p4p.variance, p4p.variance_total))),
        ],
    )
    notes = (
        _disagree("the planned total", [sum(planned)], [p4p.planned_total.value], papers.cite(p4p.planned_total.line))
        + _disagree("the forecast total", [sum(forecast)], [p4p.forecast_total.value],
                    papers.cite(p4p.forecast_total.line))
        + _disagree("forecast less plan", _with_total([f - p for f, p in zip(forecast, planned, strict=True)]),
                    _printed(p4p.variance, p4p.variance_total), papers.cite(*_lines(p4p.variance, p4p.variance_total)))
        + _disagree("the target (baseline less the reduction)", [p4p.baseline.value - p4p.target_reduction.value],
                    [p4p.planned_total.value], papers.cite(p4p.planned_total.line))
        + _disagree("the agreed split", [p4p.retained_by_ccgs.value + p4p.paid_into_bcf.value], [p4p.pot.value],
                    papers.cite(p4p.pot.line))
    )
    achieved = p4p.baseline.value - p4p.forecast_total.value
    earned = pay_for_performance(p4p.target_reduction.value, achieved, p4p.pot.value)
    change = "fell" if achieved > 0 else "rose"
    amounts = [
        Amount("Pay-for-performance pot", p4p.pot.value, "paid into the BCF in proportion to the actual reduction "
               "in emergency admissions during 2015", papers.cite(p4p.pot.line)),
        Amount(
            "Formula result", earned,
            f"{format_money(p4p.pot.value)} x actual reduction / target of {format_count(p4p.target_reduction.value)} "
            f"({format_count(p4p.reduction_pct.value, 1)}%), between 0 and 100%: admissions {change} from the "
            f"{format_count(p4p.baseline.value)} baseline to {format_count(p4p.forecast_total.value)} "
            f"({format_count(achieved, signed=True)} reduction)",
            papers.cite(p4p.baseline.line, p4p.target_reduction.line, p4p.forecast_total.line)),
        Amount("Agreed: kept by the CCGs", p4p.retained_by_ccgs.value,
               "to recognise over performance in non-elective admissions", papers.cite(p4p.retained_by_ccgs.line)),
        Amount("Agreed: paid into the BCF", p4p.paid_into_bcf.value,
               f"for the four schemes ({format_count(p4p.schemes_predicted.value)} admissions avoided predicted, "
               f"{format_count(p4p.schemes_avoided.value)} reported, "
               f"against {format_count(p4p.target_reduction.value)})",
               papers.cite(p4p.paid_into_bcf.line, p4p.schemes_predicted.line, p4p.schemes_avoided.line)),
    ]
    return FinanceSection(f"Pay for performance, {p4p.period}", table, amounts, notes)


def risk_share_section(
    cfg: BcfYear, papers: Papers, previous: PayForPerformance | None = None
) -> FinanceSection | None:
    """The NEA risk share of template section 5.1 (the cost of the admissions the plan seeks to avoid)
    beside the local risk pool the partners recommended, and, when the previous year had a
    pay-for-performance scheme, the result that made a risk pool expected."""
    plan = cfg.nea_plan
    if plan is None or plan.risk_share is None:
        return None
    share: RiskShare = plan.risk_share
    amounts: list[Amount] = []
    notes: list[str] = []
    reduction, cost = plan.reduction_values, cfg.cost_per_admission
    worked = None
    if reduction is not None and cost is not None:
        worked = [float(risk_share_value(r, cost.value) or 0) for r in reduction]
        notes += _disagree("the risk-share value", _with_total(worked), _printed(share.value, share.value_total),
                           papers.cite(*_lines(share.value, share.value_total)))
    lines = _lines(plan.planned_reduction_total, cost, share.value_total)
    working = (f"{format_count(sum(reduction))} admissions avoided x {format_money(cost.value)} an admission"
               if reduction is not None and cost is not None else "as printed")
    amounts.append(Amount(f"NEA risk share (local agreement: {share.agreed.text})", share.value_total.value,
                          working, papers.cite(*lines, share.agreed.line)))
    if share.local_risk_pool is not None:
        basis = (f"based on {format_count(share.local_risk_pool_admissions.value)} admissions avoided"
                 if share.local_risk_pool_admissions is not None else "as recommended")
        amounts.append(Amount("Local risk pool recommended", share.local_risk_pool.value, basis,
                              papers.cite(*_lines(share.local_risk_pool, share.local_risk_pool_admissions))))
    if previous is not None:
        notes.append(
            f"Pay for performance, {previous.period}: emergency admissions "
            f"{format_count(previous.forecast_total.value)} against a plan of "
            f"{format_count(previous.planned_total.value)}, "
            f"{format_count(previous.variance_total.value)} over "
            f"({papers.cite(*_lines(previous.planned_total, previous.forecast_total, previous.variance_total))}).")
    table = SourcedTable(
        "Risk share by quarter", [*(f"Q{n}" for n in range(1, 5)), "Total"],
        [TableRow(RISK_SHARE_PRINTED, _printed(share.value, share.value_total),
                  papers.cite(*_lines(share.value, share.value_total)), money=True)]
        + ([TableRow(RISK_SHARE_WORKED, _with_total(worked), "worked", money=True, worked=True)]
           if worked is not None else []),
    )
    return FinanceSection("NEA risk share", table, amounts, notes)
