"""The XLSX writing both reports share: a workbook that never turns text into a formula, named
styles made into xlsxwriter formats once each, and a sheet writer.

Text is only ever written with ``write_string`` (the workbook has ``strings_to_formulas``,
``strings_to_numbers`` and ``strings_to_urls`` off), and text that a spreadsheet could read as a
formula or DDE (leading ``= + - @``, tab or carriage return) also gets Excel's quote prefix, so
editing the cell in Excel keeps it text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

#: Text starting with one of these could be read as a formula (or DDE) by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Number formats for dates and times written by :meth:`SheetWriter.value`.
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"

_OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class Workbook:
    """An xlsxwriter workbook at ``path`` (its folder made if need be) with document ``properties``;
    ``styles`` maps a style name to xlsxwriter format properties."""

    def __init__(self, path: Path, properties: dict[str, Any], styles: dict[str, dict[str, Any]]) -> None:
        import xlsxwriter

        path.parent.mkdir(parents=True, exist_ok=True)
        self.workbook = xlsxwriter.Workbook(str(path), _OPTIONS)
        self.workbook.set_properties(properties)
        self.styles = styles
        self._formats: dict[tuple[str, str | None, bool], Any] = {}

    def format(self, kind: str, num_format: str | None = None, quoted: bool = False) -> Any:
        """The format for style ``kind`` (with a number format, with the quote prefix), made once."""
        key = (kind, num_format, quoted)
        if key not in self._formats:
            props = dict(self.styles[kind])
            if num_format:
                props["num_format"] = num_format
            if quoted:
                props["quote_prefix"] = True
            self._formats[key] = self.workbook.add_format(props)
        return self._formats[key]

    def sheet(self, name: str, widths: Iterable[int], kind: str = "text") -> SheetWriter:
        """A new worksheet; ``kind`` is the style its text and dates get unless told otherwise."""
        return SheetWriter(self, name, widths, kind)

    def close(self) -> None:
        self.workbook.close()


class SheetWriter:
    """One worksheet: column widths, formula-safe text, numbers, blanks, header rows and typed rows
    appended one after another. ``ws`` is the xlsxwriter worksheet for anything else."""

    def __init__(self, book: Workbook, name: str, widths: Iterable[int], kind: str = "text") -> None:
        self.book = book
        self.kind = kind
        self.ws = book.workbook.add_worksheet(name)
        self.row = 0  # the last row written by header() or add()
        self.ncols = 0
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)

    def text(self, row: int, col: int, value: Any, kind: str | None = None) -> None:
        """``value`` as a string, never a formula; formula-looking text gets the quote prefix."""
        text = str(value)
        self.ws.write_string(row, col, text, self.book.format(kind or self.kind, quoted=looks_like_formula(text)))

    def number(self, row: int, col: int, value: float | None, num_format: str, missing: str) -> None:
        """A finite number in the sheet's style with ``num_format``; otherwise the text ``missing``
        in the ``"missing"`` style (so a gap is never blank or 0)."""
        if _finite(value):
            self.ws.write_number(row, col, value, self.book.format(self.kind, num_format))
        else:
            self.text(row, col, missing, "missing")

    def blank(self, row: int, col: int, kind: str | None = None) -> None:
        """An empty cell, styled when ``kind`` is given (an unstyled blank writes nothing)."""
        self.ws.write_blank(row, col, None, self.book.format(kind) if kind else None)

    def value(self, row: int, col: int, value: Any) -> None:
        """Any value by its type: None/'' blank, bool Yes/No, a finite number (else blank), a
        date or datetime (a zone dropped), anything else formula-safe text."""
        if value is None or value == "":
            self.blank(row, col)
        elif isinstance(value, bool):
            self.ws.write_string(row, col, "Yes" if value else "No")
        elif isinstance(value, int | float):
            if _finite(value):
                self.ws.write_number(row, col, value)
            else:
                self.blank(row, col)
        elif isinstance(value, datetime):
            self.ws.write_datetime(row, col, value.replace(tzinfo=None), self.book.format(self.kind, DATETIME_FORMAT))
        elif isinstance(value, date):
            self.ws.write_datetime(row, col, value, self.book.format(self.kind, DATE_FORMAT))
        else:
            self.text(row, col, value)

    def header(self, labels: Iterable[str], kind: str = "header") -> None:
        """Column headings in row 0."""
        labels = list(labels)
        for col, label in enumerate(labels):
            self.text(0, col, label, kind)
        self.ncols = len(labels)

    def add(self, values: Iterable[Any]) -> None:
        """The next row, each value written by :meth:`value`."""
        self.row += 1
        for col, value in enumerate(values):
            self.value(self.row, col, value)

    def autofilter(self, last_row: int) -> None:
        """A filter over the header row and the rows up to ``last_row``."""
        self.ws.autofilter(0, 0, last_row, self.ncols - 1)

    def protect(self) -> None:
        """Protect the sheet without a password: only unlocked (input) cells can be edited."""
        self.ws.protect(
            "",
            {"format_columns": True, "format_rows": True, "select_locked_cells": True, "select_unlocked_cells": True},
        )
