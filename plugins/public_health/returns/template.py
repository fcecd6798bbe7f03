"""The XLSX return workbook a provider fills in each quarter, one per service and quarter.

Layout (the parser in :mod:`public_health.returns.parse` relies on it; change both together):

``Cover``
    labels in column A, values in column B at fixed cells (:data:`COVER_CELLS`): B3 service code,
    B4 service name, B5 provider, B6 period (``2017-18-Q2``), B7 return due date, then the provider's
    inputs B9 submitted by, B10 submission date, B11 contact email. Each has a workbook-level named
    range (:data:`COVER_NAMES`, e.g. ``ServiceCode``, ``Period``).
``KPIs``
    row 1 title, row 2 service and period, row 3 the quarter groups, row :data:`KPI_HEADER_ROW` (4)
    the header, KPI rows from :data:`KPI_FIRST_ROW` (5), one per KPI in configuration order.
    Columns A KPI code, B KPI name, C unit, D target kind, then from E, for Q1..Q4 of the financial
    year, three columns ``Qn Target``, ``Qn Actual``, ``Qn Actual to date``
    (:func:`value_column`).
``Comments``
    header row :data:`COMMENTS_HEADER_ROW`: Comment, Lead, Date; :data:`INPUT_ROWS` input rows.
``Actions``
    header row :data:`ACTIONS_HEADER_ROW`: Action, Action by (date); :data:`INPUT_ROWS` input rows.
``Instructions``
    plain-language guidance.

Input cells are light yellow, unlocked and validated; cells that do not apply (actual to date of a
KPI that is not cumulative, targets of a KPI without one, actuals of quarters after the return's)
are grey and locked. Every sheet is protected and so is the workbook structure, *without a
password*: protection is there to prevent accidental edits (inserting rows, overwriting KPI codes),
not for security, and anyone may lift it from Excel's Review tab.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from public_health.periods import FinancialQuarter

log = logging.getLogger(__name__)

COVER_SHEET = "Cover"
KPI_SHEET = "KPIs"
COMMENTS_SHEET = "Comments"
ACTIONS_SHEET = "Actions"
INSTRUCTIONS_SHEET = "Instructions"
SHEETS = (COVER_SHEET, KPI_SHEET, COMMENTS_SHEET, ACTIONS_SHEET, INSTRUCTIONS_SHEET)

#: field -> (cell, label in column A). Rows 3-7 are written by the template, 9-11 by the provider.
COVER_CELLS: dict[str, str] = {
    "service_code": "B3",
    "service_name": "B4",
    "provider": "B5",
    "period": "B6",
    "due_date": "B7",
    "submitted_by": "B9",
    "submission_date": "B10",
    "contact_email": "B11",
}
COVER_LABELS: dict[str, str] = {
    "service_code": "Service code",
    "service_name": "Service name",
    "provider": "Provider",
    "period": "Period",
    "due_date": "Return due by",
    "submitted_by": "Submitted by",
    "submission_date": "Submission date",
    "contact_email": "Contact email",
}
#: Workbook-level named ranges for the cover cells.
COVER_NAMES: dict[str, str] = {
    "service_code": "ServiceCode",
    "service_name": "ServiceName",
    "provider": "Provider",
    "period": "Period",
    "due_date": "DueDate",
    "submitted_by": "SubmittedBy",
    "submission_date": "SubmissionDate",
    "contact_email": "ContactEmail",
}
COVER_INPUTS = ("submitted_by", "submission_date", "contact_email")

KPI_TITLE_ROW = 1
KPI_HEADER_ROW = 4
KPI_FIRST_ROW = 5
KPI_FIXED_HEADERS = ("KPI code", "KPI name", "Unit", "Target kind")
KPI_FIRST_VALUE_COL = 5  # column E
MEASURES = ("target", "actual", "actual_to_date")
MEASURE_LABELS = {"target": "Target", "actual": "Actual", "actual_to_date": "Actual to date"}

COMMENTS_HEADER_ROW = 3
COMMENTS_HEADERS = ("Comment", "Lead", "Date")
ACTIONS_HEADER_ROW = 3
ACTIONS_HEADERS = ("Action", "Action by (date)")
INPUT_ROWS = 20

#: Words a provider may type for a figure that is missing; kept as missing with a reason, never 0.
ACCEPTED_MISSING_DISPLAY = ("blank", "-", "n/a", "tbc", "Not yet available", "Redacted")

PROTECTION_PASSWORD = None  # deliberately none: see the module docstring

INPUT_FILL = PatternFill("solid", start_color="FFFFF2CC")  # light yellow
GREY_FILL = PatternFill("solid", start_color="FFD9D9D9")
HEADER_FILL = PatternFill("solid", start_color="FFDDEBF7")
BOLD = Font(bold=True)
DATE_FORMAT = "dd/mm/yyyy"
PERCENT_PREFILL_FORMAT = "0.0%"

_QUARTER_MONTHS = {1: "Apr-Jun", 2: "Jul-Sep", 3: "Oct-Dec", 4: "Jan-Mar"}
_DATE_MIN, _DATE_MAX = "36526", "73415"  # Excel serials of 01/01/2000 and 31/12/2100


def template_filename(service_code: str, quarter: FinancialQuarter) -> str:
    """The file name a return must be saved as: ``<service_code>_<YYYY-YY-Qn>.xlsx``."""
    return f"{service_code}_{quarter.label}.xlsx"


def value_column(quarter_number: int, measure: str) -> int:
    """1-based column of ``Qn <measure>`` on the KPIs sheet (Q1 Target is E = 5)."""
    return KPI_FIRST_VALUE_COL + 3 * (quarter_number - 1) + MEASURES.index(measure)


def header_label(quarter_number: int, measure: str) -> str:
    return f"Q{quarter_number} {MEASURE_LABELS[measure]}"


def due_date(service: Any, quarter: FinancialQuarter) -> date | None:
    """Quarter end plus the service's ``return_due_days``, or None when not configured."""
    days = getattr(service, "return_due_days", None)
    if days is None:
        return None
    return quarter.end + timedelta(days=int(days))


def cell_applies(kpi: Any, quarter_number: int, measure: str, return_quarter: int) -> bool:
    """Whether the template offers a cell for input (else it is grey and locked)."""
    if measure == "target":
        return getattr(kpi, "target_kind", "none") != "none"
    if quarter_number > return_quarter:
        return False
    if measure == "actual_to_date":
        return getattr(kpi, "target_kind", None) in ("cumulative", "running")
    return True


def _kpi_validation(ref: str) -> DataValidation:
    words = "|-|\u2013|n/a|na|tbc|not yet available|redacted|pending|"
    formula = f'OR(AND(ISNUMBER({ref}),{ref}>=0),ISNUMBER(SEARCH("|"&TRIM({ref})&"|","{words}")))'
    return DataValidation(
        type="custom",
        formula1=formula,
        allow_blank=True,
        showInputMessage=True,
        showErrorMessage=True,
        promptTitle="KPI figure",
        prompt="A number (0 or more), a percentage as 90%, 0.9 or 90, or one of: "
        "Not yet available, tbc, n/a, -, Redacted. Leave blank if you have no figure.",
        errorTitle="Not a figure",
        error="Type a number of 0 or more (e.g. 1232 or 90%), or one of: Not yet available, tbc, n/a, -, Redacted.",
    )


def _date_validation(title: str) -> DataValidation:
    return DataValidation(
        type="date",
        operator="between",
        formula1=_DATE_MIN,
        formula2=_DATE_MAX,
        allow_blank=True,
        showInputMessage=True,
        showErrorMessage=True,
        promptTitle=title[:32],
        prompt="A date, e.g. 12/10/2017.",
        errorTitle="Not a date",
        error="Type a date as dd/mm/yyyy, e.g. 12/10/2017.",
    )


def _input(cell: Any, number_format: str | None = None) -> None:
    cell.fill = INPUT_FILL
    cell.protection = Protection(locked=False)
    if number_format:
        cell.number_format = number_format


def _protect(ws: Worksheet) -> None:
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # widening columns is harmless
    ws.protection.formatRows = False
    if PROTECTION_PASSWORD:
        ws.protection.password = PROTECTION_PASSWORD


def _write_cover(wb: Workbook, service: Any, quarter: FinancialQuarter) -> None:
    ws = wb.create_sheet(COVER_SHEET)
    ws["A1"] = f"Provider quarterly return: {service.name}"
    ws["A1"].font = Font(bold=True, size=14)
    q = quarter.number
    ws["A2"] = f"Financial year {quarter.financial_year}, quarter {q} ({_QUARTER_MONTHS[q]} {quarter.start.year})"
    due = due_date(service, quarter)
    values = {
        "service_code": service.code,
        "service_name": service.name,
        "provider": getattr(service, "provider", None) or "",
        "period": quarter.label,
        "due_date": due,
    }
    for key, ref in COVER_CELLS.items():
        row = int(ref[1:])
        ws.cell(row=row, column=1, value=COVER_LABELS[key]).font = BOLD
        cell = ws[ref]
        if key in COVER_INPUTS:
            _input(cell, DATE_FORMAT if key == "submission_date" else None)
        else:
            cell.value = values[key]
            if key == "due_date" and due is not None:
                cell.number_format = DATE_FORMAT
        wb.defined_names[COVER_NAMES[key]] = DefinedName(COVER_NAMES[key], attr_text=f"{COVER_SHEET}!$B${row}")
    ws["A13"] = "Yellow cells are for you to fill in. Figures go on the KPIs sheet; see Instructions."
    dv_date = _date_validation("Submission date")
    dv_date.add(COVER_CELLS["submission_date"])
    ref = COVER_CELLS["contact_email"]
    dv_email = DataValidation(
        type="custom",
        formula1=f'ISNUMBER(SEARCH("@",{ref}))',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not an email address",
        error="Type an email address, e.g. name@provider.nhs.uk.",
    )
    dv_email.add(ref)
    ws.add_data_validation(dv_date)
    ws.add_data_validation(dv_email)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 60
    _protect(ws)


def _prefill_cell(cell: Any, kpi: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str):
        cell.value = value
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"prefill value {value!r} for KPI {kpi.code} is not a number, None or text")
    if getattr(kpi, "unit", None) == "percent":
        cell.value = value / 100
        cell.number_format = PERCENT_PREFILL_FORMAT
    elif float(value).is_integer():
        cell.value = int(value)
    else:
        cell.value = value


def _write_kpis(
    wb: Workbook, service: Any, quarter: FinancialQuarter, prefill: Mapping[tuple[str, str, str], Any]
) -> None:
    ws = wb.create_sheet(KPI_SHEET)
    fy, return_q = quarter.financial_year, quarter.number
    ws.cell(row=KPI_TITLE_ROW, column=1, value=f"Key performance indicators: {service.name}").font = Font(
        bold=True, size=14
    )
    ws.cell(row=2, column=1, value=f"Service {service.code}, return for {quarter.label}")
    last_col = value_column(4, "actual_to_date")
    for each in quarter.year_quarters():
        q = each.number
        col = value_column(q, "target")
        ws.cell(row=3, column=col, value=f"Q{q} {fy} ({_QUARTER_MONTHS[q]} {each.start.year})").font = BOLD
        ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + 2)
    headers = list(KPI_FIXED_HEADERS) + [header_label(q, m) for q in range(1, 5) for m in MEASURES]
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=KPI_HEADER_ROW, column=col, value=text)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    kpis = list(getattr(service, "kpis", None) or [])
    known = {k.code for k in kpis}
    periods = {each.label for each in quarter.year_quarters()}
    for (code, period, measure), _value in prefill.items():
        if code not in known:
            raise ValueError(f"prefill: {code!r} is not a KPI of service {service.code!r}")
        if period not in periods:
            raise ValueError(f"prefill: period {period!r} is not a quarter of {fy}")
        if measure not in MEASURES:
            raise ValueError(f"prefill: measure {measure!r} is not one of {', '.join(MEASURES)}")

    last_row = KPI_FIRST_ROW + len(kpis) - 1
    validations: list[DataValidation] = []
    for offset, kpi in enumerate(kpis):
        row = KPI_FIRST_ROW + offset
        ws.cell(row=row, column=1, value=kpi.code)
        ws.cell(row=row, column=2, value=kpi.name).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=row, column=3, value=kpi.unit)
        ws.cell(row=row, column=4, value=getattr(kpi, "target_kind", None))
        for each in quarter.year_quarters():
            for measure in MEASURES:
                cell = ws.cell(row=row, column=value_column(each.number, measure))
                if cell_applies(kpi, each.number, measure, return_q):
                    _input(cell)
                else:
                    cell.fill = GREY_FILL
                _prefill_cell(cell, kpi, prefill.get((kpi.code, each.label, measure)))
    if kpis:
        for col in range(KPI_FIRST_VALUE_COL, last_col + 1):
            letter = get_column_letter(col)
            dv = _kpi_validation(f"{letter}{KPI_FIRST_ROW}")
            dv.add(f"{letter}{KPI_FIRST_ROW}:{letter}{last_row}")
            validations.append(dv)
    for dv in validations:
        ws.add_data_validation(dv)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 50
    ws.column_dimensions["C"].width = 10
    ws.column_dimensions["D"].width = 13
    for col in range(KPI_FIRST_VALUE_COL, last_col + 1):
        ws.column_dimensions[get_column_letter(col)].width = 11
    ws.freeze_panes = ws.cell(row=KPI_FIRST_ROW, column=KPI_FIRST_VALUE_COL)
    _protect(ws)


@dataclass(frozen=True)
class ListSheet:
    """The layout of a sheet of input rows (Comments, Actions): name, title, header row and headings, the
    1-based columns that hold dates, and column widths."""

    name: str
    title: str
    header_row: int
    headers: tuple[str, ...]
    date_cols: tuple[int, ...]
    widths: tuple[int, ...]


COMMENTS_LAYOUT = ListSheet(
    COMMENTS_SHEET, "Comments on performance", COMMENTS_HEADER_ROW, COMMENTS_HEADERS, (3,), (90, 25, 14)
)
ACTIONS_LAYOUT = ListSheet(ACTIONS_SHEET, "Key actions", ACTIONS_HEADER_ROW, ACTIONS_HEADERS, (2,), (90, 18))


def _write_list_sheet(wb: Workbook, layout: ListSheet, rows: list[tuple[Any, ...]]) -> None:
    name, title, header_row = layout.name, layout.title, layout.header_row
    headers, date_cols, widths = layout.headers, layout.date_cols, layout.widths
    ws = wb.create_sheet(name)
    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=14)
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=header_row, column=col, value=text)
        cell.font = BOLD
        cell.fill = HEADER_FILL
    n_rows = max(INPUT_ROWS, len(rows))
    for i in range(n_rows):
        row = header_row + 1 + i
        values = rows[i] if i < len(rows) else ()
        for col in range(1, len(headers) + 1):
            cell = ws.cell(row=row, column=col)
            _input(cell, DATE_FORMAT if col in date_cols else None)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if col - 1 < len(values) and values[col - 1] is not None:
                cell.value = values[col - 1]
    first, last = header_row + 1, header_row + n_rows
    for col in date_cols:
        letter = get_column_letter(col)
        dv = _date_validation(headers[col - 1])
        dv.add(f"{letter}{first}:{letter}{last}")
        ws.add_data_validation(dv)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    _protect(ws)


def _as_date(value: Any) -> Any:
    if isinstance(value, datetime | date) or value is None:
        return value
    return str(value)


def _comment_rows(items: Iterable[Any] | None) -> list[tuple[Any, ...]]:
    rows = []
    for item in items or ():
        if isinstance(item, Mapping):
            rows.append((item.get("comment"), item.get("lead"), _as_date(item.get("date"))))
        else:
            comment, lead, when = (tuple(item) + (None, None, None))[:3]
            rows.append((comment, lead, _as_date(when)))
    return rows


def _action_rows(items: Iterable[Any] | None) -> list[tuple[Any, ...]]:
    rows = []
    for item in items or ():
        if isinstance(item, Mapping):
            rows.append((item.get("action"), _as_date(item.get("action_by"))))
        else:
            action, by = (tuple(item) + (None, None))[:2]
            rows.append((action, _as_date(by)))
    return rows


def instructions_text(service: Any, quarter: FinancialQuarter) -> list[str]:
    """The lines of the Instructions sheet (also usable in a covering email)."""
    due = due_date(service, quarter)
    due_text = due.strftime("%d %B %Y").lstrip("0") if due else "the date agreed with your commissioner"
    name = template_filename(service.code, quarter)
    words = ", ".join(w for w in ACCEPTED_MISSING_DISPLAY if w != "blank")
    return [
        f"How to complete this return: {service.name}, {quarter.label}",
        "",
        f"Please return this workbook by {due_text}.",
        f"Save it as {name} (keep this file name; add _v2 or _resubmission at the end when you send a "
        "corrected copy) in the provider returns folder on the shared drive agreed with your commissioner.",
        "",
        "General",
        "- Fill in the light yellow cells only. Grey cells do not apply to this return.",
        "- Do not add, delete, move or rename rows, columns or sheets, and do not change the KPI codes in "
        "column A of the KPIs sheet. The sheets are protected (with no password) to prevent accidents.",
        "- If a figure contains a formula, save the file in Excel after it has calculated, so the result is saved.",
        "",
        "Cover sheet",
        "- Check the service, provider and period. Type your name (Submitted by), today's date "
        "(Submission date, e.g. 12/10/2017) and an email address we can contact about this return.",
        "",
        "KPIs sheet",
        f"- One row per KPI. For each quarter there are three columns: Target, Actual and Actual to date. Fill in "
        f"the Actual for {quarter.label}, and correct earlier quarters of the year if their figures have changed.",
        "- Actual to date is only needed for KPIs whose target kind is 'cumulative' (the running total for the "
        "year so far) or 'running' (the running total since the programme started, e.g. a five-year programme); "
        "it is grey for the others.",
        "- Counts are whole numbers (e.g. 1232 or 1,232).",
        "- Percentages may be typed as 90%, 0.9 or 90: all are read as 90%.",
        f"- If a figure is missing, type one of: {words}, or leave the cell blank. These are kept as missing "
        "with the reason you give, never as zero. Type 0 only when the figure really is zero.",
        "- 'Not yet available' means the figure will follow; 'tbc' means it is to be confirmed; 'n/a' means it "
        "does not apply; 'Redacted' means it is withheld (e.g. small numbers).",
        "",
        "Comments sheet",
        "- One comment on performance per row: the comment, the lead (who wrote it or is responsible) and the date.",
        "",
        "Actions sheet",
        "- One key action per row: what will be done and the date it will be done by.",
    ]


@dataclass(frozen=True)
class Prefill:
    """What a sample or test return is filled in with.

    ``figures`` maps ``(kpi_code, period label, measure)`` (measure: target, actual, actual_to_date; period a
    quarter of the return's financial year) to a number, None or text (e.g. ``"tbc"``); percentages are
    given as percent (90 for 90%) and written as 0.9 formatted as a percentage. ``comments`` takes dicts
    ``{comment, lead, date}`` (or 3-tuples) and ``actions`` dicts ``{action, action_by}`` (or pairs);
    ``cover`` may fill ``submitted_by``, ``submission_date`` and ``contact_email``.
    """

    figures: Mapping[tuple[str, str, str], Any] = field(default_factory=dict)
    comments: Iterable[Any] | None = None
    actions: Iterable[Any] | None = None
    cover: Mapping[str, Any] | None = None


def write_template(service: Any, quarter: FinancialQuarter, path: Path, prefill: Prefill | None = None) -> Path:
    """Write the return workbook for ``service`` and ``quarter`` to ``path``; returns ``path``.

    ``prefill`` fills it in (for sample and test returns); without it the template is blank.
    """
    prefill = prefill or Prefill()
    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    _write_cover(wb, service, quarter)
    for key, value in (prefill.cover or {}).items():
        if key not in COVER_INPUTS:
            raise ValueError(f"cover: {key!r} is not one of {', '.join(COVER_INPUTS)}")
        wb[COVER_SHEET][COVER_CELLS[key]] = value
    _write_kpis(wb, service, quarter, prefill.figures or {})
    _write_list_sheet(wb, COMMENTS_LAYOUT, _comment_rows(prefill.comments))
    _write_list_sheet(wb, ACTIONS_LAYOUT, _action_rows(prefill.actions))
    ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    for row, line in enumerate(instructions_text(service, quarter), start=1):
        cell = ws.cell(row=row, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if row == 1 or line in ("General", "Cover sheet", "KPIs sheet", "Comments sheet", "Actions sheet"):
            cell.font = BOLD
    ws.column_dimensions["A"].width = 110
    _protect(ws)
    wb.security = WorkbookProtection(lockStructure=True)
    wb.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    log.info("wrote return template %s for %s %s", path, service.code, quarter.label)
    return path
