"""The sample shared drive: real returns from the published figures, plus the awkward files a share holds."""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl.utils import get_column_letter

from public_health.demo.shared_drive import (
    BCF_ACTIVITY_RETURNS,
    BROKEN_KINDS,
    EXPECTS,
    REFERENCE_CLOCK,
    RESUBMITTED_KPI,
    RESUBMITTED_WRONG_VALUE,
    TEXT_IN_NUMBER_KPI,
    SampleFile,
    build_sample_drive,
    main,
    report_services,
    return_figures,
    write_manifest,
)
from public_health.periods import FinancialQuarter
from public_health.returns.cells import ParsedReturn, ReturnParseError
from public_health.returns.parse import parse_return
from public_health.returns.services import Service, load_services
from public_health.returns.template import KPI_FIRST_ROW, value_column

Q1, Q2 = "2017-18-Q1", "2017-18-Q2"
CLOCK = datetime(2017, 11, 1, 9, 0, tzinfo=UTC).timestamp()
SETTLE_SECONDS = 120  # config/settings.yaml returns.settle_seconds
REQUIRED = {
    "healthy_together",
    "healthy_eating_schools",
    "oral_health_promotion",
    "integrated_sexual_health",
    "larc_gp",
    "ehc_pharmacies",
    "smoking_cessation",
    "nhs_health_checks",
}
GOOD = ("load", "supersede")


@pytest.fixture(scope="module")
def services() -> dict[str, Service]:
    return load_services()


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory, services: dict[str, Service]) -> tuple[Path, list[SampleFile]]:
    root = tmp_path_factory.mktemp("share")
    return root, build_sample_drive(root, services=services, clock=CLOCK)


@pytest.fixture(scope="module")
def files(drive: tuple[Path, list[SampleFile]]) -> list[SampleFile]:
    return drive[1]


def one(files: list[SampleFile], **match: Any) -> SampleFile:
    found = [f for f in files if all(getattr(f, k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one sample file with {match}, found {[f.path.name for f in found]}"
    return found[0]


def values(parsed: ParsedReturn) -> dict[tuple[str, str, str], float | None]:
    return {(v.kpi_code, v.period.label, v.measure): v.value for v in parsed.values}


# the listing --------------------------------------------------------------------------------------


def test_every_listed_file_exists_once_with_a_known_expectation(drive: tuple[Path, list[SampleFile]]) -> None:
    root, files = drive
    assert len({f.path for f in files}) == len(files)
    for f in files:
        assert f.path.is_file(), f.path
        assert f.path.is_relative_to(root)
        assert f.expect in EXPECTS
        assert f.why.strip() and f.kind
    on_disk = {p for p in root.rglob("*") if p.is_file()}
    assert on_disk == {f.path for f in files}, "every file written is described"


def test_share_is_organised_by_provider_and_service(drive: tuple[Path, list[SampleFile]]) -> None:
    root, files = drive
    for f in files:
        if f.kind in ("return", "typed_as_text", "csv", "resubmission", "resubmission_original"):
            provider, code, _name = f.path.relative_to(root).parts
            assert code == f.service_code
            assert provider.strip() and ":" not in provider
    assert (
        root / "Leicestershire Partnership Trust" / "healthy_together" / "healthy_together_2017-18-Q2.xlsx"
    ).is_file()


def test_every_service_with_a_page_has_q1_and_q2_returns_as_published(
    files: list[SampleFile], services: dict[str, Service]
) -> None:
    quarters: dict[str, set[str]] = defaultdict(set)
    for f in files:
        if f.expect in GOOD and f.service_code and f.quarter and f.kind not in BROKEN_KINDS:
            quarters[f.service_code].add(f.quarter)
    with_pages = {s.code for s in report_services(services)}
    assert len(with_pages) == 24 and REQUIRED <= with_pages
    assert {code for code, qs in quarters.items() if {Q1, Q2} <= qs} >= with_pages


def test_broken_files_sit_beside_the_published_returns_and_the_manifest_names_them(
    drive: tuple[Path, list[SampleFile]], tmp_path: Path
) -> None:
    root, files = drive
    broken = [f for f in files if f.kind in BROKEN_KINDS]
    assert {f.kind for f in broken} == BROKEN_KINDS
    for f in broken:
        assert f.why.startswith("BROKEN ON PURPOSE"), f.path.name
        published = [g for g in files if (g.service_code, g.quarter) == (f.service_code, f.quarter)
                     and g.kind not in BROKEN_KINDS and g.expect in GOOD]
        assert published or f.kind == "unknown_service", f"{f.path.name} replaces a published return"
    manifest = list(csv.DictReader(write_manifest(files, root, tmp_path / "manifest.csv").open()))
    assert list(manifest[0]) == ["file", "service", "quarter", "kind", "expect", "broken_on_purpose", "what"]
    assert len(manifest) == len(files)
    named = [row for row in manifest if row["broken_on_purpose"] == "yes"]
    assert {row["file"] for row in named} == {f.relative(root) for f in broken}
    assert all(row["what"].startswith("BROKEN ON PURPOSE") for row in named)


def test_no_figure_differs_from_the_published_one_except_in_broken_files(
    files: list[SampleFile], services: dict[str, Service]
) -> None:
    """The figures of every published return are the report's own, and a broken file never replaces one."""
    for f in files:
        if f.expect not in GOOD or f.kind in BROKEN_KINDS or f.kind == "bcf_activity":
            continue
        got = values(parse_return(f.path, services))
        want = return_figures(services[f.service_code], f.quarter)
        for key, value in got.items():
            if key in want and not isinstance(want[key], str):
                assert value == pytest.approx(want[key]), (f.path.name, key)


# good returns -------------------------------------------------------------------------------------


def test_every_load_or_supersede_file_parses_with_the_published_figures(
    files: list[SampleFile], services: dict[str, Service]
) -> None:
    checked = 0
    for f in files:
        if f.expect not in GOOD:
            continue
        parsed = parse_return(f.path, services)
        assert (parsed.service_code, parsed.period.label) == (f.service_code, f.quarter), f.path.name
        if f.kind not in ("return", "typed_as_text", "csv", "resubmission"):
            continue
        got = values(parsed)
        service = services[f.service_code]
        for key, want in return_figures(service, f.quarter).items():
            if f.kind == "csv" and FinancialQuarter.parse(key[1]) > parsed.period:
                continue
            if isinstance(want, str):
                assert got[key] is None, (f.path.name, key)
            else:
                assert got[key] == pytest.approx(want), (f.path.name, key)
        checked += 1
    assert checked >= 17


def test_q2_returns_carry_the_reference_page_comments_and_actions(
    files: list[SampleFile], services: dict[str, Service]
) -> None:
    f = one(files, service_code="integrated_sexual_health", quarter=Q2)
    parsed = parse_return(f.path, services)
    service = services["integrated_sexual_health"]
    assert [c["comment"] for c in parsed.comments] == [c.text for c in service.reference_comments]
    assert len(parsed.actions) == len(service.reference_actions)
    assert parsed.cover["submission_date"] is not None and parsed.cover["contact_email"]


def test_action_dates_that_are_not_dates_are_kept_in_the_text(
    files: list[SampleFile], services: dict[str, Service]
) -> None:
    f = one(files, service_code="nhs_health_checks", kind="resubmission")
    actions = parse_return(f.path, services).actions
    assert any("(action by: On-going,)" in a["action"] and a["action_by"] is None for a in actions)


def test_healthy_together_q2_as_published_with_the_123_percent_slip(
    files: list[SampleFile], services: dict[str, Service]
) -> None:
    f = one(files, service_code="healthy_together", quarter=Q2, kind="return")
    assert f.expect == "load"   # it loads, with the checks' findings beside the 123%
    got = values(parse_return(f.path, services))  # parses: stopping 123% is the checks' job
    assert got[("ht_nbr_10_14d_num", Q2, "actual")] == 1232
    assert got[("ht_nbr_denom", Q2, "actual")] == 1284
    assert got[("ht_new_birth_visit_10_14d", Q2, "actual")] == pytest.approx(96)
    assert got[("ht_bf_status_68w_pct", Q2, "actual")] == pytest.approx(123)
    assert got[("ht_bf_status_68w_num", Q2, "actual")] > got[("ht_68w_denom", Q2, "actual")]


def test_figures_typed_as_text_load(files: list[SampleFile], services: dict[str, Service]) -> None:
    f = one(files, kind="typed_as_text")
    assert f.expect == "load"
    parsed = parse_return(f.path, services)
    raw = {(v.kpi_code, v.period.label, v.measure): v.raw for v in parsed.values}
    got = values(parsed)
    assert raw[("ht_new_birth_visit_10_14d", Q1, "target")] == "90%"
    assert got[("ht_new_birth_visit_10_14d", Q1, "target")] == pytest.approx(90)
    assert raw[("ht_nbr_10_14d_num", Q1, "actual")] == "1,081"
    assert got[("ht_nbr_10_14d_num", Q1, "actual")] == 1081


def test_csv_export_parses(files: list[SampleFile], services: dict[str, Service]) -> None:
    f = one(files, kind="csv")
    assert f.expect == "load" and f.path.suffix == ".csv"
    assert f.path.read_bytes().startswith(b"\xef\xbb\xbfservice,kpi,period,measure,value\r\n")
    parsed = parse_return(f.path, services)
    assert (parsed.layout, parsed.service_code, parsed.period.label) == ("csv", "ehc_pharmacies", Q1)
    assert values(parsed)[("ehc_claims", Q1, "actual")] == 808


def test_resubmission_corrects_one_figure_and_is_later(files: list[SampleFile], services: dict[str, Service]) -> None:
    first = one(files, kind="resubmission_original")
    second = one(files, kind="resubmission")
    assert (first.expect, second.expect) == ("load", "supersede")
    assert first.path.name == "nhs_health_checks_2017-18-Q2.xlsx"
    assert second.path.name == "nhs_health_checks_2017-18-Q2_v2.xlsx"
    assert second.mtime > first.mtime
    a, b = values(parse_return(first.path, services)), values(parse_return(second.path, services))
    assert a[(RESUBMITTED_KPI, Q2, "actual")] == RESUBMITTED_WRONG_VALUE
    assert b[(RESUBMITTED_KPI, Q2, "actual")] == 1806
    assert {k for k in a if a[k] != b[k]} == {(RESUBMITTED_KPI, Q2, "actual")}


def test_duplicate_copy_has_the_same_bytes(files: list[SampleFile]) -> None:
    dup = one(files, expect="unchanged")
    original = one(files, service_code=dup.service_code, quarter=dup.quarter, kind="return")
    assert dup.path.read_bytes() == original.path.read_bytes()
    assert dup.mtime > original.mtime


# bad files ----------------------------------------------------------------------------------------


def test_text_in_a_number_cell_names_sheet_and_cell(files: list[SampleFile], services: dict[str, Service]) -> None:
    f = one(files, kind="text_in_number")
    assert f.expect == "quarantine"
    service = services[f.service_code]
    row = KPI_FIRST_ROW + [k.code for k in service.kpis].index(TEXT_IN_NUMBER_KPI)
    cell = f"{get_column_letter(value_column(2, 'actual'))}{row}"
    with pytest.raises(ReturnParseError) as err:
        parse_return(f.path, services)
    assert (err.value.sheet, err.value.cell) == ("KPIs", cell)
    assert "sheet KPIs" in str(err.value) and f"cell {cell}" in str(err.value) and "about 30" in str(err.value)


def test_unknown_service_names_cell_b3(files: list[SampleFile], services: dict[str, Service]) -> None:
    f = one(files, kind="unknown_service")
    assert (f.expect, f.path.name) == ("quarantine", "weight_watchers_2017-18-Q2.xlsx")
    with pytest.raises(ReturnParseError) as err:
        parse_return(f.path, services)
    assert (err.value.sheet, err.value.cell) == ("Cover", "B3")
    assert "weight_watchers" in str(err.value)


def test_truncated_workbook_is_unsettled_then_unreadable(files: list[SampleFile], services: dict[str, Service]) -> None:
    f = one(files, kind="truncated")
    assert f.expect == "unsettled"
    assert f.path.name == f"{f.service_code}_{Q1} (1).xlsx"
    assert f.path.stat().st_mtime == pytest.approx(CLOCK)
    with pytest.raises(ReturnParseError, match="not a readable workbook"):
        parse_return(f.path, services)


def test_lock_temporary_and_hidden_files_are_listed_as_ignored(files: list[SampleFile]) -> None:
    ignored = {f.path.name: f for f in files if f.expect == "ignore"}
    assert "~$larc_gp_2017-18-Q2.xlsx" in ignored
    assert (ignored["~$larc_gp_2017-18-Q2.xlsx"].path.parent / "larc_gp_2017-18-Q2.xlsx").is_file()
    assert any(name.endswith(".tmp") for name in ignored)
    assert ".DS_Store" in ignored


# times and determinism ----------------------------------------------------------------------------


def test_modification_times_are_set_relative_to_the_clock(files: list[SampleFile]) -> None:
    for f in files:
        assert f.path.stat().st_mtime == pytest.approx(f.mtime)
        if f.expect == "unsettled":
            assert f.mtime == CLOCK
        else:
            assert f.mtime <= CLOCK - SETTLE_SECONDS, f.path.name
    shift = CLOCK - REFERENCE_CLOCK.timestamp()
    q2 = [f.mtime - shift for f in files if f.quarter == Q2 and f.kind in ("return", "text_in_number")]
    assert all(datetime(2017, 10, 1, tzinfo=UTC).timestamp() <= t <= REFERENCE_CLOCK.timestamp() for t in q2)


def test_two_builds_are_identical(drive: tuple[Path, list[SampleFile]], tmp_path: Path) -> None:
    root, first = drive
    second = build_sample_drive(tmp_path, clock=CLOCK)
    assert [f.relative(root) for f in first] == [f.relative(tmp_path) for f in second]
    for a, b in zip(first, second, strict=True):
        assert (a.kind, a.expect, a.why, a.mtime) == (b.kind, b.expect, b.why, b.mtime)
        assert a.path.read_bytes() == b.path.read_bytes(), a.relative(root)


def test_without_a_clock_settled_files_keep_their_reference_dates_and_the_truncated_one_is_new(
    drive: tuple[Path, list[SampleFile]], tmp_path: Path
) -> None:
    root, with_clock = drive
    before = time.time()
    files = build_sample_drive(tmp_path)
    for a, b in zip(with_clock, files, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes(), "bytes do not depend on the clock"
        if b.expect == "unsettled":
            assert b.mtime >= before - 1
        elif b.kind == "bcf_activity":  # the BCF activity returns of 2015/16, sent in 2015
            assert datetime.fromtimestamp(b.mtime, UTC) == BCF_ACTIVITY_RETURNS[b.quarter]
        else:
            assert datetime.fromtimestamp(b.mtime, UTC).year == 2017


def test_bcf_activity_returns_carry_the_papers_2015_16_actuals(
    files: list[SampleFile], services: dict[str, Service]
) -> None:
    got = {}
    for f in files:
        if f.kind == "bcf_activity":
            parsed = parse_return(f.path, services)
            got.update({(k, p): v for (k, p, m), v in values(parsed).items() if m == "actual"})
    assert got == {
        ("bcf_nea_admissions", "2015-16-Q1"): 15463, ("bcf_nea_admissions", "2015-16-Q2"): 14792,
        ("bcf_dtoc_delayed_days", "2015-16-Q1"): 3826, ("bcf_dtoc_delayed_days", "2015-16-Q2"): 3747,
    }
    assert not services["bcf_nhs_activity"].performance_report


def test_main_writes_the_drive_and_lists_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "share"), "--clock", str(CLOCK)]) == 0
    out = capsys.readouterr().out
    assert "unsettled" in out and "healthy_together_2017-18-Q2.xlsx" in out
    assert (tmp_path / "share" / "Leicester GP Practices" / "larc_gp" / "larc_gp_2017-18-Q1.xlsx").is_file()
