from datetime import date

import pytest

from public_health.periods import PeriodParseError, financial_quarter, parse_period


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
    assert financial_quarter("2017-18-Q2") == (2017, 2)
    assert financial_quarter("2017/18 Q4") == (2017, 4)
    with pytest.raises(PeriodParseError):
        financial_quarter("2017 Q2")
