"""KPI history imports: the reader (CSV and XLSX, every error placed), staging and the gate (a bad line
quarantines the whole file), and the load into a migrated warehouse (DuckDB and PostgreSQL): idempotent,
revisions kept in history, recorded in audit.load_batch.

The figures are the published report's, as transcribed in config/services/nhs_health_checks.yaml
``reference_figures``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import text

from public_health.config import load_settings
from public_health.periods import FinancialQuarter
from public_health.pipelines.history_import import HistoryImportError, HistoryImportResult, import_history, main
from public_health.returns.cells import ReturnParseError
from public_health.returns.history import (
    FinancialYear,
    HistoryRecord,
    in_history,
    parse_history_period,
    read_history,
    stage_history,
)
from public_health.returns.services import load_service, load_services
from public_health.warehouse.audit import RunContext

SERVICE = "nhs_health_checks"
AS_OF = FinancialQuarter(2017, 2)
HEADER = ["service", "kpi", "period", "measure", "value", "note"]
#: how the report prints a measure
MEASURE_WORDS = {"target": "Target", "actual": "Actual", "actual_to_date": "Actual to date"}


@pytest.fixture(scope="module")
def services():
    return load_services()


@pytest.fixture(scope="module")
def reference():
    """The published 2017/18 Q2 report's NHS Health Checks figures (the service's ``reference_figures``)."""
    return load_service(SERVICE).reference_figures


#: The report's slip, as config/services/nhs_health_checks.yaml records it: 55,834 checks to date in 2017/18 Q2
#: does not add the 1,806 checks of Q2 (55,834 + 1,806 = 57,640).
SLIP = ("2017-18-Q2", "actual_to_date", 55834.0)
SLIP_NOTE = "as printed: 55,834 to date does not add the 1,806 checks of Q2"


def is_slip(figure) -> bool:
    return (figure.period, figure.measure, figure.value) == SLIP


def printed(figure, i: int) -> list[str]:
    """A reference figure as a team's spreadsheet holds it: the report's words and number formats, the
    period in one of the forms people type."""
    if figure.period.endswith(("Q1", "Q2", "Q3", "Q4")):
        q = FinancialQuarter.parse(figure.period)
        period = [q.label, f"{q.year}/{(q.year + 1) % 100:02d} Q{q.number}", q.heading.replace("/", "-")][i % 3]
    else:
        period = figure.period if i % 2 else figure.period.replace("-", "/")
    unit = next((k.unit for k in load_service(SERVICE).kpis if k.code == figure.kpi), "count")
    value = f"{figure.value:,.0f}" + ("%" if unit == "percent" else "")
    note = SLIP_NOTE if is_slip(figure) else figure.note or ""
    return [SERVICE, figure.kpi, period, MEASURE_WORDS[figure.measure], value, note]


def reference_rows(reference) -> list[list[str]]:
    return [printed(f, i) for i, f in enumerate(reference)]


def index_of(lines: list[list[str]], kpi: str, period, measure: str) -> int:
    """Where a figure is among the printed rows (0 for the first row below the header)."""
    return next(i for i, r in enumerate(lines)
                if r[1] == kpi and r[3] == measure and parse_history_period(r[2]) == period)


def write_csv(path: Path, rows: list[list[str]], *, header: list[str] = HEADER, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list], *, sheet: str = "History", first_sheet: str | None = "Notes") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    if first_sheet:
        ws.title = first_sheet
        ws["A1"] = "KPI history kept by the team"
        ws = wb.create_sheet(sheet)
    else:
        ws.title = sheet
    ws.append([h.title() for h in HEADER])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def error_of(path: Path, services) -> ReturnParseError:
    with pytest.raises(ReturnParseError) as info:
        read_history(path, services)
    return info.value


# reader -------------------------------------------------------------------------------------------


def test_reads_the_reports_figures_from_a_csv_with_bom(tmp_path, services, reference):
    path = write_csv(tmp_path / "nhc_history.csv", reference_rows(reference), bom=True)
    history = read_history(path, services)
    assert history.layout == "csv" and history.sheet is None
    assert len(history.records) == len(reference)
    for record, figure in zip(history.records, reference, strict=True):
        assert (record.kpi_code, record.period_label, record.measure, record.value) == (
            figure.kpi, figure.period, figure.measure, figure.value)
        assert record.service_code == SERVICE and record.missing_reason is None and record.known
    first = history.records[0]
    assert first.period == FinancialYear(2013) and first.raw.period == "2013/14"
    assert first.source_cell == "line 2" and first.raw.value == "76,947"
    [noted] = [r for r in history.records if r.note]
    assert (noted.period_label, noted.measure, noted.value, noted.note) == (*SLIP, SLIP_NOTE)
    assert dataclasses.is_dataclass(first) and first.__dataclass_params__.frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.value = 0  # type: ignore[misc]


def test_period_forms_measures_and_missing_words(tmp_path, services):
    rows = [
        [SERVICE, "nhc_checks", "2015-16-Q1", "actual", "3,358", ""],
        [SERVICE, "nhc_checks", "2015/16 Q2", "Actual", "2591", ""],
        [SERVICE, "nhc_checks", "Q3 2015-16", "ACTUAL", " 2,329 ", ""],
        [SERVICE, "nhc_management_plans", "2016-17-Q4", "Target to date", "0", ""],
        [SERVICE, "nhc_checks", "2015/16", "actual", "10,580", ""],
        [SERVICE, "NHC_Coverage_Pct", "2017-18-Q2", "Actual to date", "67%", ""],
        [SERVICE, "nhc_management_plans", "2017-18-Q3", "Actual", "Pending", "return not in"],
        [SERVICE, "nhc_management_plans", "2017-18-Q4", "Actual", "Not yet available", ""],
        [SERVICE, "nhc_management_plans", "2013-14", "Actual", "n/a", ""],
        [SERVICE, "nhc_management_plans", "2014-15", "Actual", "Data not recorded", ""],
        [SERVICE, "nhc_management_plans", "2017-18-Q1", "Target", "tbc", ""],
        [SERVICE, "nhc_management_plans", "2017-18-Q2", "Target", "-", ""],
        [SERVICE, "nhc_management_plans", "2016-17-Q1", "Target", "Redacted", ""],
    ]
    history = read_history(write_csv(tmp_path / "h.csv", rows), services)
    got = [(r.kpi_code, r.period_label, r.measure, r.value, r.missing_reason) for r in history.records]
    assert got == [
        ("nhc_checks", "2015-16-Q1", "actual", 3358.0, None),
        ("nhc_checks", "2015-16-Q2", "actual", 2591.0, None),
        ("nhc_checks", "2015-16-Q3", "actual", 2329.0, None),
        ("nhc_management_plans", "2016-17-Q4", "target", 0.0, None),
        ("nhc_checks", "2015-16", "actual", 10580.0, None),
        ("nhc_coverage_pct", "2017-18-Q2", "actual_to_date", 67.0, None),
        ("nhc_management_plans", "2017-18-Q3", "actual", None, "pending"),
        ("nhc_management_plans", "2017-18-Q4", "actual", None, "not_yet_available"),
        ("nhc_management_plans", "2013-14", "actual", None, "not_applicable"),
        ("nhc_management_plans", "2014-15", "actual", None, "not_recorded"),
        ("nhc_management_plans", "2017-18-Q1", "target", None, "tbc"),
        ("nhc_management_plans", "2017-18-Q2", "target", None, "dash"),
        ("nhc_management_plans", "2016-17-Q1", "target", None, "redacted"),
    ]
    assert history.records[6].note == "return not in" and history.records[7].note is None


def test_header_is_case_and_space_insensitive_in_any_order(tmp_path, services):
    header = [" Value", "MEASURE", "Period ", "K P I", "Service", "note"]
    path = write_csv(tmp_path / "h.csv", [["1,806", "Actual", "2017-18-Q2", "nhc_checks", SERVICE, ""]], header=header)
    [record] = read_history(path, services).records
    assert (record.kpi_code, record.period_label, record.value) == ("nhc_checks", "2017-18-Q2", 1806.0)


def test_reads_the_history_sheet_of_a_workbook(tmp_path, services, reference):
    rows = [
        [SERVICE, "nhc_checks", "2017-18-Q1", "Actual", 1695, None],
        [SERVICE, "nhc_checks", "2017/18 Q2", "Actual", "1,806", "Q2 return"],
        [SERVICE, "nhc_coverage_pct", "Q2 2017-18", "Actual to date", 0.67, None],
        [SERVICE, "nhc_eligible_5yr", "2017/18", "Target", 80449, None],
    ]
    path = write_xlsx(tmp_path / "history.xlsx", rows)
    wb = openpyxl.load_workbook(path)
    wb["History"]["E4"].number_format = "0%"
    wb.save(path)
    history = read_history(path, services)
    assert history.layout == "xlsx" and history.sheet == "History"
    got = [(r.kpi_code, r.period_label, r.value, r.source_cell, r.note) for r in history.records]
    assert got == [
        ("nhc_checks", "2017-18-Q1", 1695.0, "History!E2", None),
        ("nhc_checks", "2017-18-Q2", 1806.0, "History!E3", "Q2 return"),
        ("nhc_coverage_pct", "2017-18-Q2", 67.0, "History!E4", None),
        ("nhc_eligible_5yr", "2017-18", 80449.0, "History!E5", None),
    ]
    assert history.records[3].raw.value == "80449"


def test_reads_the_first_sheet_when_none_is_named_history(tmp_path, services):
    path = write_xlsx(tmp_path / "kpis.xlsx", [[SERVICE, "nhc_checks", "2017-18-Q2", "Actual", 1806, None]],
                      sheet="NHS Health Checks", first_sheet=None)
    [record] = read_history(path, services).records
    assert record.source_cell == "NHS Health Checks!E2" and record.value == 1806.0


GOOD = [SERVICE, "nhc_checks", "2017-18-Q2", "Actual", "1,806", ""]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("period", "2017-19-Q2", "expected a financial-year quarter like 2015-16-Q1"),
        ("period", "Sep 2017", "or a financial year like 2015-16 or 2015/16"),
        ("measure", "Variance", "expected a measure: target, actual, actual_to_date"),
        ("value", "lots", "expected a number or one of"),
        ("value", "£1,806", "expected a number or one of"),       # a count KPI: no currency sign
        ("value", "1806%", "expected a number without a % sign"),
        ("value", "1806.5", "expected a whole number"),
        ("service", "", "expected a service code"),
        ("kpi", "", "expected a KPI code"),
    ],
)
def test_every_csv_error_names_file_line_column_and_what_was_expected(tmp_path, services, column, value, expected):
    bad = list(GOOD)
    bad[HEADER.index(column)] = value
    path = write_csv(tmp_path / "team_history.csv", [GOOD, GOOD[:3] + ["Target", "8,045", ""], bad])
    error = error_of(path, services)
    assert (error.file.name, error.line, error.column) == ("team_history.csv", 4, column)
    message = str(error)
    assert message.startswith(f"team_history.csv, line 4, column {column}: ")
    assert expected in message


def test_a_workbook_error_names_sheet_cell_and_column(tmp_path, services):
    path = write_xlsx(tmp_path / "history.xlsx", [
        [SERVICE, "nhc_checks", "2017-18-Q1", "Actual", 1695, None],
        [SERVICE, "nhc_checks", "2017-18-Q2", "Actual", "about 1,800", None],
    ])
    error = error_of(path, services)
    assert (error.sheet, error.cell, error.column) == ("History", "E3", "value")
    assert str(error).startswith("history.xlsx, sheet History, cell E3, column value: expected a number")
    assert "'about 1,800'" in str(error)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HEADER + ["comments"], "column(s) 'comments' that a history file does not have: expected exactly service"),
        (HEADER[:-1], "the header has no 'note' column(s): expected exactly"),
        (HEADER[:4] + ["period", "value"], "names column 'period' twice"),
    ],
)
def test_header_errors_name_the_columns(tmp_path, services, header, expected):
    path = write_csv(tmp_path / "h.csv", [GOOD[: len(header)] + [""] * (len(header) - len(GOOD))], header=header)
    error = error_of(path, services)
    assert error.line == 1 and expected in str(error)


def test_row_shape_encoding_and_type_errors(tmp_path, services):
    path = tmp_path / "h.csv"
    path.write_text(",".join(HEADER) + "\n" + f"{SERVICE},nhc_checks,2017-18-Q2,Actual,1,806,\n", encoding="utf-8")
    assert "line 2: expected 6 fields like the header, found 7 (a number with a thousands separator" in str(
        error_of(path, services))
    path.write_bytes((",".join(HEADER) + "\n" + f"{SERVICE},nhc_checks,2017-18-Q2,Actual,1806,caf\xe9\n").encode(
        "cp1252"))
    assert "h.csv, line 2: is not UTF-8 text: expected a CSV file in UTF-8" in str(error_of(path, services))
    path.write_text(",".join(HEADER) + "\n", encoding="utf-8")
    assert "has a header but no rows" in str(error_of(path, services))
    other = tmp_path / "h.json"
    other.write_text("{}")
    assert "expected a .csv or .xlsx history file" in str(error_of(other, services))


def test_periods_and_the_as_of_rule():
    assert parse_history_period("2015/16") == FinancialYear(2015)
    assert parse_history_period("2015 - 16").label == "2015-16"
    assert parse_history_period("q1 2015/16") == FinancialQuarter(2015, 1)
    with pytest.raises(ValueError, match="2015-17"):
        parse_history_period("2015-17")

    def record(period, measure="actual"):
        return HistoryRecord(SERVICE, "nhc_checks", period, measure, 1.0, None, None, None, "line 2",
                             None)  # type: ignore[arg-type]

    assert in_history(record(FinancialQuarter(2017, 2)), AS_OF)
    assert not in_history(record(FinancialQuarter(2017, 3)), AS_OF)
    assert in_history(record(FinancialQuarter(2017, 4), "target"), AS_OF)
    assert in_history(record(FinancialYear(2016)), AS_OF)
    assert not in_history(record(FinancialYear(2017)), AS_OF)   # the year is not over by 2017-18 Q2
    assert in_history(record(FinancialYear(2017), "target"), AS_OF)


# staging and the gate -----------------------------------------------------------------------------


def test_staging_reuses_the_return_checks_columns(tmp_path, services, reference):
    history = read_history(write_csv(tmp_path / "h.csv", reference_rows(reference)), services)
    staged = stage_history(history, services, AS_OF)
    assert list(staged.index[:3]) == ["line 2", "line 3", "line 4"] and len(staged) == len(reference)
    assert staged["period_in_return_year"].all()
    row = staged.loc["line 2"]
    assert (row["period"], row["kpi_key"], row["value"]) == ("2013-14", f"{SERVICE}|nhc_eligible_5yr", 76947.0)
    actual = staged[(staged["kpi_code"] == "nhc_checks") & (staged["measure"] == "actual")].set_index("period")
    change = actual["change_vs_previous_pct"]
    assert change["2015-16-Q2"] == pytest.approx(100 * (2591 - 3358) / 3358)    # on the previous quarter
    assert change["2016-17-Q1"] == pytest.approx(100 * (2127 - 2302) / 2302)    # across financial years
    assert pd.isna(change["2015-16"])   # a year is not compared with a quarter


def _settings(tmp_path: Path, monkeypatch, url: str):
    monkeypatch.setenv("PH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WAREHOUSE_URL", url)
    return load_settings()


@pytest.fixture
def duck(tmp_path):
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    engine = make_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    migrate(engine)
    yield engine
    engine.dispose()


def rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def quarantine_report(result: HistoryImportResult) -> str:
    assert result.status == "quarantined" and result.report
    return Path(result.report).read_text(encoding="utf-8")


def test_an_unknown_kpi_quarantines_the_whole_file(tmp_path, monkeypatch, duck, reference):
    settings = _settings(tmp_path, monkeypatch, str(duck.url))
    lines = reference_rows(reference)[:10]
    lines.insert(5, [SERVICE, "nhc_checks_offered", "2015-16-Q1", "Actual", "4,200", ""])
    path = write_csv(tmp_path / "nhc_history.csv", lines)
    result = import_history(settings, duck, path, AS_OF, RunContext("kpi_history_import", "run-1", "import_file"))
    report = quarantine_report(result)
    assert "line 7" in result.error and "line 7" in report            # header, then line 2 onwards
    assert "nhc_checks_offered" in report
    assert rows(duck, "SELECT count(*) FROM core.fact_kpi_value")[0][0] == 0   # nothing half-loads
    [batch] = rows(duck, "SELECT * FROM audit.load_batch")
    assert (batch.source, batch.status, batch.rows_read, batch.report_path) == (
        "kpi_history_import", "quarantined", 11, result.report)
    assert (batch.dag_id, batch.run_id, batch.task_id) == ("kpi_history_import", "run-1", "import_file")
    assert rows(duck, "SELECT count(*) FROM audit.dq_result WHERE batch_id = :b AND NOT success",
                b=batch.batch_id)[0][0] >= 1
    assert Path(result.report).parent.parent.name == "kpi_history_import"
    assert json.loads((Path(result.report).parent / "report.json").read_text())["as_of"] == AS_OF.label


def test_duplicates_future_figures_and_bad_values_quarantine(tmp_path, monkeypatch, duck):
    settings = _settings(tmp_path, monkeypatch, str(duck.url))
    twice = write_csv(tmp_path / "twice.csv", [
        [SERVICE, "nhc_checks", "2017-18-Q1", "Actual", "1,695", ""],
        [SERVICE, "nhc_checks", "2017/18 Q1", "Actual", "1,695", "typed again"],
    ])
    result = import_history(settings, duck, twice, AS_OF)
    assert "line 2" in quarantine_report(result) and "line 3" in quarantine_report(result)

    ahead = write_csv(tmp_path / "ahead.csv", [[SERVICE, "nhc_checks", "2017-18-Q2", "Actual", "1,806", ""],
                                               [SERVICE, "nhc_checks", "2017-18-Q3", "Actual", "1,806", ""]])
    result = import_history(settings, duck, ahead, AS_OF)
    assert result.status == "quarantined" and "line 3" in result.error

    unreadable = write_csv(tmp_path / "unreadable.csv", [[SERVICE, "nhc_checks", "2017-18-Q2", "Actual", "lots", ""]])
    result = import_history(settings, duck, unreadable, AS_OF)
    assert result.error.startswith("unreadable.csv, line 2, column value: expected a number")
    assert "unreadable.csv, line 2, column value" in quarantine_report(result)
    assert rows(duck, "SELECT count(*) FROM core.fact_kpi_value")[0][0] == 0
    assert {r.status for r in rows(duck, "SELECT status FROM audit.load_batch")} == {"quarantined"}


def test_a_missing_file_is_recorded_failed(tmp_path, monkeypatch, duck):
    settings = _settings(tmp_path, monkeypatch, str(duck.url))
    with pytest.raises(HistoryImportError, match="no such file"):
        import_history(settings, duck, tmp_path / "nowhere.csv", AS_OF)
    [batch] = rows(duck, "SELECT source, status, error_summary FROM audit.load_batch")
    assert batch.source == "kpi_history_import" and batch.status == "failed" and "nowhere.csv" in batch.error_summary


# load (DuckDB and PostgreSQL) ---------------------------------------------------------------------


def test_load_is_idempotent_and_keeps_revisions(tmp_path, monkeypatch, warehouse, reference):
    settings = _settings(tmp_path, monkeypatch, warehouse.url.render_as_string(hide_password=False))
    lines = reference_rows(reference)
    path = write_csv(tmp_path / "nhc_history.csv", lines)
    run = RunContext("kpi_history_import", "manual__1", "import_file")

    first = import_history(settings, warehouse, path, AS_OF, run)
    assert (first.status, first.rows_read, first.inserted, first.updated, first.unchanged) == (
        "loaded", len(reference), len(reference), 0, 0)
    assert first.warnings   # e.g. the report's own 64% jump in checks in 2016-17 Q4: a warning, loaded
    facts = {(r.kpi_code, r.period_label, r.measure): r for r in rows(warehouse, "SELECT * FROM core.fact_kpi_value")}
    assert len(facts) == len(reference)
    q2 = facts[("nhc_checks", "2017-18-Q2", "actual")]
    assert (q2.value, q2.source_file, q2.raw_value, q2.missing_reason, q2.batch_id) == (
        1806.0, "nhc_history.csv", "1,806", None, first.batch_id)
    assert q2.source_cell == f"line {2 + index_of(lines, 'nhc_checks', AS_OF, 'Actual')}"
    year = facts[("nhc_checks", "2015-16", "actual")]
    assert year.value == 10580.0
    assert facts[("nhc_coverage_pct", "2017-18-Q2", "actual_to_date")].raw_value == "67%"
    [slip] = [f for f in reference if is_slip(f)]
    assert facts[(slip.kpi, *SLIP[:2])].note == SLIP_NOTE
    assert sum(f.note is not None for f in facts.values()) == 1
    [period] = rows(warehouse, "SELECT granularity, start_date, end_date FROM core.dim_period"
                               " WHERE period_label = '2015-16'")
    assert period.granularity == "financial_year" and str(period.start_date) == "2015-04-01"
    [batch] = rows(warehouse, "SELECT * FROM audit.load_batch")
    assert (batch.source, batch.status, batch.rows_read, batch.rows_inserted, batch.rows_updated) == (
        "kpi_history_import", "loaded", len(reference), len(reference), 0)
    assert (batch.dag_id, batch.run_id, batch.task_id) == ("kpi_history_import", "manual__1", "import_file")
    assert batch.source_ref == str(path) and len(batch.sha256) == 64
    landing = Path(batch.landing_path)
    assert landing.read_bytes() == path.read_bytes()
    assert landing.parent.parent == settings.landing_dir / "history"

    again = import_history(settings, warehouse, path, AS_OF, run)
    assert (again.status, again.inserted, again.updated, again.unchanged) == ("unchanged", 0, 0, len(reference))
    assert rows(warehouse, "SELECT count(*) FROM core.fact_kpi_value_history")[0][0] == 0

    # The team corrects the report's slip: 55,834 checks to date in Q2 becomes 55,834 + 1,806.
    at = index_of(lines, slip.kpi, AS_OF, "Actual to date")
    lines[at] = lines[at][:4] + ["57,640", "corrected: 55,834 + 1,806"]
    write_csv(path, lines)
    revised = import_history(settings, warehouse, path, AS_OF, run)
    assert (revised.status, revised.inserted, revised.updated, revised.unchanged) == (
        "loaded", 0, 1, len(reference) - 1)
    [old] = rows(warehouse, "SELECT * FROM core.fact_kpi_value_history")
    assert (old.kpi_code, old.period_label, old.measure, old.value, old.raw_value, old.note) == (
        slip.kpi, "2017-18-Q2", "actual_to_date", 55834.0, "55,834", SLIP_NOTE)
    assert (old.batch_id, old.superseded_by_batch_id) == (first.batch_id, revised.batch_id)
    [now] = rows(warehouse, "SELECT value, note, raw_value FROM core.fact_kpi_value WHERE kpi_code = :k"
                            " AND period_label = '2017-18-Q2' AND measure = 'actual_to_date'", k=slip.kpi)
    assert tuple(now) == (57640.0, "corrected: 55,834 + 1,806", "57,640")
    statuses = [r.status for r in rows(warehouse, "SELECT status FROM audit.load_batch ORDER BY batch_id")]
    assert statuses == ["loaded", "unchanged", "loaded"]


def test_a_workbook_loads_with_sheet_and_cell(tmp_path, monkeypatch, duck):
    settings = _settings(tmp_path, monkeypatch, str(duck.url))
    path = write_xlsx(tmp_path / "history.xlsx", [
        [SERVICE, "nhc_management_plans", "2017-18-Q1", "Actual", 237, None],
        [SERVICE, "nhc_management_plans", "2017-18-Q2", "Actual", 279, "from the Q2 return"],
    ])
    result = import_history(settings, duck, path, AS_OF)
    assert (result.status, result.inserted) == ("loaded", 2)
    got = rows(duck, "SELECT period_label, value, source_file, source_cell, note FROM core.fact_kpi_value"
                     " ORDER BY period_label")
    assert [tuple(r) for r in got] == [
        ("2017-18-Q1", 237.0, "history.xlsx", "History!E2", None),
        ("2017-18-Q2", 279.0, "history.xlsx", "History!E3", "from the Q2 return"),
    ]


def test_result_round_trips_through_a_dict():
    result = HistoryImportResult("h.csv", "loaded", 7, AS_OF, "a" * 64, 3, 2, 1, 0, ("w",))
    assert HistoryImportResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_command_line(tmp_path, monkeypatch, capsys, duck):
    _settings(tmp_path, monkeypatch, str(duck.url))
    good = write_csv(tmp_path / "good.csv", [GOOD])
    assert main([str(good), "--as-of", "2017-18-Q2"]) == 0
    assert "good.csv loaded as of 2017-18-Q2: 1 figures read, 1 inserted, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert main([str(good), "--as-of", "2017-18-Q2"]) == 0
    assert "unchanged" in capsys.readouterr().out
    bad = write_csv(tmp_path / "bad.csv", [[SERVICE, "nhc_checks", "2017-18-Q2", "Actual", "lots", ""]])
    assert main([str(bad), "--as-of", "2017-18-Q2"]) == 1
    out = capsys.readouterr().out
    assert "bad.csv quarantined: bad.csv, line 2, column value" in out and "report.md" in out
    assert main([str(good), "--as-of", "2017-18-Q5"]) == 2


def test_an_unknown_code_whose_value_cannot_be_read_without_it_names_the_code(tmp_path, services):
    path = write_csv(tmp_path / "h.csv", [GOOD, [SERVICE, "nhc_coverage", "2017-18-Q2", "Actual to date", "67%", ""]])
    error = error_of(path, services)
    assert (error.line, error.column) == (3, "kpi")
    assert "unknown KPI code 'nhc_coverage' for service nhs_health_checks (known: " in str(error)
    path = write_csv(tmp_path / "h.csv", [["nhs_healthchecks", "nhc_coverage_pct", "2017-18-Q2", "Actual", "67%", ""]])
    assert str(error_of(path, services)).startswith("h.csv, line 2, column service: unknown service code")
