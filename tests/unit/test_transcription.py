"""Every reference figure, comment and action in config/services is where the published report prints it.

The report is the text layer of the Leicester "Division of Public Health Performance Report 2017/18
Quarter 2" (tab-separated table rows, some OCR noise). Each ``reference_figures``, ``reference_comments``
and ``reference_actions`` entry cites the 1-based ``line`` it is printed on; these tests read that line and
check the value or the words are on it. The report's own slips are kept as printed (their notes say so);
an OCR misreading of a figure, or a comment whose text-layer words were repaired, is listed below with
what the line shows, so every exception is visible here.

Set ``PH_REFERENCE_REPORT`` to the text file when it is not at the default path.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

import pytest

from public_health.returns.services import Service, load_services

REPORT = Path(
    os.environ.get(
        "PH_REFERENCE_REPORT",
        "/work/shared/reference/leicester-public-health-performance-report-2017-18-q2.txt",
    )
)
REPORT_LINES = 1596

#: A missing figure's reason -> the words the report prints for it.
MISSING_WORDS = {
    "pending": ("Pending",),
    "tbc": ("tbc",),
    "not_yet_available": ("Not yet availa",),  # the text layer splits the cell: 'Not yet availa' 'able'
    "not_applicable": ("N/A", "n/a"),
    "not_recorded": ("Data not recorded",),
    "redacted": ("Redacted",),
    "dash": ("-", "_", "\u2013", "\u2014"),
}

#: Figures whose printed cell the OCR misread: (service, kpi, period, measure) -> the text on the line.
OCR_FIGURES = {
    ("adult_weight_management", "eawm_completing_60_pct", "2015-16-Q4", "actual"): "77 2%",  # 77.2%, point lost
}

#: Comments and actions whose stored words repair the text layer's OCR damage (dropped first letters of
#: wrapped lines, '8.' for '3.'): matched fuzzily from their line, but every number in them must be printed
#: exactly (after the listed substitutions). (service, first words of the text) -> (the damage, {stored: printed}).
OCR_REPAIRED_TEXT = {
    ("smoking_cessation", "Services are expected"): ("first letters of wrapped lines dropped ('ervices', 'elector')", {}),
    ("smoking_cessation", "Success rates must"): ("first letters of wrapped lines dropped ('uccess', '1' '00k')", {"100k": "1 00k"}),
    ("smoking_cessation", "Smoking disproportionately affects"): ("first letters dropped ('moking', 'revalence')", {}),
    ("smoking_cessation", "Pregnant women are"): ("first letters dropped ('regnant', 'ervice')", {}),
    ("smoking_cessation", "Leicester City's Stop"): ("first letters dropped ('eicester'), 'Cotober'", {}),
    ("nhs_health_checks", "3. In 2017/18,"): ("the item number 3. is read as '8.'", {"3. In 2017/18": "8. In 2017/18"}),
    ("nhs_health_checks", "4. Since the"): ("'key actions' is read as 'tey actions'", {}),
    ("nhs_health_checks", "It is key that"): ("first letter dropped ('t is key')", {}),
}

#: A comment row with a lead and date but no words: the test checks its lead and date instead.
NO_TEXT = "(no comment text shown in the report)"

#: How far past its cited line a comment or action may run (a cell wrapped round a neighbouring block).
SPAN = 15


@cache
def report_lines() -> list[str]:
    if not REPORT.is_file():
        # CI must check the transcription against the real document: there a missing reference fails.
        (pytest.fail if os.environ.get("CI", "").lower() == "true" else pytest.skip)(f"reference report text not found at {REPORT} (set PH_REFERENCE_REPORT)")
    return REPORT.read_text(encoding="utf-8").split("\n")


@cache
def services() -> dict[str, Service]:
    return {code: s for code, s in load_services().items() if s.performance_report and not s.redacted}


def _items(kind: str) -> list[tuple[str, int, object]]:
    return [(code, i, item) for code, s in services().items() for i, item in enumerate(getattr(s, kind))]


def line_text(n: int) -> str:
    lines = report_lines()
    assert 1 <= n <= len(lines), f"line {n} is outside the report (1-{len(lines)})"
    return lines[n - 1]


# figures ------------------------------------------------------------------------------------------


def printed_forms(value: float, unit: str) -> set[str]:
    """How the report may print ``value``: 1,188 / 1188, 90% / 90.0%, 18.75, £1,234; percent as 90 -> 90%."""
    numbers = {f"{value:g}", f"{value:.1f}", f"{value:.2f}"}
    if float(value).is_integer():
        whole = int(value)
        numbers |= {str(whole), f"{whole:,}"}
        if abs(whole) >= 1000:
            numbers.add(f"{whole:,}".replace(",", "."))  # the flattened pages read the thousands comma as a dot
    forms = set(numbers)
    forms |= {n + "%" for n in numbers}
    if unit == "currency":
        forms |= {"£" + n for n in numbers}
    return forms


def tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\t ]+", text) if t]


def figure_is_on_line(service: Service, fig) -> bool:
    text = line_text(fig.line)
    key = (service.code, fig.kpi, fig.period, fig.measure)
    if key in OCR_FIGURES:
        return OCR_FIGURES[key] in text
    if fig.value is None:
        return any(word in text for word in MISSING_WORDS[fig.missing_reason])
    forms = printed_forms(fig.value, service.kpi(fig.kpi).unit)
    return any(t in forms or t.strip("()*") in forms for t in tokens(text))


def test_the_report_text_is_the_one_cited():
    lines = report_lines()
    assert len(lines) in (REPORT_LINES, REPORT_LINES + 1)  # a final newline or not
    assert "Division of Public Health Performance Report" in lines[2]


def test_every_figure_cites_a_line():
    missing = [(code, f.kpi, f.period, f.measure) for code, _, f in _items("reference_figures") if f.line is None]
    assert not missing, f"{len(missing)} figures without a line, e.g. {missing[:5]}"


def test_every_figure_is_printed_on_its_line():
    wrong = []
    for code, _, fig in _items("reference_figures"):
        if fig.line is not None and not figure_is_on_line(services()[code], fig):
            shown = fig.value if fig.value is not None else fig.missing_reason
            wrong.append(f"{code} {fig.kpi} {fig.period} {fig.measure} = {shown}: line {fig.line}: {line_text(fig.line)[:120]!r}")
    assert not wrong, "\n".join(wrong)


def test_figures_sit_on_the_service_page():
    """A service's figures cite lines of one page block (no line borrowed from another service's table)."""
    for code, service in services().items():
        lines = sorted(f.line for f in service.reference_figures if f.line)
        if lines:
            assert lines[-1] - lines[0] < 200, f"{code}: figures cite lines {lines[0]}-{lines[-1]}"


def test_figures_name_kpis_and_are_not_repeated():
    for code, service in services().items():
        kpis = {k.code: k for k in service.kpis}
        counts = Counter((f.kpi, f.period, f.measure) for f in service.reference_figures)
        assert not [k for k, n in counts.items() if n > 1], code
        for f in service.reference_figures:
            assert f.kpi in kpis, f"{code}: {f.kpi} is not a KPI"
            assert f.measure in ("target", "actual", "actual_to_date", "numerator", "denominator")


def test_quarter_figures_are_in_the_printed_years():
    """The tables print 2015-16 to 2017-18 quarters (NCMP and NHS Health Checks also earlier years)."""
    for code, service in services().items():
        for f in service.reference_figures:
            year = int(f.period[:4])
            assert 2011 <= year <= 2017, (code, f.kpi, f.period)
            if len(f.period) > 7:
                assert year >= 2015, (code, f.kpi, f.period)


def test_ocr_exceptions_are_still_needed():
    figures = {(code, f.kpi, f.period, f.measure): f for code, _, f in _items("reference_figures")}
    for key, shown in OCR_FIGURES.items():
        fig = figures[key]
        assert shown in line_text(fig.line)
        assert not any(t in printed_forms(fig.value, "percent") for t in tokens(line_text(fig.line)))


# comments and actions -----------------------------------------------------------------------------


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _cells(n: int, skip: set[str]) -> list[str]:
    cells = [norm(c) for c in line_text(n).split("\t")] if n <= len(report_lines()) else []
    return [c for c in cells if c and c not in skip]


def words_follow_from(text: str, line: int, skip: set[str]) -> bool:
    """``text`` starts on ``line`` and its remaining words continue, in order, in cells of the next lines."""
    rest = norm(text)
    first = _cells(line, skip)
    for cell in first:
        starts = [m.start() for m in re.finditer(r"(?<![\w'])\w|^", cell)]
        for k in starts:
            piece = cell[k:]
            if piece.startswith(rest):
                return True
            if rest.startswith(piece):
                rest = rest[len(piece):].strip()
                break
        else:
            continue
        break
    else:
        return False
    for n in range(line + 1, line + SPAN + 1):
        for cell in _cells(n, skip):
            if cell.startswith(rest):
                return True
            if rest.startswith(cell):
                rest = rest[len(cell):].strip()
    return not rest


def _numbers(text: str) -> Counter:
    return Counter(re.findall(r"\d+(?:[.,/]\d+)*%?", text))


def repaired_text_matches(text: str, line: int, printed: dict[str, str] | None = None) -> bool:
    """Fuzzy for repaired OCR damage: the text starts on ``line``, 90% of it is in the next lines, and each
    of its numbers is printed there (``printed`` maps a stored phrase to the text layer's misreading)."""
    want = norm(text)
    for stored, shown in (printed or {}).items():
        want = want.replace(stored, shown)
    last = min(line + 8, len(report_lines()))
    window = norm(" ".join(line_text(n).replace("\t", " ") for n in range(line, last + 1)))
    head, first = want[:40], norm(line_text(line).replace("\t", " "))
    if sum(b.size for b in SequenceMatcher(None, first, head, autojunk=False).get_matching_blocks()) < 0.8 * len(head):
        return False
    match = SequenceMatcher(None, window, want, autojunk=False)
    if sum(block.size for block in match.get_matching_blocks()) < 0.9 * len(want):
        return False
    return not (_numbers(want) - _numbers(window))


def _skip(item) -> set[str]:
    """Lead and date cells printed beside the words (also when a date wraps: 'May/June' / '2017')."""
    values = [v for v in (getattr(item, "lead", None), getattr(item, "date", None), getattr(item, "action_by", None)) if v]
    return set(values) | {part for v in values for part in v.split()}


def _check(code: str, kind: str, item) -> str | None:
    if item.line is None:
        return "no line"
    repaired = next((v for (svc, start), v in OCR_REPAIRED_TEXT.items() if svc == code and item.text.startswith(start)), None)
    if item.text == NO_TEXT:
        ok = all(v in line_text(item.line) for v in (item.lead, item.date) if v)
    elif repaired:
        ok = repaired_text_matches(item.text, item.line, repaired[1])
    else:
        ok = words_follow_from(item.text, item.line, _skip(item))
    return None if ok else f"line {item.line}: {line_text(item.line)[:100]!r}"


#: The text layer prints some leads in Cyrillic look-alikes ('СМ' for CM).
_LOOKALIKE = str.maketrans({"\u0421": "C", "\u041c": "M", "\u0410": "A", "\u0415": "E", "\u041e": "O", "\u0420": "P"})


#: Leads and dates the text layer prints only in part: (service, first words, key) -> what is printed.
PARTLY_PRINTED = {
    ("rse_training", "2017/18 target not set", "date"): "1/2017",  # '01/11/2017' is cut to '1/2017'
}


def test_leads_and_dates_are_printed_beside_their_words():
    """Each lead, date and action-by is printed within a line of the item's words (spaces ignored: 'Com missioning').

    A lead printed once in a merged cell for several comments (Active Lifestyle's 'Jo Atkinson') counts for the
    comments that follow it with the same lead.
    """
    wrong = []
    for kind in ("reference_comments", "reference_actions"):
        previous: dict[str, bool] = {}
        for code, i, item in _items(kind):
            if i == 0:
                previous = {}
            if item.line is None:
                continue
            lines = range(max(item.line - 1, 1), min(item.line + 4, len(report_lines())) + 1)
            near = re.sub(r"\s+", "", " ".join(line_text(n) for n in lines).translate(_LOOKALIKE))
            for key in ("lead", "date", "action_by"):
                value = getattr(item, key, None)
                if not value:
                    continue
                shown = next((v for (svc, start, k), v in PARTLY_PRINTED.items()
                              if (svc, k) == (code, key) and item.text.startswith(start)), value)
                printed = all(part in near for part in shown.split())
                if not printed and key == "lead" and previous.get(value):
                    printed = True  # the merged lead cell of the comments above
                if key == "lead":
                    previous[value] = printed
                if not printed:
                    wrong.append(f"{code} {kind}.{i} {key} {value!r} not printed near line {item.line}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("kind", ["reference_comments", "reference_actions"])
def test_comments_and_actions_are_printed_from_their_line(kind):
    wrong = []
    for code, i, item in _items(kind):
        problem = _check(code, kind, item)
        if problem:
            wrong.append(f"{code} {kind}.{i} {item.text[:60]!r}: {problem}")
    assert not wrong, "\n".join(wrong)


def test_the_checks_catch_a_wrong_figure_and_a_wrong_word():
    ht = services()["healthy_together"]
    fig = ht.figure("ht_new_birth_visit_10_14d", "2017-18-Q2")
    assert figure_is_on_line(ht, fig)
    assert not figure_is_on_line(ht, fig.model_copy(update={"value": 69}))
    assert not figure_is_on_line(ht, fig.model_copy(update={"line": fig.line + 30}))
    comment = ht.reference_comments[1]
    assert _check("healthy_together", "reference_comments", comment) is None
    assert _check("healthy_together", "reference_comments", comment.model_copy(update={"text": comment.text.replace("variable", "steady")}))
    smoking = services()["smoking_cessation"]
    reach = next(c for c in smoking.reference_comments if c.text.startswith("Smoking disproportionately"))
    assert "8% of total" in reach.text
    assert not repaired_text_matches(reach.text.replace("is 8%", "is 78%"), reach.line)


def test_every_item_that_is_repaired_exists():
    for (code, start) in OCR_REPAIRED_TEXT:
        items = services()[code].reference_comments + services()[code].reference_actions
        assert any(item.text.startswith(start) for item in items), (code, start)


def test_published_ratings_in_the_overrides_are_printed_on_their_line():
    """An override that transcribes a rating the report published names the service and its rating on the
    cited contents line (every override of the demo quarter but the sample one cites its line)."""
    import yaml

    from public_health.config import config_dir

    services = load_services()
    path = config_dir() / "overrides" / "2017-18-Q2.yaml"
    entries = yaml.safe_load(path.read_text())["overrides"]
    cited = [e for e in entries if e.get("reference_line")]
    assert len(cited) >= len(entries) - 1
    for entry in cited:
        text = line_text(entry["reference_line"])
        name = services[entry["service"]].name
        at = text.find(name)
        assert at >= 0, (entry["service"], text)
        after = text[at + len(name):].split("\t")
        assert entry["rating"] in [cell.strip() for cell in after[:3]], (entry["service"], text)
        assert f"line {entry['reference_line']}" in entry["reason"]
