"""The offline demo's fixture data is real-shaped: curated metadata with sources, values in range for
their unit, CIs by each indicator's own method, comparisons that follow the CI and polarity, periods
from 2010 to 2025, and Fingertips' awkward cases (categories, separate rounding, suppression, no data)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import requests

from public_health.demo.fingertips_stub import StubServer, default_demo_dataset
from public_health.demo.fingertips_stub import realistic as R
from public_health.demo.fingertips_stub.fixtures import _configured_indicator_ids

ENGLAND = "E92000001"
CMP = "Compared to England value or percentiles"


@pytest.fixture(scope="module")
def ds():
    return default_demo_dataset()


@pytest.fixture(scope="module")
def frame(ds) -> pd.DataFrame:
    text = ds.all_data_csv(sorted(ds.indicators))
    f = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    for col, name in (("Value", "v"), ("Lower CI 95.0 limit", "lo"), ("Upper CI 95.0 limit", "hi"),
                      ("Lower CI 99.8 limit", "lo8"), ("Upper CI 99.8 limit", "hi8"), ("Count", "n"),
                      ("Denominator", "d")):
        f[name] = pd.to_numeric(f[col].replace("", np.nan))
    f["iid"] = f["Indicator ID"].astype(int)
    return f


def _tolerances(spec) -> tuple[float, float]:
    r = spec.rounding or {}
    return (0.5 * 10 ** -r["value"] if "value" in r else 1e-4), (0.5 * 10 ** -r["ci"] if "ci" in r else 1e-4)


def test_curated_file_cites_a_source_for_every_indicator() -> None:
    data = R.load_curated()
    keys = set(data["sources"])
    assert {"FN", "LA"} <= keys and all(data["sources"][k] for k in keys)
    for e in data["indicators"]:
        assert e["checked"] and set(e["checked"]) <= keys, e["id"]
        assert e["verified"] in (True, False, "partial"), e["id"]
        if e["verified"] == "partial":
            assert e["checked_fields"] and e["unverified_fields"], e["id"]
        for field in ("name", "unit", "value_type", "ci_method", "polarity", "period", "source"):
            assert e.get(field) not in (None, ""), (e["id"], field)
        assert {"granularity", "year_type"} <= set(e["period"])
    curated = {int(e["id"]) for e in data["indicators"]}
    assert set(_configured_indicator_ids()) <= curated
    assert sum(e["verified"] is True for e in data["indicators"]) >= 5


def test_every_value_is_in_its_units_range(ds, frame) -> None:
    for iid, rows in frame.groupby("iid"):
        low, high = R.value_range(ds.indicators[iid])
        v = rows["v"].dropna()
        assert len(v), iid
        assert (v >= low).all() and (v <= high).all(), (iid, v.min(), v.max())
        if ds.indicators[iid].unit == "Years" and ds.indicators[iid].model["kind"] == "years":
            assert v.max() < 95
    le = frame[(frame["iid"] == 90366)]["v"]
    assert le.between(70, 90).all()
    counted = frame[frame["n"].notna() & frame["d"].notna() & frame["iid"].map(
        lambda i: ds.indicators[i].model["kind"] in ("proportion", "crude_rate"))]
    assert (counted["n"] >= 0).all() and (counted["n"] <= counted["d"]).all()


def test_every_ci_agrees_with_its_method(ds, frame) -> None:
    checked = 0
    for iid, rows in frame.groupby("iid"):
        spec = ds.indicators[iid]
        kind = spec.model["kind"]
        tol_v, tol_ci = _tolerances(spec)
        rows = rows[rows["v"].notna()]
        if kind in ("proportion", "crude_rate", "isr", "ewd"):
            n, d = rows["n"].to_numpy(), rows["d"].to_numpy()
            value = R.point_value(kind, n, d, spec.multiplier)
            lim = R.limits(kind, n, d, spec.multiplier)
            np.testing.assert_allclose(rows["v"], value, rtol=1e-6, atol=tol_v, err_msg=str(iid))
            for col, key in (("lo", "lower_ci_95"), ("hi", "upper_ci_95"), ("lo8", "lower_ci_99_8"),
                             ("hi8", "upper_ci_99_8")):
                np.testing.assert_allclose(rows[col], lim[key], rtol=1e-6, atol=tol_ci, err_msg=f"{iid} {col}")
        elif kind == "dsr":  # Dobson: limits = DSR x Byar(O) / O
            rows = rows[rows["n"] > 0]
            for col, key in (("lo", 0), ("hi", 1)):
                expect = rows["v"] * R.byar(rows["n"].to_numpy(), R.Z95)[key] / rows["n"]
                np.testing.assert_allclose(rows[col], expect, rtol=1e-5, atol=1e-4, err_msg=f"{iid} {col}")
            for col, key in (("lo8", 0), ("hi8", 1)):
                expect = rows["v"] * R.byar(rows["n"].to_numpy(), R.Z998)[key] / rows["n"]
                np.testing.assert_allclose(rows[col], expect, rtol=1e-5, atol=1e-4, err_msg=f"{iid} {col}")
        elif kind == "years":  # normal approximation: symmetric, 99.8% wider by z ratio
            half95 = (rows["hi"] - rows["lo"]) / 2
            np.testing.assert_allclose(rows["hi"] - rows["v"], half95, atol=2e-4)
            np.testing.assert_allclose((rows["hi8"] - rows["lo8"]) / 2, half95 * R.Z998 / R.Z95, rtol=1e-4, atol=2e-4)
        else:  # no CI published
            assert rows[["lo", "hi", "lo8", "hi8"]].isna().all().all(), iid
        checked += len(rows)
    assert checked > 70_000


def test_comparisons_follow_ci_and_polarity(ds, frame) -> None:
    key = ["iid", "Sex", "Age", "Time period"]
    eng = frame[(frame["Area Code"] == ENGLAND) & (frame["Category Type"] == "")].set_index(key)["v"]
    rows = frame[(frame["Area Code"] != ENGLAND) | (frame["Category Type"] != "")]
    ref = eng.reindex(pd.MultiIndex.from_frame(rows[key])).to_numpy()
    pol = rows["iid"].map(lambda i: ds.indicators[i].polarity_id).to_numpy()
    lo, hi, v = rows["lo"].to_numpy(), rows["hi"].to_numpy(), rows["v"].to_numpy()
    expect = []
    for lo_i, hi_i, v_i, r, p in zip(lo, hi, v, ref, pol, strict=True):
        if np.isnan([lo_i, hi_i, v_i, r]).any() or p not in (0, 1, 99):
            expect.append("Not compared")
        elif lo_i <= r <= hi_i:
            expect.append("Similar")
        elif p == 99:
            expect.append("Higher" if lo_i > r else "Lower")
        else:
            expect.append("Better" if (lo_i > r) == (p == 1) else "Worse")
    assert (rows[CMP].to_numpy() == np.array(expect)).all()
    assert {"Better", "Worse", "Similar"} <= set(rows[CMP])
    # the case: a "Better" proportion really is better than England in the polarity's direction
    better = rows[(rows[CMP] == "Better") & (rows["iid"] == 20101)]
    assert len(better) and (better["hi"].to_numpy() < ref[(rows[CMP] == "Better") & (rows["iid"] == 20101)]).all()


def test_periods_span_2010_to_2025(ds) -> None:
    for iid, spec in ds.indicators.items():
        labels = [p for p in ds.periods(iid)]
        first, last = labels[0], labels[-1]
        assert first[1] // 10000 == 2010, (iid, first)
        end_year = {"rolling_3y": 2, "rolling_5fy": 4}.get(spec.granularity, 0) + last[1] // 10000
        assert end_year == 2025, (iid, last)
        starts = sorted({p[1] // 10000 for p in labels})
        assert starts == list(range(starts[0], starts[-1] + 1)), iid  # no gaps: any year since 2010 is there
    assert ds.periods(93085)[0][0] == "2010/11 Q1" and ds.periods(93085)[-1][0] == "2025/26 Q4"
    assert ds.periods(90366)[0][0] == "2010 - 12" and ds.periods(90366)[-1][0] == "2023 - 25"


def test_metadata_is_coherent_with_the_unit(ds) -> None:
    im = ds.indicators[92196]
    assert (im.unit, im.value_type, im.ci_method, im.polarity) == ("per 1,000", "Crude rate", "Byar's method",
                                                                    "RAG - Low is good")
    for spec in ds.indicators.values():
        if spec.unit == "%":
            assert spec.model["kind"] in ("proportion", "percent_no_ci", "isr", "ewd"), spec.indicator_id
        if spec.model["kind"] == "proportion":
            assert spec.unit == "%", spec.indicator_id
        if spec.model["kind"] == "dsr":
            assert spec.value_type == "Directly standardised rate" and "Dobson" in spec.ci_method
    meta = ds.indicator_metadata_json(93085)
    assert meta["ConfidenceIntervalMethod"]["Name"] == "Wilson Score method" and meta["Unit"]["Label"] == "%"
    assert "SATOD" in meta["Descriptive"]["DataSource"]


def test_england_and_regions_aggregate_all_authorities() -> None:
    full = default_demo_dataset(all_areas=True)
    demo = default_demo_dataset()
    assert len(full.child_codes) == 153 and len(demo.child_codes) < 153
    for iid in (20401, 93085, 21001, 90245):
        spec = full.indicators[iid]
        for p_idx in (0, 7):
            b = full._block(spec, 0, 0, p_idx)
            n_reg = len(full.region_codes)
            children = b["count"][1 + n_reg:]
            if np.isnan(children).any():  # suppressed counts are not published
                continue
            assert b["count"][0] == children.sum() == b["count"][1:1 + n_reg].sum()
            assert b["denominator"][0] == b["denominator"][1 + n_reg:].sum()
            d = demo._block(demo.indicators[iid], 0, 0, p_idx)
            assert d["value"][0] == b["value"][0]  # serving fewer areas does not change England
            i_full, i_demo = b["codes"].index("E06000016"), d["codes"].index("E06000016")
            assert d["value"][i_demo] == b["value"][i_full]


def test_category_rows(frame) -> None:
    cats = frame[frame["Category Type"] != ""]
    assert set(cats["iid"]) == {20602} and set(cats["Area Code"]) == {ENGLAND}
    assert set(cats["Category Type"]) == {"County & UA deprivation deciles in England (IMD2019, 4/23 geography)"}
    assert set(cats["Category"]) == set(R.DECILES)
    eng = frame[(frame["iid"] == 20602) & (frame["Area Code"] == ENGLAND) & (frame["Category Type"] == "")]
    latest = eng["Time period"].iloc[-1]
    c = cats[cats["Time period"] == latest]
    england_value = float(eng[eng["Time period"] == latest]["v"].iloc[0])
    outside = c[(c["lo"] > england_value) | (c["hi"] < england_value)]
    assert len(outside) >= 5  # decile CIs need not surround England's value
    most = float(c[c["Category"] == R.DECILES[0]]["v"].iloc[0])
    least = float(c[c["Category"] == R.DECILES[-1]]["v"].iloc[0])
    assert most > england_value > least


def test_separately_rounded_value_sits_outside_its_ci(frame) -> None:
    rows = frame[frame["iid"] == 93701]
    assert (rows["Value"].str.split(".").str[1].fillna("").str.len() <= 1).all()
    assert (rows["Upper CI 95.0 limit"].str.split(".").str[1].fillna("").str.len() <= 2).all()
    quirk = rows[(rows["Area Code"] == ENGLAND) & (rows["Time period"] == "2015/16")].iloc[0]
    assert (quirk["Value"], quirk["Upper CI 95.0 limit"]) == ("15.6", "15.59")
    assert (rows["v"] > rows["hi"]).sum() >= 1


def test_suppressed_values_carry_fingertips_note(frame) -> None:
    supp = frame[frame["Value note"] == R.NOTE_SUPPRESSED]
    assert len(supp) > 50 and supp["Value"].eq("").all() and supp["Count"].eq("").all()
    assert supp["Lower CI 95.0 limit"].eq("").all() and supp["Denominator"].ne("").all()
    assert (supp[CMP] == "Not compared").all()
    assert "E06000017" in set(supp["Area Code"])  # Rutland's small numbers


def test_indicator_with_metadata_but_no_data(ds) -> None:
    assert not ds.indicators[91548].has_data and ds.row_count([91548]) == 0
    with StubServer(ds) as stub:
        base = stub.base_url
        meta = requests.get(f"{base}/indicator_metadata/by_indicator_id?indicator_ids=91548", timeout=10).json()
        assert meta["91548"]["Descriptive"]["Name"].startswith("Smoking prevalence at age 15")
        text = requests.get(f"{base}/all_data/csv/by_indicator_id?indicator_ids=91548&child_area_type_id=502"
                            "&parent_area_type_id=6", timeout=10).text
        assert text.count("\n") == 1 and text.startswith("Indicator ID,Indicator Name")


def test_row_count_stays_manageable(ds) -> None:
    assert 60_000 < ds.row_count() <= 110_000
    assert {"E10000018", "E06000016", "E06000017"} <= set(ds.child_codes)
    assert all(len(ds.neighbours[c]) == 15 for c in ("E10000018", "E06000016", "E06000017"))
    per_region = pd.Series([ds.areas[c].parent_code for c in ds.child_codes]).value_counts()
    assert len(per_region) == 9 and per_region.min() >= 4
