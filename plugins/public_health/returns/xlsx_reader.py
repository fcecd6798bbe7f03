"""Read a return made from the XLSX template (``.xlsx``/``.xlsm``) into checked KPI figures.

The workbook is the one :mod:`public_health.returns.template` writes. Service code and period come
from the Cover sheet; KPI rows are found by the KPI code in column A below the header row, which is
found by its text (a provider may insert rows above it); value columns are found by their header
text (``Q2 Actual``). Formulas are read as their saved results; a formula with no saved result is
an error naming the cell. Values follow :func:`public_health.returns.cells.parse_value`.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from public_health.periods import FinancialQuarter
from public_health.returns.cells import (
    KpiValue,
    Location,
    NameCheck,
    ParsedReturn,
    RawFigure,
    check_file_name,
    clean_text,
    kpis_by_code,
    norm_code,
    norm_label,
    parse_date,
    raw_text,
    read_bytes,
    read_figure,
    read_quarter,
    service_for,
)
from public_health.returns.template import (
    ACTIONS_SHEET,
    COMMENTS_SHEET,
    COVER_CELLS,
    COVER_LABELS,
    COVER_SHEET,
    KPI_HEADER_ROW,
    KPI_SHEET,
    MEASURES,
)

log = logging.getLogger(__name__)

_HEADER_SEARCH_ROWS = 30


class _Book:
    """Both views of a workbook: saved values and formulas."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes: list[str] = []
        data = read_bytes(path)
        try:
            from openpyxl import load_workbook

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.values = load_workbook(io.BytesIO(data), data_only=True)
                self.formulas = load_workbook(io.BytesIO(data), data_only=False)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a corrupt file
            log.info("%s is not a readable workbook: %s: %s", path, type(exc).__name__, exc)
            raise Location(path).error(
                f"is not a readable workbook ({type(exc).__name__}: {str(exc)[:200]}): it may be corrupt, "
                "truncated or still being written; save it again from Excel as .xlsx"
            ) from None
        self._sheet_names = {self._norm_sheet(n): n for n in self.values.sheetnames}

    @staticmethod
    def _norm_sheet(name: str) -> str:
        return re.sub(r"[^a-z0-9]", "", name.casefold())

    def at(self, sheet: str, cell: str | None = None) -> Location:
        return Location(self.path, sheet, cell)

    def sheet(self, name: str) -> str:
        actual = self._sheet_names.get(self._norm_sheet(name))
        if actual is None:
            raise Location(self.path).error(
                f"sheet {name!r} not found (the workbook has {', '.join(self.values.sheetnames) or 'no sheets'}): "
                "use the return template without renaming or deleting sheets"
            )
        if actual != name:
            self.notes.append(f"sheet {actual!r} read as {name!r}")
        return actual

    def max_row(self, sheet: str) -> int:
        return self.values[sheet].max_row

    def max_column(self, sheet: str) -> int:
        return self.values[sheet].max_column

    def top_rows(self, sheet: str) -> range:
        """The rows a header or label is looked for in."""
        return range(1, min(self.max_row(sheet), _HEADER_SEARCH_ROWS) + 1)

    def read(self, sheet: str, row: int, col: int) -> tuple[Any, str | None, str]:
        """(saved value, number format, coordinate); a formula without a saved value raises."""
        cell = self.values[sheet].cell(row=row, column=col)
        coord = f"{_col_letter(col)}{row}"
        value = cell.value
        fcell = self.formulas[sheet].cell(row=row, column=col)
        formula = fcell.value
        is_formula = getattr(fcell, "data_type", None) == "f" or (
            formula is not None and not isinstance(formula, str | int | float | bool | datetime | date | time)
        )
        if is_formula:
            text = formula if isinstance(formula, str) else getattr(formula, "text", None) or str(formula)
            if value is None:
                raise self.at(sheet, coord).error(
                    f"formula {text} has no saved value: open the file in Excel, let it calculate, save it again",
                    value=text,
                )
            self.notes.append(f"{sheet}!{coord}: formula {text} read as its saved value {raw_text(value)}")
        number_format = getattr(cell, "number_format", None)
        if isinstance(value, str) and value.strip() == "" and is_formula:
            value = None
        return value, number_format, coord

    def date(self, sheet: str, raw: Any, coord: str) -> date | None:
        """A date cell (:func:`parse_date`); a note for a date read loosely."""
        try:
            day, note = parse_date(raw)
        except ValueError as exc:
            raise self.at(sheet, coord).error(f"{exc}, found {raw_text(raw)!r}", value=raw, expected="a date") from None
        if note:
            self.notes.append(f"{sheet}!{coord}: {note}")
        return day


def _col_letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col)


def _read_cover(book: _Book, services: dict[str, Any]) -> tuple[Any, FinancialQuarter, dict[str, Any]]:
    """(service, quarter, provider's cover inputs): the Cover's period cell is read here, once."""
    sheet = book.sheet(COVER_SHEET)
    label_rows: dict[str, int] = {}
    for row in book.top_rows(sheet):
        label = norm_label(book.read(sheet, row, 1)[0])
        for key, text in COVER_LABELS.items():
            if label == text.casefold() and key not in label_rows:
                label_rows[key] = row
    cover: dict[str, tuple[Any, str]] = {}
    for key, ref in COVER_CELLS.items():
        row = label_rows.get(key, int(ref[1:]))
        value, _fmt, coord = book.read(sheet, row, 2)
        cover[key] = (value, coord)

    code_raw, code_cell = cover["service_code"]
    if code_raw is None or not clean_text(raw_text(code_raw)):
        raise book.at(sheet, code_cell).error("the service code is blank")
    service = service_for(code_raw, services, book.at(sheet, code_cell), expected="a configured service code")
    period_raw, period_cell = cover["period"]
    period = read_quarter(period_raw, book.at(sheet, period_cell), expected="a quarter like 2017-18-Q2")
    check_file_name(NameCheck(service.code, period, book.at(sheet, code_cell), book.at(sheet, period_cell)))

    extra: dict[str, Any] = {}
    for key in ("submitted_by", "contact_email"):
        value, _coord = cover[key]
        extra[key] = clean_text(raw_text(value)) or None
    value, coord = cover["submission_date"]
    extra["submission_date"] = book.date(sheet, value, coord)
    return service, period, extra


_HEADER_RE = re.compile(r"^q([1-4])(?:\s+\d{4}\s*[-/]\s*\d{2})?\s+(target|actual to date|actual ytd|actual)$")


def _find_kpi_header(book: _Book, sheet: str) -> tuple[int, dict[tuple[int, str], int]]:
    """(header row, {(quarter, measure): column}), header found by its text."""
    candidates = [KPI_HEADER_ROW] + [r for r in book.top_rows(sheet) if r != KPI_HEADER_ROW]
    for row in candidates:
        if norm_label(book.read(sheet, row, 1)[0]) not in ("kpi code", "kpi", "code"):
            continue
        columns: dict[tuple[int, str], int] = {}
        for col in range(2, book.max_column(sheet) + 1):
            label = norm_label(book.read(sheet, row, col)[0])
            m = _HEADER_RE.match(label)
            if m:
                measure = {"target": "target", "actual": "actual"}.get(m.group(2), "actual_to_date")
                columns.setdefault((int(m.group(1)), measure), col)
        missing = [f"Q{q} {m.replace('_', ' ')}" for q in range(1, 5) for m in MEASURES if (q, m) not in columns]
        if missing:
            raise book.at(sheet, f"A{row}").error(
                f"header row {row} lacks the column(s) {', '.join(missing)}: use the return template's columns"
            )
        return row, columns
    raise book.at(sheet).error(
        f"no header row with 'KPI code' in column A in the first {_HEADER_SEARCH_ROWS} rows: use the return template"
    )


def _kpi_rows(book: _Book, sheet: str, header_row: int, service: Any) -> dict[str, int]:
    """{normalised KPI code: row}: each of the service's KPIs once, nothing else."""
    kpis = kpis_by_code(service)
    rows: dict[str, int] = {}
    for row in range(header_row + 1, book.max_row(sheet) + 1):
        raw, _fmt, coord = book.read(sheet, row, 1)
        key = norm_code(raw_text(raw))
        if not key:
            continue
        if key not in kpis:
            raise book.at(sheet, coord).error(
                f"unknown KPI code {raw_text(raw)!r} for service {service.code} (known: "
                f"{', '.join(k.code for k in kpis.values())})",
                value=raw,
                expected="a KPI code of the service",
            )
        if key in rows:
            raise book.at(sheet, coord).error(
                f"KPI {kpis[key].code} appears twice (rows {rows[key]} and {row})", value=raw
            )
        rows[key] = row
    absent = [k.code for key, k in kpis.items() if key not in rows]
    if absent:
        raise book.at(sheet).error(
            f"no row for KPI(s) {', '.join(absent)}: put the KPI code back in column A (use the return template)"
        )
    return rows


def _expects_blank_record(kpi: Any, quarter_number: int, measure: str) -> bool:
    """Whether a blank cell of the return's own quarter is recorded as a missing figure."""
    frequency = getattr(kpi, "frequency", "quarterly") or "quarterly"
    if frequency == "half_yearly" and quarter_number not in (2, 4):
        return False
    if frequency == "annual" and quarter_number != 4:
        return False
    if measure == "target":
        return getattr(kpi, "target_kind", "none") != "none"
    if measure == "actual_to_date":
        return getattr(kpi, "target_kind", None) in ("cumulative", "running")
    return True


def _read_kpis(book: _Book, service: Any, period: FinancialQuarter) -> list[KpiValue]:
    sheet = book.sheet(KPI_SHEET)
    header_row, columns = _find_kpi_header(book, sheet)
    return_q = period.number
    kpis = kpis_by_code(service)
    rows = _kpi_rows(book, sheet, header_row, service)

    values: list[KpiValue] = []
    for key, row in rows.items():
        kpi = kpis[key]
        for quarter in period.year_quarters():
            q = quarter.number
            for measure in MEASURES:
                raw, fmt, coord = book.read(sheet, row, columns[(q, measure)])
                at = book.at(sheet, coord)
                figure = read_figure(RawFigure(kpi, quarter, measure, raw, at, fmt), book.notes)
                reason = figure.missing_reason
                if reason == "blank":
                    if q != return_q or not _expects_blank_record(kpi, q, measure):
                        continue
                elif q > return_q and measure != "target":
                    # Read, not refused: the gate flags it (figure_after_quarter), it loads so nothing the provider
                    # sent is lost, and no rating uses it before that quarter's own return replaces it.
                    book.notes.append(
                        f"{coord}: a figure for Q{q} ({measure.replace('_', ' ')}) in a return for {period.label}: "
                        f"{raw_text(raw)!r}"
                    )
                cumulative = getattr(kpi, "target_kind", None) in ("cumulative", "running")
                if measure == "actual_to_date" and reason is None and not cumulative:
                    book.notes.append(f"{coord}: actual to date given for {kpi.code}, whose target is not cumulative")
                values.append(figure)
    return values


def _find_list_header(book: _Book, sheet: str, first: str) -> tuple[int, dict[str, int]]:
    for row in book.top_rows(sheet):
        if norm_label(book.read(sheet, row, 1)[0]) == first:
            labels = {norm_label(book.read(sheet, row, col)[0]): col for col in range(1, book.max_column(sheet) + 1)}
            return row, labels
    raise book.at(sheet).error(f"no header row with {first.capitalize()!r} in column A: use the return template")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    text = clean_text(value.isoformat() if isinstance(value, date) else raw_text(value))
    return text or None


def _read_list(
    book: _Book, sheet_name: str, text_key: str, fields: list[tuple[str, tuple[str, ...], bool]]
) -> list[dict[str, Any]]:
    """Rows below the header; ``fields``: (key, header labels, is_date), the first being the text."""
    sheet = book.sheet(sheet_name)
    header_row, labels = _find_list_header(book, sheet, fields[0][1][0])
    columns: dict[str, int] = {}
    for key, names, _is_date in fields:
        col = next((labels[n] for n in names if n in labels), None)
        if col is None:
            raise book.at(sheet, f"A{header_row}").error(
                f"header row {header_row} has no {names[0].capitalize()!r} column"
            )
        columns[key] = col
    items = []
    for row in range(header_row + 1, book.max_row(sheet) + 1):
        item: dict[str, Any] = {}
        for key, _names, is_date in fields:
            raw, _fmt, coord = book.read(sheet, row, columns[key])
            item[key] = book.date(sheet, raw, coord) if is_date else _text(raw)
        if all(v is None for v in item.values()):
            continue
        if item[text_key] is None:
            raise book.at(sheet, f"{_col_letter(columns[text_key])}{row}").error(
                f"row {row} has a {' and '.join(k.replace('_', ' ') for k, v in item.items() if v is not None)} "
                f"but no {text_key}: fill in the {text_key} or clear the row"
            )
        item["sheet"] = sheet
        item["row"] = row
        items.append(item)
    return items


def read_xlsx(path: Path, services: dict[str, Any]) -> ParsedReturn:
    """Read a return made from the template; ReturnParseError naming the sheet and cell."""
    book = _Book(path)
    service, period, cover = _read_cover(book, services)
    values = _read_kpis(book, service, period)
    comments = _read_list(
        book,
        COMMENTS_SHEET,
        "comment",
        [("comment", ("comment", "comments"), False), ("lead", ("lead",), False), ("date", ("date",), True)],
    )
    actions = _read_list(
        book,
        ACTIONS_SHEET,
        "action",
        [("action", ("action", "actions"), False), ("action_by", ("action by (date)", "action by"), True)],
    )
    return ParsedReturn(path, service.code, period, "xlsx", values, comments, actions, book.notes, cover)
