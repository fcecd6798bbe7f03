"""A realistic sample shared drive of provider returns, built from the published 2017/18 Q2 figures.

:func:`build_sample_drive` writes, under a root folder organised like the council's share
(``<root>/<Provider name>/<service_code>/<file>``), the Q1 and Q2 2017/18 returns of a dozen
services, each prefilled with the reference figures of ``config/services/*.yaml`` (the figures the
published Leicester performance report shows, its own slips included) for that quarter and the
earlier quarters of the year, with the Q2 page's comments and actions in the Q2 return. Beside them
sit the awkward files a real share holds: the report's own 123% slip, text in a number cell, a
workbook still being copied, Excel lock and temporary files, a ``.DS_Store``, a resubmission, a CSV
export, a return for a service that is not configured, figures typed as text and a duplicate copy.

Every file is described by a :class:`SampleFile` saying what the pipeline should do with it
(``expect``) and why, so discovery, parsing, checks and loading can be tested end to end.

Deterministic: the same inputs give the same files with the same bytes. Workbooks are written by
:func:`~public_health.returns.template.write_template` and then normalised (fixed zip entry times,
fixed document created/modified times), because openpyxl stamps both with the current time.
Modification times are set with :func:`os.utime` relative to ``clock`` (see :func:`build_sample_drive`).

Figures shown for a quarter after the return's own (the report's "Q3 figure in a Q2 report" slips)
are left out, because a return cannot hold actuals for later quarters. A comment date or action-by
date the report writes as free text ("On-going", "Autumn 2017", "01.04.17") cannot go in a date
cell; it is kept in the comment or action text ("... (action by: Autumn 2017)") and the date left blank.

Run ``python -m public_health.demo.shared_drive [root]`` to write the drive (default: the configured
``returns.shared_drive``).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import re
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from public_health.periods import FinancialQuarter
from public_health.returns.cells import parse_date
from public_health.returns.template import Prefill, write_template
from public_health.returns.template import template_filename as _template_filename

log = logging.getLogger(__name__)

Expect = Literal["load", "quarantine", "ignore", "unsettled", "supersede", "unchanged"]
EXPECTS: tuple[str, ...] = ("load", "quarantine", "ignore", "unsettled", "supersede", "unchanged")

YEAR = "2017-18"
Q1 = f"{YEAR}-Q1"
Q2 = f"{YEAR}-Q2"

#: The moment the sample drive is "looked at" when no ``clock`` is given: settled files are dated
#: before it as they would have been on the council's share. (Returns for Q2 were due 30 October 2017.)
REFERENCE_CLOCK = datetime(2017, 10, 31, 17, 0, tzinfo=UTC)

#: The Better Care Fund's local NHS activity return and the quarters the reference papers give actuals for.
BCF_ACTIVITY_SERVICE = "bcf_nhs_activity"
BCF_ACTIVITY_RETURNS: dict[str, datetime] = {
    "2015-16-Q1": datetime(2015, 8, 14, 9, 30, tzinfo=UTC),
    "2015-16-Q2": datetime(2015, 11, 13, 9, 30, tzinfo=UTC),
}
#: Every service with a page in the report sends its Q1 and Q2 returns as published. These few arrive
#: in another form (still as published): Healthy Together's Q1 typed as text, Pharmacies' Q1 as a CSV export
#: (a CSV has no comments sheet, so the Q2 return, which carries the page's comments, is a workbook).
HEALTHY_TOGETHER = "healthy_together"
CSV_SERVICE = "ehc_pharmacies"
#: The deliberately broken files, each beside (never instead of) the service's return as published.
TEXT_IN_NUMBER_SERVICE = "hiv_prevention_positive"
TEXT_IN_NUMBER_KPI = "hivp_contacts"
TEXT_IN_NUMBER_VALUE = "about 30"
TRUNCATED_SERVICE = "substance_misuse_woodlands"
RESUBMITTED_SERVICE = "nhs_health_checks"
RESUBMITTED_KPI = "nhc_checks"
RESUBMITTED_WRONG_VALUE = 1086  # digits of the published 1806 transposed
LOCK_FILE_SERVICE = "larc_gp"
DUPLICATE_SERVICE = "larc_gp"
UNKNOWN_SERVICE_CODE = "weight_watchers"
UNKNOWN_SERVICE_TEMPLATE = "adult_weight_management"  # whose KPI rows the stray workbook copies
#: Kinds of file that differ from what the report published on purpose (the manifest names each).
BROKEN_KINDS: frozenset[str] = frozenset(
    {"text_in_number", "truncated", "resubmission_original", "unknown_service"}
)

#: What a provider types for a figure the report shows as missing.
MISSING_TEXT: dict[str, str] = {
    "not_yet_available": "Not yet available",
    "pending": "Pending",
    "tbc": "tbc",
    "redacted": "Redacted",
    "not_applicable": "n/a",
    "not_recorded": "Data not recorded",
    "dash": "-",
}

_FIXED_ZIP_TIME = (2017, 10, 31, 17, 0, 0)
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_CORE_TIME = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


@dataclass(frozen=True)
class SampleFile:
    """One file of the sample drive and what the pipeline should do with it.

    ``expect``: ``load`` (parses and passes its checks), ``quarantine`` (unreadable, or fails its
    checks), ``ignore`` (not a return: lock, temporary and hidden files), ``unsettled`` (still being
    written: skipped until it settles, then quarantined as unreadable), ``supersede`` (a
    resubmission that replaces an earlier loaded return), ``unchanged`` (the same bytes as a return
    already loaded).
    """

    path: Path
    service_code: str | None
    quarter: str | None
    kind: str
    expect: Expect
    why: str
    mtime: float

    def relative(self, root: Path) -> str:
        """The path below ``root`` with ``/`` separators."""
        return self.path.relative_to(root).as_posix()


# figures ------------------------------------------------------------------------------------------


def return_figures(service: Any, quarter: str) -> dict[tuple[str, str, str], Any]:
    """Reference figures a return for ``quarter`` holds: ``{(kpi, period, measure): value or text}``.

    Actuals and actuals to date of the return's quarter and the earlier quarters of its financial
    year; targets of every quarter of the year (the commissioner prefills them). The report's own
    quarter (:data:`Q2`) is the published page itself, so its return also carries what the page
    printed for later quarters (the report's "Q3 figure in a Q2 report" slips, which the checks flag).
    Percentages are in percent (96 for 96%); a figure the report shows as missing is the word a
    provider types (``Not yet available``, ``tbc``...). Annual figures and measures the template has
    no column for (numerator, denominator) are left out: they are in the history import
    (:mod:`public_health.demo.history_sample`).
    """
    fq = FinancialQuarter.parse(quarter)
    year_quarters = {each.label: each for each in fq.year_quarters()}
    figures: dict[tuple[str, str, str], Any] = {}
    for fig in service.reference_figures:
        each = year_quarters.get(fig.period)  # None: another year, or a whole year's figure
        if each is None or fig.measure not in ("target", "actual", "actual_to_date"):
            continue
        if fig.measure != "target" and each > fq and quarter != Q2:
            continue
        value: Any = fig.value if fig.value is not None else MISSING_TEXT[fig.missing_reason or "pending"]
        figures[(fig.kpi, fig.period, fig.measure)] = value
    return figures


def _date_or_text(text: str | None) -> tuple[date | None, str | None]:
    """A date the report writes -> (date for a date cell, None), or (None, the text) when it is not a date."""
    if not text:
        return None, None
    try:
        day, _note = parse_date(text)
    except ValueError:
        return None, text
    return day, None


def return_comments(service: Any) -> list[dict[str, Any]]:
    """The reference page's comments as Comments-sheet rows (a date that is not a date goes in the text)."""
    rows = []
    for c in service.reference_comments:
        day, leftover = _date_or_text(c.date)
        text = c.text if leftover is None else f"{c.text} (date: {leftover})"
        rows.append({"comment": text, "lead": c.lead, "date": day})
    return rows


def return_actions(service: Any) -> list[dict[str, Any]]:
    """The reference page's key actions as Actions-sheet rows (an action-by that is not a date goes in the text)."""
    rows = []
    for a in service.reference_actions:
        day, leftover = _date_or_text(a.action_by)
        text = a.text if leftover is None else f"{a.text} (action by: {leftover})"
        rows.append({"action": text, "action_by": day})
    return rows


def _typed_as_text(service: Any, figures: dict[tuple[str, str, str], Any]) -> dict[tuple[str, str, str], Any]:
    """Figures as a person types them into text cells: ``90%`` and ``1,232``."""
    units = {k.code: k.unit for k in service.kpis}
    typed: dict[tuple[str, str, str], Any] = {}
    for key, value in figures.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            if units.get(key[0]) == "percent":
                value = f"{value:g}%"
            elif float(value).is_integer() and value >= 1000:
                value = f"{int(value):,}"
        typed[key] = value
    return typed


# files --------------------------------------------------------------------------------------------


def _folder_name(text: str) -> str:
    """A provider name as a folder name on a Windows share."""
    text = _UNSAFE.sub(" ", text.replace(": ", " - "))
    return re.sub(r"\s+", " ", text).strip(" .") or "Unknown provider"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "provider"


def normalise_xlsx(path: Path, when: datetime) -> None:
    """Make a saved workbook's bytes depend only on its content: fixed zip entry times, and the
    document's created and modified times set to ``when`` (openpyxl stamps the current time)."""
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = _CORE_TIME.sub(lambda m: m.group(1) + stamp + m.group(3), data)
            info = zipfile.ZipInfo(item.filename, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, data)
    path.write_bytes(out.getvalue())


def _cover(service: Any, submitted: datetime) -> dict[str, Any]:
    provider = service.provider or "Provider"
    return {
        "submitted_by": f"Performance and Information Team, {provider}",
        "submission_date": submitted.date(),
        "contact_email": f"performance@{_slug(provider)}.example.org",
    }


class _Drive:
    """Writes files under ``root`` and records them."""

    def __init__(self, root: Path, services: dict[str, Any], clock: float | None) -> None:
        self.root = root
        self.services = services
        self.clock = clock
        self.files: list[SampleFile] = []
        self.submitted: dict[tuple[str, str], datetime] = {}   # (service, quarter) -> when its return was sent

    def mtime(self, when: datetime) -> float:
        """``when`` (a time on the reference timeline) as a modification time relative to ``clock``."""
        if self.clock is None:
            return when.timestamp()
        return self.clock - (REFERENCE_CLOCK - when).total_seconds()

    def now(self) -> float:
        return time.time() if self.clock is None else self.clock

    def folder(self, service: Any) -> Path:
        return self.root / _folder_name(service.provider or "Redacted provider") / service.code

    def add(self, sample: SampleFile) -> SampleFile:
        os.utime(sample.path, (sample.mtime, sample.mtime))
        self.files.append(sample)
        log.debug("sample %s: %s (%s)", sample.expect, sample.path, sample.kind)
        return sample

    def workbook(
        self,
        service: Any,
        quarter: str,
        submitted: datetime,
        *,
        name: str | None = None,
        figures: dict[tuple[str, str, str], Any] | None = None,
        with_notes: bool | None = None,
    ) -> Path:
        path = self.folder(service) / (name or template_filename(service.code, quarter))
        notes = quarter == Q2 if with_notes is None else with_notes
        write_template(
            service,
            FinancialQuarter.parse(quarter),
            path,
            Prefill(
                figures=return_figures(service, quarter) if figures is None else figures,
                comments=return_comments(service) if notes else None,
                actions=return_actions(service) if notes else None,
                cover=_cover(service, submitted),
            ),
        )
        normalise_xlsx(path, submitted)
        return path


def template_filename(service_code: str, quarter: str) -> str:
    """The template's file name for a quarter given as its label (``2017-18-Q2``), as the samples hold them."""
    return _template_filename(service_code, FinancialQuarter.parse(quarter))


def _submitted(quarter: str, index: int) -> datetime:
    """Submission time of the ``index``-th service's return: Q1 returns from 14 July, Q2 from 9 October 2017."""
    start = datetime(2017, 7, 14, 10, 0, tzinfo=UTC) if quarter == Q1 else datetime(2017, 10, 9, 10, 0, tzinfo=UTC)
    return start + timedelta(days=index % 14, minutes=37 * index)


def _good_return(drive: _Drive, service: Any, quarter: str, index: int) -> SampleFile:
    submitted = _submitted(quarter, index)
    path = drive.workbook(service, quarter, submitted)
    fq = FinancialQuarter.parse(quarter)
    return drive.add(SampleFile(
        path,
        service.code,
        quarter,
        "return",
        "load",
        f"{service.name} {quarter} return prefilled with the published figures of {fq.financial_year} up to "
        f"Q{fq.number}" + (" and the Q2 page's comments and actions." if quarter == Q2 else "."),
        drive.mtime(submitted),
    ))


def _write_csv(path: Path, service: Any, quarter: str) -> None:
    units = {k.code: k.unit for k in service.kpis}
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["service", "kpi", "period", "measure", "value"])
    fq = FinancialQuarter.parse(quarter)
    later = {each.label for each in fq.year_quarters() if each > fq}
    for (kpi, period, measure), value in return_figures(service, quarter).items():
        if period in later:
            continue  # the CSV layout takes its period from the latest row, so no later quarters' targets
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = f"{value:g}%" if units.get(kpi) == "percent" else f"{value:g}"
        else:
            text = str(value)
        writer.writerow([service.code, kpi, period, measure, text])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue().encode("utf-8-sig"))  # Excel's "CSV UTF-8" has a BOM


def _lock_file_bytes(user: str) -> bytes:
    """An Excel owner file (``~$name.xlsx``): the user name, ANSI then UTF-16, padded to 165 bytes."""
    ansi = user.encode("latin-1")[:53]
    wide = user.encode("utf-16-le")[:108]
    body = bytes([len(ansi)]) + ansi.ljust(53, b" ") + len(user).to_bytes(2, "little") + wide
    return body.ljust(165, b"\x20")


_DS_STORE = b"\x00\x00\x00\x01Bud1" + bytes(2048 - 8)


def report_services(services: dict[str, Any]) -> list[Any]:
    """Services with a page of figures in the performance report (not redacted), in config order."""
    return [s for s in services.values() if getattr(s, "performance_report", True) and not s.redacted]


def _services_in_use() -> tuple[str, ...]:
    return (HEALTHY_TOGETHER, CSV_SERVICE, TEXT_IN_NUMBER_SERVICE, TRUNCATED_SERVICE, RESUBMITTED_SERVICE,
            LOCK_FILE_SERVICE, UNKNOWN_SERVICE_TEMPLATE)


def _published_returns(drive: _Drive, services: dict[str, Any]) -> None:
    """Q1 and Q2 2017/18 of every service with a page, as published (Q2 of nhs_health_checks arrives as a
    resubmission, below); Healthy Together's Q1 typed as text, Pharmacies' Q1 as a CSV export."""
    for index, service in enumerate(sorted(report_services(services), key=lambda s: s.code)):
        for quarter in (Q1, Q2):
            if (service.code, quarter) == (RESUBMITTED_SERVICE, Q2):
                continue
            submitted = _submitted(quarter, index)
            drive.submitted[(service.code, quarter)] = submitted
            if (service.code, quarter) == (HEALTHY_TOGETHER, Q1):
                path = drive.workbook(service, Q1, submitted,
                                      figures=_typed_as_text(service, return_figures(service, Q1)))
                drive.add(SampleFile(
                    path, service.code, Q1, "typed_as_text", "load",
                    "The published Q1 figures typed as text, as people type them: percentages like '90%' and "
                    "counts with thousands separators like '1,081' in text cells (read as 90 and 1081).",
                    drive.mtime(submitted),
                ))
            elif (service.code, quarter) == (CSV_SERVICE, Q1):
                path = drive.folder(service) / template_filename(service.code, Q1).replace(".xlsx", ".csv")
                _write_csv(path, service, Q1)
                drive.add(SampleFile(
                    path, service.code, Q1, "csv", "load",
                    "The published Q1 figures exported from the pharmacy claims system as a long CSV "
                    "(service,kpi,period,measure,value; UTF-8 with BOM, CRLF) instead of the workbook; targets "
                    "of later quarters left out.",
                    drive.mtime(submitted),
                ))
            else:
                _good_return(drive, service, quarter, index)


def _broken_files(drive: _Drive, services: dict[str, Any]) -> None:
    """The deliberately broken files, each beside the service's return as published (see BROKEN_KINDS)."""
    # Text in a number cell: a draft sent three days before the published Q2 return.
    svc = services[TEXT_IN_NUMBER_SERVICE]
    figures = return_figures(svc, Q2)
    figures[(TEXT_IN_NUMBER_KPI, Q2, "actual")] = TEXT_IN_NUMBER_VALUE
    submitted = datetime(2017, 10, 6, 16, 20, tzinfo=UTC)
    name = template_filename(svc.code, Q2).replace(".xlsx", "_draft.xlsx")
    path = drive.workbook(svc, Q2, submitted, name=name, figures=figures)
    drive.add(SampleFile(
        path, svc.code, Q2, "text_in_number", "quarantine",
        f"BROKEN ON PURPOSE: a draft with {TEXT_IN_NUMBER_VALUE!r} typed in the Q2 Actual cell of "
        f"{TEXT_IN_NUMBER_KPI}: not a number, so the parser raises an error naming sheet KPIs and the cell. The "
        "published Q2 return follows it.",
        drive.mtime(submitted),
    ))

    # A copy of a return still being written by a sync client: the first half of the Q1 workbook, just now.
    svc = services[TRUNCATED_SERVICE]
    original = drive.folder(svc) / template_filename(svc.code, Q1)
    path = original.with_name(original.stem + " (1)" + original.suffix)
    data = original.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    drive.add(SampleFile(
        path, svc.code, Q1, "truncated", "unsettled",
        "BROKEN ON PURPOSE: a second copy of the Q1 return still being written (its first half, modified just "
        "now): skipped while inside the settle time; once settled it is unreadable and quarantined, and the Q1 "
        "figures already loaded stay.",
        drive.now(),
    ))

    # A resubmission: the first Q2 return has one figure wrong, the _v2 copy is as published.
    svc = services[RESUBMITTED_SERVICE]
    figures = return_figures(svc, Q2)
    right = figures[(RESUBMITTED_KPI, Q2, "actual")]
    figures[(RESUBMITTED_KPI, Q2, "actual")] = RESUBMITTED_WRONG_VALUE
    first = datetime(2017, 10, 20, 11, 5, tzinfo=UTC)
    path = drive.workbook(svc, Q2, first, figures=figures)
    drive.add(SampleFile(
        path, svc.code, Q2, "resubmission_original", "load",
        f"BROKEN ON PURPOSE: the first Q2 return with {RESUBMITTED_KPI} Q2 actual typed {RESUBMITTED_WRONG_VALUE} "
        f"(digits of the published {right:g} transposed); it loads, and the _v2 resubmission replaces it.",
        drive.mtime(first),
    ))
    second = datetime(2017, 10, 27, 14, 40, tzinfo=UTC)
    name = template_filename(svc.code, Q2).replace(".xlsx", "_v2.xlsx")
    path = drive.workbook(svc, Q2, second, name=name)
    drive.add(SampleFile(
        path, svc.code, Q2, "resubmission", "supersede",
        f"The Q2 return as published ({RESUBMITTED_KPI} {right:g}), sent a week later: it supersedes the first, "
        "keeping the earlier figures in history.",
        drive.mtime(second),
    ))

    # A return for a service that is not configured.
    template = services[UNKNOWN_SERVICE_TEMPLATE]
    stray = template.model_copy(update={
        "code": UNKNOWN_SERVICE_CODE, "name": "Weight Watchers referral scheme", "provider": "Weight Watchers UK",
        "reference_comments": [], "reference_actions": [],
    })
    submitted = datetime(2017, 10, 25, 9, 30, tzinfo=UTC)
    path = drive.workbook(stray, Q2, submitted, figures={})
    drive.add(SampleFile(
        path, UNKNOWN_SERVICE_CODE, Q2, "unknown_service", "quarantine",
        f"BROKEN ON PURPOSE: Cover B3 says {UNKNOWN_SERVICE_CODE!r}, a service not in config/services: the parser "
        "raises naming cell B3.",
        drive.mtime(submitted),
    ))


def _share_clutter(drive: _Drive, services: dict[str, Any]) -> None:
    """What else a share holds: Excel's lock and temporary files, a .DS_Store, a return saved twice."""
    svc = services[LOCK_FILE_SERVICE]
    good_q2 = drive.folder(svc) / template_filename(svc.code, Q2)
    lock = good_q2.with_name("~$" + good_q2.name)
    lock.write_bytes(_lock_file_bytes("Practice Manager"))
    drive.add(SampleFile(
        lock, svc.code, Q2, "excel_lock_file", "ignore",
        "Excel's owner file, present while someone has the return open: not a return.",
        drive.mtime(REFERENCE_CLOCK - timedelta(minutes=20)),
    ))
    tmp = good_q2.with_name("E54A9C10.tmp")
    tmp.write_bytes(good_q2.read_bytes()[:4096])
    drive.add(SampleFile(
        tmp, svc.code, Q2, "temp_file", "ignore",
        "A temporary file Excel leaves behind when a save is interrupted: not a return.",
        drive.mtime(REFERENCE_CLOCK - timedelta(days=3)),
    ))
    ds_store = drive.folder(svc).parent / ".DS_Store"
    ds_store.write_bytes(_DS_STORE)
    drive.add(SampleFile(
        ds_store, None, None, "hidden_file", "ignore",
        "A hidden file a Mac writes into folders it opens: not a return.",
        drive.mtime(datetime(2017, 9, 4, 8, 15, tzinfo=UTC)),
    ))
    svc = services[DUPLICATE_SERVICE]
    original = drive.folder(svc) / template_filename(svc.code, Q1)
    # In a subfolder named so that it sorts after the original both in a sorted os.walk and by full path.
    copy = original.parent / "saved attachments" / original.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(original.read_bytes())
    drive.add(SampleFile(
        copy, svc.code, Q1, "duplicate", "unchanged",
        "The Q1 return saved a second time from the same email into a subfolder (later, and sorting after "
        "the original): the same bytes as a return already loaded.",
        drive.mtime(drive.submitted[(svc.code, Q1)] + timedelta(days=2)),
    ))


def _bcf_activity(drive: _Drive, services: dict[str, Any]) -> None:
    """The BCF local NHS activity return (no page in the performance report): 2015-16 Q1 and Q2 with the
    actuals the BCF planning template of March 2016 printed, sent in the month the national BCF quarterly
    collection took them (August and November 2015, as the template's sheet 5b says)."""
    svc = services.get(BCF_ACTIVITY_SERVICE)
    if svc is None:
        return
    for quarter, submitted in BCF_ACTIVITY_RETURNS.items():
        path = drive.workbook(svc, quarter, submitted)
        drive.add(SampleFile(
            path, svc.code, quarter, "bcf_activity", "load",
            f"The BCF local NHS activity return for {quarter}: non-elective admissions and delayed transfer of "
            "care days as the BCF planning template of 2 March 2016 printed the 2015/16 actuals.",
            drive.mtime(submitted),
        ))


def build_sample_drive(
    root: Path, *, services: dict[str, Any] | None = None, clock: float | None = None
) -> list[SampleFile]:
    """Write the sample shared drive under ``root`` and return what was written, in writing order.

    ``services``: the configured services (default :func:`~public_health.returns.services.load_services`).
    ``clock``: the time (epoch seconds) the drive is to look as if seen at. Settled files get
    modification times before it as on the reference timeline (Q1 returns in July 2017, Q2 returns
    in October 2017, :data:`REFERENCE_CLOCK` being "now"); the workbook still being written gets
    ``clock`` itself. Without ``clock``, settled files keep their 2017 dates and the workbook still
    being written gets the current time. File bytes do not depend on ``clock``.
    """
    if services is None:
        from public_health.returns.services import load_services

        services = load_services()
    missing = [code for code in _services_in_use() if code not in services]
    if missing:
        raise ValueError(f"the sample drive needs services {', '.join(missing)} (not configured)")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    drive = _Drive(root, services, clock)
    _published_returns(drive, services)
    _broken_files(drive, services)
    _share_clutter(drive, services)
    _bcf_activity(drive, services)
    log.info("wrote sample shared drive %s: %d files", root, len(drive.files))
    return drive.files


def write_manifest(files: Iterable[SampleFile], root: Path, path: Path) -> Path:
    """The drive's manifest as CSV: every file, what the pipeline should do with it, and for each file
    that differs from what the report published on purpose, what is wrong with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "service", "quarter", "kind", "expect", "broken_on_purpose", "what"])
    for f in files:
        writer.writerow([f.relative(root), f.service_code or "", f.quarter or "", f.kind, f.expect,
                         "yes" if f.kind in BROKEN_KINDS else "no", f.why])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def iter_summary(files: Iterable[SampleFile], root: Path) -> Iterator[str]:
    """One line per file: expect, path below ``root``, why."""
    for f in files:
        yield f"{f.expect:<10} {f.relative(root)}  ({f.kind}) {f.why}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m public_health.demo.shared_drive",
        description="Write a sample shared drive of provider returns from the published 2017/18 figures.",
    )
    parser.add_argument("root", nargs="?", type=Path, help="folder to write (default: the configured shared drive)")
    parser.add_argument("--clock", type=float, default=None, help="epoch seconds the drive is seen at (default: now)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = args.root
    if root is None:
        from public_health.config import load_settings

        root = load_settings().returns.shared_drive
    files = build_sample_drive(root, clock=args.clock)
    for line in iter_summary(files, Path(root)):
        sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
