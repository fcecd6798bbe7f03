"""Parsing provider returns: accepted value forms, messy workbooks, formulas, CSV, corrupt files."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from public_health.periods import FinancialQuarter
from public_health.returns.cells import (
    FRAME_COLUMNS,
    KpiValue,
    ParsedReturn,
    ReturnParseError,
    parse_value,
)
from public_health.returns.parse import parse_return
from public_health.returns.template import KPI_FIRST_ROW, KPI_SHEET, Prefill, value_column, write_template
from tests.unit.return_standins import Kpi, Service

QUARTER = "2017-18-Q2"




SH = Service(
    code="sexual_health",
    name="Integrated sexual health service",
    provider="Midlands Partnership NHS Foundation Trust",
    kpis=[
        Kpi("sh_chlamydia_tests", "% of 15-24 year olds offered a chlamydia test", "percent", target=90),
        Kpi("sh_attendances", "Number of attendances", "count", target_kind="none"),
        Kpi("sh_larc", "LARC fitted (cumulative)", "count", target_kind="cumulative"),
    ],
)
SERVICES = {SH.code: SH}
PCT, COUNT, LARC = KPI_FIRST_ROW, KPI_FIRST_ROW + 1, KPI_FIRST_ROW + 2
PCT_KPI, COUNT_KPI = SH.kpis[0], SH.kpis[1]


def q2(measure: str = "actual") -> int:
    return value_column(2, measure)


def ref(row: int, col: int) -> str:
    return f"{openpyxl.utils.get_column_letter(col)}{row}"


def make_return(
    tmp_path: Path,
    name: str = f"sexual_health_{QUARTER}.xlsx",
    prefill: dict | None = None,
    *,
    cover: dict | None = None,
    prefill_comments: list | None = None,
    prefill_actions: list | None = None,
) -> Path:
    filled = Prefill(figures=prefill or {}, comments=prefill_comments, actions=prefill_actions, cover=cover)
    return write_template(SH, FinancialQuarter.parse(QUARTER), tmp_path / name, filled)


def edit(path: Path, fn) -> Path:
    wb = openpyxl.load_workbook(path)
    fn(wb)
    wb.save(path)
    return path


def value_of(parsed: ParsedReturn, kpi: str, period: str = QUARTER, measure: str = "actual") -> KpiValue:
    (v,) = [v for v in parsed.values if (v.kpi_code, v.period.label, v.measure) == (kpi, period, measure)]
    return v


def with_cell(tmp_path: Path, row: int, col: int, value, number_format: str | None = None) -> ParsedReturn:
    path = make_return(tmp_path)

    def set_cell(wb):
        cell = wb[KPI_SHEET].cell(row=row, column=col)
        cell.value = value
        if number_format:
            cell.number_format = number_format

    return parse_return(edit(path, set_cell), SERVICES)


# parse_value -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number_format", "kpi", "expected"),
    [
        ("90%", None, PCT_KPI, 90.0),
        (" 90 % ", None, PCT_KPI, 90.0),
        ("0.5%", None, PCT_KPI, 0.5),
        (0.9, "0%", PCT_KPI, 90.0),
        (0.963, "0.0%", PCT_KPI, 96.3),
        (0.96, "General", PCT_KPI, 96.0),
        ("0.96", None, PCT_KPI, 96.0),
        (90, "General", PCT_KPI, 90.0),
        ("90", None, PCT_KPI, 90.0),
        (123, None, PCT_KPI, 123.0),  # over 100% is kept: the quality gate flags it
        (0, None, PCT_KPI, 0.0),
        (1232, None, COUNT_KPI, 1232.0),
        ("1,232", None, COUNT_KPI, 1232.0),
        ("1,232,000", None, COUNT_KPI, 1232000.0),
        (" 1232 ", None, COUNT_KPI, 1232.0),
        ("\u00a01232\u00a0", None, COUNT_KPI, 1232.0),
        ("1\u00a0232", None, COUNT_KPI, 1232.0),
        ("1232.0", None, COUNT_KPI, 1232.0),
        (0.9, '0.0"%"', Kpi("r", "r", "rate"), 0.9),  # a quoted % is a literal, not a percent format
        ("£1,500.50", None, Kpi("c", "c", "currency"), 1500.5),
    ],
)
def test_parse_value_numbers(raw, number_format, kpi, expected):
    value, reason, _note = parse_value(raw, kpi, number_format=number_format)
    assert value == pytest.approx(expected) and reason is None


def test_bare_fraction_for_percent_is_noted():
    assert parse_value(0.96, PCT_KPI) == (96.0, None, "0.96 read as 96% (fraction for a percent KPI)")
    assert parse_value(0.9, PCT_KPI, number_format="0%")[2] is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "blank"),
        ("", "blank"),
        ("   ", "blank"),
        ("\u00a0", "blank"),
        ("-", "dash"),
        ("\u2013", "dash"),
        (" - ", "dash"),
        ("n/a", "not_applicable"),
        ("N/A", "not_applicable"),
        ("na", "not_applicable"),
        ("#N/A", "not_applicable"),
        ("tbc", "tbc"),
        ("TBC", "tbc"),
        ("Not yet available", "not_yet_available"),
        ("NOT  YET\u00a0AVAILABLE", "not_yet_available"),
        ("Redacted", "redacted"),
        ("redacted", "redacted"),
        ("Pending", "pending"),
        ("Data not recorded", "not_recorded"),
    ],
)
def test_parse_value_missing_words_are_never_zero(raw, reason):
    for kpi in (PCT_KPI, COUNT_KPI):
        assert parse_value(raw, kpi) == (None, reason, None)


@pytest.mark.parametrize(
    ("raw", "kpi", "match"),
    [
        ("about ninety", PCT_KPI, r"expected a number, a percentage or one of \(blank, -, n/a"),
        ("12.5", COUNT_KPI, "whole number"),
        (12.5, COUNT_KPI, "whole number"),
        ("90%", COUNT_KPI, "without a % sign"),
        ("1,23", COUNT_KPI, "expected a number"),
        ("1_000", COUNT_KPI, "expected a number"),
        ("nan", COUNT_KPI, "expected a number"),
        (float("nan"), COUNT_KPI, "finite"),
        (float("inf"), PCT_KPI, "finite"),
        (10**400, COUNT_KPI, "finite"),
        (True, COUNT_KPI, "TRUE/FALSE"),
        (datetime(2017, 10, 1), COUNT_KPI, "date"),
        ("#DIV/0!", PCT_KPI, "Excel error"),
        ("\u0663", COUNT_KPI, "expected a number"),  # Arabic-Indic digit three
    ],
)
def test_parse_value_rejects(raw, kpi, match):
    with pytest.raises(ValueError, match=match):
        parse_value(raw, kpi)


def test_count_decimals_allowed_for_targets_and_averaged_counts():
    assert parse_value(18.75, COUNT_KPI, measure="target")[0] == 18.75
    assert parse_value(32.7, Kpi("avg", "avg", "count", decimals=1), measure="actual")[0] == 32.7


# xlsx: values in cells ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number_format", "expected", "reason"),
    [
        ("90%", None, 90.0, None),
        (0.9, "0%", 90.0, None),
        (0.96, None, 96.0, None),
        (90, None, 90.0, None),
        ("Not yet available", None, None, "not_yet_available"),
        ("tbc", None, None, "tbc"),
        ("-", None, None, "dash"),
        ("Redacted", None, None, "redacted"),
        (None, None, None, "blank"),
    ],
)
def test_percent_cell_forms(tmp_path, value, number_format, expected, reason):
    parsed = with_cell(tmp_path, PCT, q2(), value, number_format)
    v = value_of(parsed, "sh_chlamydia_tests")
    assert (v.value, v.missing_reason, v.sheet, v.cell) == (expected, reason, "KPIs", ref(PCT, q2()))
    if value == 0.96:
        assert f"{ref(PCT, q2())}: 0.96 read as 96% (fraction for a percent KPI)" in parsed.notes


@pytest.mark.parametrize("value", ["1,232", " 1232 ", "1232\u00a0", 1232, 1232.0])
def test_count_cell_forms(tmp_path, value):
    v = value_of(with_cell(tmp_path, COUNT, q2(), value), "sh_attendances")
    assert (v.value, v.missing_reason) == (1232.0, None)
    assert v.raw == (value if isinstance(value, str) else "1232")


def test_text_in_number_cell_names_sheet_cell_and_value(tmp_path):
    with pytest.raises(ReturnParseError) as info:
        with_cell(tmp_path, PCT, q2(), "about ninety")
    err = info.value
    cell = ref(PCT, q2())
    assert (err.sheet, err.cell, err.value) == ("KPIs", cell, "about ninety")
    assert str(err) == (
        f"sexual_health_{QUARTER}.xlsx, sheet KPIs, cell {cell}: expected a number, a percentage or one of "
        "(blank, -, n/a, tbc, Not yet available, Redacted) for KPI sh_chlamydia_tests (percent), found 'about ninety'"
    )


def test_non_integer_count_is_an_error(tmp_path):
    with pytest.raises(ReturnParseError, match=rf"cell {ref(COUNT, q2())}: expected a whole number"):
        with_cell(tmp_path, COUNT, q2(), 12.5)


def test_actual_for_a_later_quarter_is_read_with_a_note_for_the_checks_to_flag(tmp_path):
    """Published reports have printed next quarter's figures; the reader keeps them (the gate's
    figure_after_quarter warning flags them) rather than refusing the whole return."""
    parsed = with_cell(tmp_path, COUNT, value_column(3, "actual"), 5)
    cell = ref(COUNT, value_column(3, "actual"))
    assert value_of(parsed, "sh_attendances", "2017-18-Q3").value == 5
    assert any(note.startswith(f"{cell}: a figure for Q3 (actual)") for note in parsed.notes)


def test_earlier_quarters_and_later_targets_are_kept(tmp_path):
    prefill = {
        ("sh_attendances", "2017-18-Q1", "actual"): 1175,
        ("sh_chlamydia_tests", "2017-18-Q4", "target"): 92,
    }
    parsed = parse_return(make_return(tmp_path, prefill=prefill), SERVICES)
    assert value_of(parsed, "sh_attendances", "2017-18-Q1").value == 1175
    assert value_of(parsed, "sh_chlamydia_tests", "2017-18-Q4", "target").value == 92


# xlsx: messy layouts ------------------------------------------------------------------------------


def test_merged_cells_value_in_top_left(tmp_path):
    path = make_return(tmp_path, prefill={("sh_larc", QUARTER, "actual"): 40})

    def merge(wb):
        ws = wb[KPI_SHEET]
        ws.protection.sheet = False
        ws.cell(row=LARC, column=q2("actual")).value = 41
        ws.merge_cells(start_row=LARC, start_column=q2("actual"), end_row=LARC, end_column=q2("actual_to_date"))
        ws.merge_cells(start_row=COUNT, start_column=2, end_row=COUNT, end_column=4)  # name over unit columns

    parsed = parse_return(edit(path, merge), SERVICES)
    assert value_of(parsed, "sh_larc").value == 41
    assert value_of(parsed, "sh_larc", measure="actual_to_date").missing_reason == "blank"


def test_hidden_rows_extra_blank_rows_and_stray_spaces_in_codes(tmp_path):
    path = make_return(tmp_path, prefill={("sh_attendances", QUARTER, "actual"): 7})

    def mess(wb):
        ws = wb[KPI_SHEET]
        ws.row_dimensions[COUNT].hidden = True
        ws.insert_rows(COUNT)  # a blank row between KPI rows
        ws.cell(row=COUNT + 1, column=1).value = "  SH_Attendances\u00a0"

    parsed = parse_return(edit(path, mess), SERVICES)
    assert value_of(parsed, "sh_attendances").value == 7
    assert value_of(parsed, "sh_attendances").cell == ref(COUNT + 1, q2())


def test_inserted_row_above_header_is_found_by_text(tmp_path):
    path = make_return(tmp_path, prefill={("sh_chlamydia_tests", QUARTER, "actual"): 88})

    def insert(wb):
        wb[KPI_SHEET].insert_rows(2, amount=2)

    parsed = parse_return(edit(path, insert), SERVICES)
    v = value_of(parsed, "sh_chlamydia_tests")
    assert (v.value, v.cell) == (88, ref(PCT + 2, q2()))


def test_unknown_kpi_code_names_the_cell(tmp_path):
    def add(wb):
        wb[KPI_SHEET].cell(row=LARC + 2, column=1).value = "sh_mystery"

    with pytest.raises(ReturnParseError, match=rf"sheet KPIs, cell A{LARC + 2}: unknown KPI code 'sh_mystery'"):
        parse_return(edit(make_return(tmp_path), add), SERVICES)


def test_missing_kpi_row_names_the_kpi(tmp_path):
    def drop(wb):
        wb[KPI_SHEET].cell(row=LARC, column=1).value = None

    with pytest.raises(ReturnParseError, match="sheet KPIs: no row for KPI.s. sh_larc"):
        parse_return(edit(make_return(tmp_path), drop), SERVICES)


def test_missing_header_is_an_error(tmp_path):
    def drop(wb):
        wb[KPI_SHEET]["A4"] = "Code of KPI"

    with pytest.raises(ReturnParseError, match="sheet KPIs: no header row with 'KPI code'"):
        parse_return(edit(make_return(tmp_path), drop), SERVICES)


# xlsx: cover and file name ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        f"sexual_health_{QUARTER}.xlsx",
        "Sexual_Health_2017-18-q2_v2.xlsx",
        f"sexual_health_{QUARTER}_resubmission.xlsx",
        f" sexual_health _ {QUARTER} (1).xlsx",
        "anything else.xlsx",
        f"sexual_health_{QUARTER}.XLSX",
    ],
)
def test_file_name_forms_accepted(tmp_path, name):
    assert parse_return(make_return(tmp_path, name=name), SERVICES).service_code == "sexual_health"


def test_file_name_period_mismatch_names_file_and_cell(tmp_path):
    path = make_return(tmp_path, name="sexual_health_2017-18-Q3.xlsx")
    with pytest.raises(ReturnParseError) as info:
        parse_return(path, SERVICES)
    assert str(info.value).startswith("sexual_health_2017-18-Q3.xlsx, sheet Cover, cell B6: the file name says period")


def test_file_name_service_mismatch_names_cell_b3(tmp_path):
    other = Service("smoking", "Smoking", "Provider", kpis=[Kpi("x", "x", "count")])
    path = make_return(tmp_path, name=f"smoking_{QUARTER}.xlsx")
    with pytest.raises(ReturnParseError, match=r"sheet Cover, cell B3: the file name says service 'smoking'"):
        parse_return(path, {**SERVICES, "smoking": other})


def test_unknown_service_names_cover_b3_and_value(tmp_path):
    path = edit(make_return(tmp_path, name="return.xlsx"), lambda wb: wb["Cover"].__setitem__("B3", "chiropody"))
    with pytest.raises(ReturnParseError) as info:
        parse_return(path, SERVICES)
    assert str(info.value).startswith("return.xlsx, sheet Cover, cell B3: unknown service code 'chiropody'")
    assert (info.value.sheet, info.value.cell, info.value.value) == ("Cover", "B3", "chiropody")


def test_bad_period_on_cover(tmp_path):
    path = edit(make_return(tmp_path, name="r.xlsx"), lambda wb: wb["Cover"].__setitem__("B6", "Q2"))
    with pytest.raises(ReturnParseError, match="sheet Cover, cell B6: expected a financial-year quarter"):
        parse_return(path, SERVICES)


def test_cover_inputs_and_bad_submission_date(tmp_path):
    path = make_return(tmp_path, cover={"submitted_by": " A Person ", "submission_date": "12 Oct 2017"})
    assert parse_return(path, SERVICES).cover["submission_date"] == date(2017, 10, 12)
    edit(path, lambda wb: wb["Cover"].__setitem__("B10", "soon"))
    with pytest.raises(ReturnParseError, match="sheet Cover, cell B10: expected a date"):
        parse_return(path, SERVICES)


# comments and actions -----------------------------------------------------------------------------


def test_comments_and_actions_dates(tmp_path):
    path = make_return(
        tmp_path,
        prefill_comments=[
            ("Uptake improved", "Dr A", datetime(2017, 10, 12)),
            ("Second comment", None, "12/10/2017"),
            ("Third", "B", "12 Oct 2017"),
            ("Fourth", "C", "Nov-17"),
        ],
        prefill_actions=[{"action": "Review the pathway", "action_by": "31/01/2018"}, ("No date", None)],
    )
    parsed = parse_return(path, SERVICES)
    assert [(c["comment"], c["lead"], c["date"], c["sheet"], c["row"]) for c in parsed.comments] == [
        ("Uptake improved", "Dr A", date(2017, 10, 12), "Comments", 4),
        ("Second comment", None, date(2017, 10, 12), "Comments", 5),
        ("Third", "B", date(2017, 10, 12), "Comments", 6),
        ("Fourth", "C", date(2017, 11, 1), "Comments", 7),
    ]
    assert [(a["action"], a["action_by"]) for a in parsed.actions] == [
        ("Review the pathway", date(2018, 1, 31)),
        ("No date", None),
    ]


def test_unparseable_comment_date_names_the_cell(tmp_path):
    path = make_return(tmp_path, prefill_comments=[("ok", "A", "12/10/2017"), ("bad", "B", "next week")])
    with pytest.raises(ReturnParseError, match=r"sheet Comments, cell C5: expected a date .* found 'next week'"):
        parse_return(path, SERVICES)


def test_comment_row_without_text_is_an_error(tmp_path):
    path = make_return(tmp_path, prefill_comments=[(None, "A lead", None)])
    with pytest.raises(ReturnParseError, match="sheet Comments, cell A4: row 4 has a lead but no comment"):
        parse_return(path, SERVICES)


# formulas -----------------------------------------------------------------------------------------


def xlsxwriter_return(path: Path, kpi_cells: dict[str, object]) -> Path:
    """The template's layout written by xlsxwriter; ``kpi_cells`` values may be ("=F", cached) tuples."""
    wb = xlsxwriter.Workbook(str(path))
    cover = wb.add_worksheet("Cover")
    cover.write("A3", "Service code")
    cover.write("B3", SH.code)
    cover.write("A6", "Period")
    cover.write("B6", QUARTER)
    ws = wb.add_worksheet("KPIs")
    header = ["KPI code", "KPI name", "Unit", "Target kind"] + [
        f"Q{q} {m}" for q in range(1, 5) for m in ("Target", "Actual", "Actual to date")
    ]
    ws.write_row(KPI_FIRST_ROW - 2, 0, header)
    for i, kpi in enumerate(SH.kpis):
        ws.write_row(KPI_FIRST_ROW - 1 + i, 0, [kpi.code, kpi.name, kpi.unit, kpi.target_kind])
    for cell, value in kpi_cells.items():
        if isinstance(value, tuple):
            formula, *cached = value
            if cached:
                ws.write_formula(cell, formula, None, cached[0])
            else:
                ws.write_formula(cell, formula, None, "")  # "" = no saved result (xlsxwriter's default is 0)
        else:
            ws.write(cell, value)
    wb.add_worksheet("Comments").write_row(2, 0, ["Comment", "Lead", "Date"])
    wb.add_worksheet("Actions").write_row(2, 0, ["Action", "Action by (date)"])
    wb.close()
    return path


def test_formula_with_saved_value_is_read(tmp_path):
    e, f = ref(COUNT, q2()), ref(LARC, q2("actual_to_date"))
    path = xlsxwriter_return(
        tmp_path / f"sexual_health_{QUARTER}.xlsx",
        {
            ref(LARC, value_column(1, "actual")): 20,
            ref(LARC, q2()): 22,
            f: (f"=SUM({ref(LARC, value_column(1, 'actual'))},{ref(LARC, q2())})", 42),
            e: ("=1000+232", 1232),
        },
    )
    parsed = parse_return(path, SERVICES)
    assert value_of(parsed, "sh_larc", measure="actual_to_date").value == 42
    assert value_of(parsed, "sh_attendances").value == 1232
    assert any(n.startswith(f"KPIs!{e}: formula =1000+232 read as its saved value 1232") for n in parsed.notes)


def test_formula_without_saved_value_is_an_error_naming_the_cell(tmp_path):
    cell = ref(LARC, q2("actual_to_date"))
    path = xlsxwriter_return(tmp_path / "r.xlsx", {cell: ("=SUM(F7:H7)",)})
    with pytest.raises(ReturnParseError) as info:
        parse_return(path, SERVICES)
    assert str(info.value) == (
        f"r.xlsx, sheet KPIs, cell {cell}: formula =SUM(F7:H7) has no saved value: open the file in Excel, "
        "let it calculate, save it again"
    )


def test_formula_written_by_openpyxl_has_no_saved_value(tmp_path):
    cell = ref(PCT, q2())
    with pytest.raises(ReturnParseError, match=f"sheet KPIs, cell {cell}: formula =1/2 has no saved value"):
        with_cell(tmp_path, PCT, q2(), "=1/2")


# csv ----------------------------------------------------------------------------------------------


def write_csv(tmp_path: Path, text: str, name: str = f"sexual_health_{QUARTER}.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_happy_path(tmp_path):
    path = write_csv(
        tmp_path,
        (
            "\ufeffService , KPI,Period,Measure,Value,comment\n"
            "sexual_health,sh_chlamydia_tests,2017-18-Q2,actual,90%,ok\n"
            "sexual_health,sh_chlamydia_tests,2017-18-Q2,target,0.9,\n"
            'sexual_health,sh_attendances,2017-18-Q1,actual,"1,175",restated\n'
            "\n"
            "sexual_health,SH_ATTENDANCES,2017/18 Q2,Actual,Not yet available,\n"
            "sexual_health,sh_larc,2017-18-Q2,actual to date,,\n"
        ),
    )
    parsed = parse_return(path, SERVICES)
    assert (parsed.layout, parsed.service_code, parsed.period.label) == ("csv", "sexual_health", QUARTER)
    got = [(v.kpi_code, v.period.label, v.measure, v.value, v.missing_reason, v.cell) for v in parsed.values]
    assert got == [
        ("sh_chlamydia_tests", QUARTER, "actual", 90.0, None, "line 2"),
        ("sh_chlamydia_tests", QUARTER, "target", 90.0, None, "line 3"),
        ("sh_attendances", "2017-18-Q1", "actual", 1175.0, None, "line 4"),
        ("sh_attendances", QUARTER, "actual", None, "not_yet_available", "line 6"),
        ("sh_larc", QUARTER, "actual_to_date", None, "blank", "line 7"),
    ]
    assert "line 3: 0.9 read as 90% (fraction for a percent KPI)" in parsed.notes
    frame = parsed.frame()
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert frame["value"].dtype == "float64" and len(frame) == 5


def test_csv_semicolons_and_windows_1252(tmp_path):
    path = write_csv(
        tmp_path,
        "service;kpi;period;measure;value\r\nsexual_health;sh_attendances;2017-18-Q2;actual;1232\r\n"
        "sexual_health;sh_larc;2017-18-Q2;actual;n/a\u2013\r\n".replace("n/a\u2013", "\u2013"),
        encoding="cp1252",
    )
    parsed = parse_return(path, SERVICES)
    assert [(v.value, v.missing_reason) for v in parsed.values] == [(1232.0, None), (None, "dash")]
    assert "read as Windows-1252 text (not UTF-8)" in parsed.notes


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            "sexual_health,sh_attendances,2017-18-Q2,actual,lots\n",
            r"line 2, column value: expected a number or one of .* found 'lots'",
        ),
        (
            "sexual_health,sh_attendances,2017-18-Q2,actual,1\nsexual_health,sh_nope,2017-18-Q2,actual,1\n",
            r"line 3, column kpi: unknown KPI code 'sh_nope'",
        ),
        (
            "sexual_health,sh_attendances,2017-18-Q2,actual,1\nsexual_health,sh_attendances,2017-18-Q2,actual,2\n",
            r"line 3, column kpi: sh_attendances 2017-18-Q2 actual is given twice \(lines 2 and 3\)",
        ),
        (
            "sexual_health,sh_attendances,2017-18-Q2,actual,1\nsexual_health,sh_larc,2016-17-Q4,actual,2\n",
            r"line 3, column period: period 2016-17-Q4 is not in financial year 2017-18",
        ),
        ("sexual_health,sh_attendances,Q2,actual,1\n", r"line 2, column period: expected a financial-year quarter"),
        ("sexual_health,sh_attendances,2017-18-Q2,forecast,1\n", r"line 2, column measure: expected a measure"),
        ("chiropody,sh_attendances,2017-18-Q2,actual,1\n", r"line 2, column service: unknown service code 'chiropody'"),
        (
            "sexual_health,sh_attendances,2017-18-Q3,actual,1\n",
            r"line 2, column period: the file name says period 2017-18-Q2 but the rows run to 2017-18-Q3",
        ),
        ("sexual_health,sh_attendances,2017-18-Q2\n", r"line 2: expected 5 fields like the header, found 3"),
        ("", r"line 2: has a header but no rows"),
    ],
)
def test_csv_errors_name_line_and_column(tmp_path, body, match):
    path = write_csv(tmp_path, "service,kpi,period,measure,value\n" + body)
    with pytest.raises(ReturnParseError, match=rf"^sexual_health_{QUARTER}.csv, {match}"):
        parse_return(path, SERVICES)


def test_csv_line_numbers_count_multiline_fields(tmp_path):
    path = write_csv(
        tmp_path,
        "service,kpi,period,measure,value,note\n"
        'sexual_health,sh_attendances,2017-18-Q2,actual,1,"two\nlines"\n'
        "sexual_health,sh_larc,2017-18-Q2,actual,x,\n",
    )
    with pytest.raises(ReturnParseError, match="line 4, column value"):
        parse_return(path, SERVICES)


def test_csv_without_header_column(tmp_path):
    path = write_csv(tmp_path, "service,kpi,quarter,measure,value\n")
    with pytest.raises(ReturnParseError, match=r"line 1: the header has no 'period' column"):
        parse_return(path, SERVICES)


# unreadable files ---------------------------------------------------------------------------------


def test_truncated_workbook(tmp_path):
    path = make_return(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReturnParseError, match=rf"^sexual_health_{QUARTER}.xlsx: is not a readable workbook"):
        parse_return(path, SERVICES)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04" + b"\x00" * 100])
def test_corrupt_workbook(tmp_path, content):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    with pytest.raises(ReturnParseError, match="^broken.xlsx: is not a readable workbook"):
        parse_return(path, SERVICES)


def test_zip_without_workbook_parts(tmp_path):
    import zipfile

    path = tmp_path / "empty.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ReturnParseError, match="^empty.xlsx: is not a readable workbook"):
        parse_return(path, SERVICES)


def test_missing_file_and_other_types(tmp_path):
    with pytest.raises(ReturnParseError, match="^nope.xlsx: cannot be read"):
        parse_return(tmp_path / "nope.xlsx", SERVICES)
    (tmp_path / "old.xls").write_bytes(b"x")
    with pytest.raises(ReturnParseError, match="save it as .xlsx"):
        parse_return(tmp_path / "old.xls", SERVICES)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ReturnParseError, match="unsupported file type '.txt'"):
        parse_return(tmp_path / "notes.txt", SERVICES)


def test_deleted_and_renamed_sheets(tmp_path):
    path = edit(make_return(tmp_path), lambda wb: wb.remove(wb["Actions"]))
    with pytest.raises(ReturnParseError, match=rf"^sexual_health_{QUARTER}.xlsx: sheet 'Actions' not found"):
        parse_return(path, SERVICES)
    path = edit(make_return(tmp_path, name="b.xlsx"), lambda wb: setattr(wb["KPIs"], "title", " kpis "))
    parsed = parse_return(path, SERVICES)
    assert "sheet ' kpis ' read as 'KPIs'" in parsed.notes
