"""Every figure and quotation in config/bcf is checked against the reference text it was transcribed from.

Each :class:`~public_health.reports.bcf.config.Figure` is ``{value, line}``: the value must be printed on
that 1-based line of the reference text (``config/bcf/papers.yaml`` names the file and its SHA-256), in
one of the ways the papers print numbers: ``14960`` or ``14,960``, ``£1,490``, ``£3m``, ``82.0`` or
``85.3%``. Each :class:`~public_health.reports.bcf.config.Quote` must appear on its line as written. A
figure on a line outside every listed paper cannot be cited, so that fails too.

The reference text lives outside the repository: ``PH_REFERENCE_DIR``, else /work/shared/reference.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from public_health.reports.bcf.config import (
    Figure,
    Quote,
    iter_transcriptions,
    load_bcf_year,
    load_conditions,
    load_papers,
)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
YEARS = sorted(p.stem for p in (CONFIG_DIR / "bcf").glob("*.yaml") if re.fullmatch(r"\d{4}-\d{2}", p.stem))
PAPERS = load_papers(CONFIG_DIR)


@pytest.fixture(scope="module")
def reference_lines() -> list[str]:
    folder = Path(os.environ.get("PH_REFERENCE_DIR", "/work/shared/reference"))
    path = folder / PAPERS.reference
    if not path.exists():
        # CI must check the transcription against the real document: there a missing reference fails.
        (pytest.fail if os.environ.get("CI", "").lower() == "true" else pytest.skip)(f"reference text {path} not found (set PH_REFERENCE_DIR)")
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == PAPERS.sha256, (
        f"{path} is not the text config/bcf/papers.yaml was transcribed from: line numbers would be wrong")
    return data.decode("utf-8").splitlines()


def printed_forms(value: float) -> set[str]:
    """The ways the papers print ``value``: with or without thousands separators, £, £m, one decimal."""
    forms = {f"{value:.1f}", f"{value:,.1f}"}
    if value == int(value):
        n = int(value)
        forms |= {str(n), f"{n:,}"}
        if n >= 1_000_000 and n % 1_000_000 == 0:
            forms.add(f"£{n // 1_000_000}m")
    return forms


def printed_on(value: float, line: str) -> bool:
    """Whether ``value`` is printed on ``line`` as a whole number token (14 is not in 14.5 or 214)."""
    return any(re.search(rf"(?<![\d.,]){re.escape(form)}(?![\d]|[.,]\d)", line) for form in printed_forms(value))


def _transcriptions() -> list[tuple[str, str, Figure | Quote]]:
    out: list[tuple[str, str, Figure | Quote]] = []
    for year in YEARS:
        out += [(f"{year}.yaml", key, item) for key, item in iter_transcriptions(load_bcf_year(year, CONFIG_DIR))]
        conditions = load_conditions(year, CONFIG_DIR)
        if conditions is not None:
            out += [(f"{year}.conditions.yaml", key, item) for key, item in iter_transcriptions(conditions)]
    return out


TRANSCRIPTIONS = _transcriptions()


def test_there_is_something_to_check():
    files = {f for f, _, _ in TRANSCRIPTIONS}
    assert {"2015-16.yaml", "2016-17.yaml", "2016-17.conditions.yaml"} <= files
    assert len(TRANSCRIPTIONS) > 150


@pytest.mark.parametrize(("file", "key", "item"), TRANSCRIPTIONS, ids=[f"{f}:{k}" for f, k, _ in TRANSCRIPTIONS])
def test_each_transcription_is_on_its_line(reference_lines, file, key, item):
    assert item.line <= len(reference_lines), f"config/bcf/{file}: {key}: line {item.line} is past the end"
    line = reference_lines[item.line - 1]
    assert PAPERS.paper_of(item.line) is not None, f"config/bcf/{file}: {key}: line {item.line} is in no paper"
    if isinstance(item, Figure):
        assert printed_on(item.value, line), (
            f"config/bcf/{file}: {key}: {item.value:g} is not printed on line {item.line}: {line!r}")
    else:
        assert item.text in line, f"config/bcf/{file}: {key}: {item.text!r} is not on line {item.line}: {line!r}"


@pytest.mark.parametrize("year", [y for y in YEARS if load_conditions(y, CONFIG_DIR) is not None])
def test_condition_wording_is_on_its_line(reference_lines, year):
    for condition in load_conditions(year, CONFIG_DIR).conditions:
        if condition.text_line is None:
            continue
        line = reference_lines[condition.text_line - 1]
        start = condition.text[:30]
        assert f"{condition.code}) {start}" in line, (year, condition.code, line)


def test_printed_forms_are_strict():
    assert printed_on(14960, "HWB NEA Plan 14,960") and printed_on(14960, "14960")
    assert printed_on(1490, "£1,490 Please add the reason")
    assert printed_on(3_000_000, "The pay for performance element of the BCF totals £3m. Clinical")
    assert printed_on(85.3, "85.3%") and printed_on(82.0, "82.0%") and printed_on(0.0, "0.0%")
    assert not printed_on(14, "14.5") and not printed_on(14, "214") and not printed_on(1490, "14,901")
    assert not printed_on(12, "1,200")
