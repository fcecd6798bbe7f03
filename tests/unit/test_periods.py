from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from public_health.periods import FinancialQuarter, PeriodParseError, parse_period


@pytest.mark.parametrize(
    ("label", "start", "end", "granularity"),
    [
        ("2017", date(2017, 1, 1), date(2017, 12, 31), "calendar_year"),
        ("2017/18", date(2017, 4, 1), date(2018, 3, 31), "financial_year"),
        ("2017/18 Q2", date(2017, 7, 1), date(2017, 9, 30), "quarter"),
        ("2017-18-Q4", date(2018, 1, 1), date(2018, 3, 31), "quarter"),
        ("2017 Q1", date(2017, 1, 1), date(2017, 3, 31), "quarter"),
        ("2015 - 17", date(2015, 1, 1), date(2017, 12, 31), "rolling_years"),
        ("2014/15 - 16/17", date(2014, 4, 1), date(2017, 3, 31), "rolling_financial_years"),
        ("Feb 2016", date(2016, 2, 1), date(2016, 2, 29), "month"),
        ("1999/00", date(1999, 4, 1), date(2000, 3, 31), "financial_year"),
    ],
)
def test_known_forms(label, start, end, granularity):
    p = parse_period(label)
    assert (p.start, p.end, p.granularity) == (start, end, granularity)


def test_sort_key_orders_chronologically():
    labels = ["2017/18", "2016", "2015 - 17", "2017/18 Q2", "2016/17"]
    assert sorted(labels, key=lambda x: parse_period(x).sort_key) == ["2016", "2016/17", "2017/18 Q2", "2015 - 17", "2017/18"]


@pytest.mark.parametrize("label", ["2017/19", "Q2 2017", "2017/18 Q5", "next year", "", "2017 - 15"])
def test_unknown_forms_raise_with_examples(label):
    with pytest.raises(PeriodParseError, match="expected e.g. 2017"):
        parse_period(label)


def test_financial_quarter():
    def financial_quarter(text):
        q = FinancialQuarter.parse(text)
        return q.year, q.number

    assert financial_quarter("2017-18-Q2") == (2017, 2)
    assert financial_quarter("2017/18 Q4") == (2017, 4)
    with pytest.raises(PeriodParseError):
        financial_quarter("2017 Q2")


# FinancialQuarter: the one quarter type -----------------------------------------------------------

quarters = st.builds(FinancialQuarter, st.integers(min_value=1950, max_value=2150), st.integers(min_value=1, max_value=4))


@pytest.mark.parametrize("text", ["2017-18-Q2", "2017/18 Q2", "Q2 2017-18", "Q2 2017/18"])
def test_financial_quarter_parses_the_forms_the_project_meets(text):
    q = FinancialQuarter.parse(text)
    assert (q.year, q.number) == (2017, 2)
    assert (q.label, q.heading, q.financial_year) == ("2017-18-Q2", "Q2 2017/18", "2017-18")
    assert (q.start, q.end) == (date(2017, 7, 1), date(2017, 9, 30))
    assert q.title == "2017/18 Quarter 2 (July to September 2017)"


@pytest.mark.parametrize(
    "text",
    ["2017-18-Q2 ", "2017-18-Q2\n", " 2017-18-Q2", "2017-19-Q2", "2017-18-Q5", "2017-18-q2", "2017 Q2", "Q2 2017",
     "2017/18", "", "2017-18 Q2"],
)
def test_financial_quarter_refuses_anything_else_by_name(text):
    with pytest.raises(PeriodParseError, match="expected a financial-year quarter like 2017-18-Q2") as err:
        FinancialQuarter.parse(text)
    assert repr(text) in str(err.value)


def test_financial_quarter_from_typed_forgives_case_and_spacing_only():
    assert FinancialQuarter.from_typed(" 2017/18 q2 ").label == "2017-18-Q2"
    assert FinancialQuarter.from_typed("2017 - 18 - Q2").label == "2017-18-Q2"
    assert FinancialQuarter.from_typed("q4 2016/17").label == "2016-17-Q4"
    with pytest.raises(PeriodParseError, match="2017-19"):
        FinancialQuarter.from_typed("2017-19-Q2")


def test_financial_quarter_arithmetic():
    q4 = FinancialQuarter.parse("2017-18-Q4")
    assert (q4.start, q4.end) == (date(2018, 1, 1), date(2018, 3, 31))
    assert q4.next().label == "2018-19-Q1" and FinancialQuarter.parse("2018-19-Q1").previous() == q4
    assert [q.label for q in FinancialQuarter.parse("2017-18-Q3").quarters_to_date()] == [
        "2017-18-Q1", "2017-18-Q2", "2017-18-Q3"]
    assert [q.label for q in FinancialQuarter.range(FinancialQuarter(2016, 3), FinancialQuarter(2017, 2))] == [
        "2016-17-Q3", "2016-17-Q4", "2017-18-Q1", "2017-18-Q2"]
    assert FinancialQuarter.range(FinancialQuarter(2017, 2), FinancialQuarter(2017, 1)) == []
    assert FinancialQuarter.last_ended(date(2017, 10, 1)).label == "2017-18-Q2"
    assert FinancialQuarter.last_ended(date(2017, 12, 31)).label == "2017-18-Q2"
    assert FinancialQuarter.last_ended(date(2018, 4, 1)).label == "2017-18-Q4"
    assert FinancialQuarter.last_ended(date(2018, 3, 31)).label == "2017-18-Q3"
    assert FinancialQuarter.containing(date(2018, 3, 31)).label == "2017-18-Q4"
    with pytest.raises(PeriodParseError, match="1 to 4"):
        FinancialQuarter(2017, 5)


@given(quarters)
def test_parse_of_label_is_the_identity(q):
    assert FinancialQuarter.parse(q.label) == q
    assert FinancialQuarter.parse(q.heading) == q
    assert FinancialQuarter.from_typed(q.label) == q


@given(quarters)
def test_previous_then_next_is_the_identity(q):
    assert q.previous().next() == q
    assert q.next().previous() == q
    assert q.previous().end < q.start and (q.start - q.previous().end).days == 1


@given(quarters, quarters)
def test_ordering_matches_start(a, b):
    assert (a < b) == (a.start < b.start)
    assert (a == b) == (a.start == b.start)
    assert sorted([a, b]) == sorted([a, b], key=lambda q: q.start)


@given(quarters)
def test_quarter_agrees_with_the_published_period_parser(q):
    p = parse_period(q.label)
    assert (p.start, p.end, p.granularity) == (q.start, q.end, "quarter")
    assert FinancialQuarter.containing(q.start) == q == FinancialQuarter.containing(q.end)
    assert FinancialQuarter.last_ended(q.next().start) == q
