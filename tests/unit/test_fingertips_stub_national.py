"""The stub's national dataset (every PHOF indicator × England, regions, counties and UAs, districts × every
period): its size, determinism, the area hierarchy it serves, and that areas add up, at small scale."""

from __future__ import annotations

import io
from collections import Counter
from types import GeneratorType

import numpy as np
import pandas as pd
import pytest
import requests

from public_health.demo.fingertips_stub import StubServer, default_demo_dataset
from public_health.demo.fingertips_stub.areas import DISTRICTS, REGIONS, UPPER_TIER
from public_health.demo.fingertips_stub.fixtures import _configured_indicator_ids
from public_health.demo.fingertips_stub.national import (
    PHOF_PROFILE_SIZE,
    UNCURATED_ID_START,
    national_dataset,
    pick_indicators,
    profile_specs,
)
from public_health.fingertips.client import FingertipsClient

ENGLAND = "E92000001"
LEICESTERSHIRE_DISTRICTS = {"E07000129", "E07000130", "E07000131", "E07000132", "E07000133", "E07000134", "E07000135"}
KEY = ["Indicator ID", "Area Code", "Sex", "Age", "Category Type", "Category", "Time period"]
SCALE = 0.02   # 3 of the profile's indicators; areas and periods stay complete
# One indicator of each shape: proportion, decile categories, England-only, life expectancy by sex, a gap with
# no CI, DSR, ISR, excess winter deaths (negative counts), quarterly with suppression, no CI, no data at all,
# a quirk row, a suppressed crude rate, and an uncurated copy.
VARIED = [10101, 20602, 90363, 90366, 90365, 40401, 91096, 90360, 93085, 93861, 91548, 93701, 20401, 990001]


def _read(text: str) -> pd.DataFrame:
    f = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    for col, name in (("Value", "v"), ("Count", "n"), ("Denominator", "d")):
        f[name] = pd.to_numeric(f[col].replace("", np.nan))
    return f


@pytest.fixture(scope="module")
def ds():
    return national_dataset(indicator_ids=VARIED)


@pytest.fixture(scope="module")
def frames(ds) -> dict[int, pd.DataFrame]:
    ids = sorted(ds.indicators)
    return {t: _read(ds.serving(t).all_data_csv(ids)) for t in (502, 501)}


@pytest.fixture(scope="module")
def stub(ds):
    with StubServer(ds) as server:
        yield server


def _get(stub: StubServer, path: str, **params) -> object:
    resp = requests.get(f"{stub.base_url}/{path}", params=params, timeout=30)
    resp.raise_for_status()
    return resp.json()


def test_the_profile_is_the_real_profiles_size_and_holds_every_tracked_indicator() -> None:
    specs = profile_specs()
    ids = [s.indicator_id for s in specs]
    assert len(ids) == len(set(ids))
    phof = [s for s in specs if s.group_id != 8000057]
    assert len(phof) == PHOF_PROFILE_SIZE
    assert set(_configured_indicator_ids()) <= set(ids)
    curated = set(default_demo_dataset().indicators)
    assert {i for i in ids if i < UNCURATED_ID_START} == curated
    uncurated = [s for s in specs if s.indicator_id >= UNCURATED_ID_START]
    assert uncurated and all(s.name.startswith("Uncurated PHOF indicator") and s.model for s in uncurated)


def test_full_volume_row_counts_follow_the_formula() -> None:
    full = national_dataset()
    geo = full.geography
    assert len(geo.codes) == 1 + 9 + 153 + 164 == len(set(geo.codes))
    assert len(full.serving(501).child_codes) == 296
    expected_distinct = expected_served = 0
    per_type = {502: 1 + 9 + 153, 501: 1 + 9 + 296}
    served = Counter()
    for s in full.indicators.values():
        if not s.has_data:
            continue
        n_p = len(full.periods(s.indicator_id))
        cats = n_p * len(s.categories["england"]) if s.categories else 0
        expected_distinct += len(s.sexes) * n_p * (1 if s.england_only else len(geo.codes)) + cats
        for t, n_areas in per_type.items():
            served[t] += len(s.sexes) * n_p * (1 if s.england_only else n_areas) + cats
    assert full.distinct_row_count() == expected_distinct
    assert full.served_row_counts() == dict(served)
    expected_served = sum(served.values())
    assert expected_served > 1_000_000   # national volume is in the millions of rows served


def test_served_rows_match_the_counts_and_the_distinct_keys(ds, frames) -> None:
    served = ds.served_row_counts()
    assert {t: len(f) for t, f in frames.items()} == served
    both = pd.concat(frames.values())
    assert len(both.drop_duplicates(subset=KEY)) == ds.distinct_row_count()
    assert not frames[502].duplicated(subset=KEY).any() and not frames[501].duplicated(subset=KEY).any()


def test_generation_is_deterministic_for_a_seed() -> None:
    a, b, c = (national_dataset(scale=0.01, seed=s) for s in (5, 5, 6))
    ids = sorted(a.indicators)
    for t in (502, 501):
        assert a.serving(t).all_data_csv(ids) == b.serving(t).all_data_csv(ids)
        assert a.serving(t).all_data_csv(ids) != c.serving(t).all_data_csv(ids)


def test_scale_picks_an_even_spread_of_indicators() -> None:
    ids = list(range(100, 300))
    assert pick_indicators(ids, 1.0) == ids
    picked = pick_indicators(ids, 0.05)
    assert len(picked) == 10 and picked == sorted(set(picked)) and picked[0] == 100 and picked[-1] >= 280
    assert pick_indicators(ids, 0.001) == [100]
    with pytest.raises(ValueError):
        pick_indicators(ids, 0)
    small = national_dataset(scale=SCALE)
    assert sorted(small.indicators) == pick_indicators([s.indicator_id for s in profile_specs()], SCALE)
    assert {p["Id"] for p in small.profiles} == {19, 45}


def test_rows_are_streamed_one_block_at_a_time(ds) -> None:
    view = ds.serving(501)
    blocks = view.iter_all_data_lines(sorted(ds.indicators))
    assert isinstance(blocks, GeneratorType)
    sizes = [len(b) for b in blocks]
    assert sum(sizes) == view.row_count()
    assert max(sizes) <= 1 + 9 + 296 + 10   # England, regions, the child areas (and England's decile rows)


def test_the_csv_parent_codes_are_the_hierarchy_the_area_endpoints_serve(stub, frames) -> None:
    types = {t["Id"]: t["Short"] for t in _get(stub, "area_types")}
    assert types[501] == "Districts & UAs (from Apr 2023)" and types[502] == "Counties & UAs (from Apr 2023)"
    for child in (502, 501):
        listed = _get(stub, "areas/by_area_type", area_type_id=child)
        assert {a["AreaTypeId"] for a in listed} == {child}
        children = {a["Code"] for a in listed}
        parent_of = {c: p for p, cs in _get(stub, "parent_to_child_areas", child_area_type_id=child,
                                            parent_area_type_id=6).items() for c in cs}
        assert set(parent_of) == children and set(parent_of.values()) == set(REGIONS)
        f = frames[child]
        rows = f[f["Area Type"] == types[child]]
        assert set(rows["Area Code"]) == children
        assert (rows["Parent Code"] == rows["Area Code"].map(parent_of)).all()
        assert set(f[f["Area Type"] == "Region"]["Parent Code"]) == {ENGLAND}
        for region in ("E12000004", "E12000007"):
            under = {a["Code"] for a in _get(stub, "areas/by_parent_area_code", area_type_id=child,
                                             parent_area_code=region)}
            assert under == {c for c, p in parent_of.items() if p == region}
    ltla = {a["Code"] for a in _get(stub, "areas/by_area_type", area_type_id=501)}
    utla = {code for code, _, _ in UPPER_TIER}
    counties = {county for _, _, county in DISTRICTS}
    assert ltla == {code for code, _, _ in DISTRICTS} | (utla - counties)
    by_county = _get(stub, "parent_to_child_areas", child_area_type_id=501, parent_area_type_id=502)
    assert set(by_county) == utla
    assert set(by_county["E10000018"]) == LEICESTERSHIRE_DISTRICTS
    assert by_county["E06000016"] == ["E06000016"]   # a unitary authority is its own lower tier
    assert sorted(c for cs in by_county.values() for c in cs) == sorted(ltla)
    under_county = {a["Code"] for a in _get(stub, "areas/by_parent_area_code", area_type_id=501,
                                            parent_area_code="E10000018")}
    assert under_county == LEICESTERSHIRE_DISTRICTS


def test_counties_regions_and_england_add_up_from_their_lower_tier_areas(ds, frames) -> None:
    county_of = ds.geography.county_of
    region_of = ds.geography.region_of
    low = frames[501][frames[501]["Area Type"] == "Districts & UAs (from Apr 2023)"]
    up = frames[502]
    checked = 0
    for iid, spec in ds.indicators.items():
        if not spec.has_data or spec.model["kind"] not in ("proportion", "crude_rate", "dsr", "isr", "ewd"):
            continue
        if spec.model.get("suppress"):
            continue   # a suppressed district count is blank though its county's sum includes it
        rows = low[low["Indicator ID"] == str(iid)]
        key = ["Sex", "Age", "Time period"]
        by_county = rows[rows["Area Code"].isin(county_of)].assign(
            county=lambda r: r["Area Code"].map(county_of)).groupby(key + ["county"])[["n", "d"]].sum()
        published = up[(up["Indicator ID"] == str(iid)) & up["Area Code"].isin(set(county_of.values()))]
        published = published.set_index(key + ["Area Code"])[["n", "d"]]
        published.index = published.index.set_names(key + ["county"])
        pd.testing.assert_frame_equal(by_county.sort_index(), published.sort_index(), check_dtype=False)
        by_region = rows.assign(region=lambda r: r["Area Code"].map(region_of)).groupby(key + ["region"])[
            ["n", "d"]].sum()
        regions = frames[501][(frames[501]["Indicator ID"] == str(iid)) & (frames[501]["Area Type"] == "Region")]
        regions = regions.set_index(key + ["Area Code"])[["n", "d"]]
        regions.index = regions.index.set_names(key + ["region"])
        pd.testing.assert_frame_equal(by_region.sort_index(), regions.sort_index(), check_dtype=False)
        england = frames[501][(frames[501]["Indicator ID"] == str(iid)) & (frames[501]["Area Code"] == ENGLAND)
                              & (frames[501]["Category"] == "")].set_index(key)[["n", "d"]]
        quirked = [period for i, period in ds.quirks if i == iid]   # England's row published off-method on purpose
        total = rows.groupby(key)[["n", "d"]].sum()
        pd.testing.assert_frame_equal(total[~total.index.get_level_values("Time period").isin(quirked)].sort_index(),
                                      england[~england.index.get_level_values("Time period").isin(quirked)]
                                      .sort_index(), check_dtype=False)
        checked += 1
    assert checked >= 5


def test_an_area_served_under_both_area_types_has_the_same_numbers(frames) -> None:
    cols = KEY + ["Value", "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Count", "Denominator", "Value note"]
    a = frames[502].drop(columns=["Area Type"])[cols]
    b = frames[501].drop(columns=["Area Type"])[cols]
    common = a.merge(b, on=KEY, suffixes=("_502", "_501"))
    shared_areas = set(common["Area Code"])
    assert ENGLAND in shared_areas and set(REGIONS) <= shared_areas
    assert {"E06000016", "E06000017", "E09000001"} <= shared_areas and "E10000018" not in shared_areas
    for col in cols[len(KEY):]:
        assert (common[f"{col}_502"] == common[f"{col}_501"]).all(), col


def test_values_sit_inside_their_confidence_intervals(ds, frames) -> None:
    quirks = {(str(i), period) for i, period in ds.quirks}   # published outside their CI on purpose
    assert quirks
    for f in frames.values():
        lo = pd.to_numeric(f["Lower CI 95.0 limit"].replace("", np.nan))
        hi = pd.to_numeric(f["Upper CI 95.0 limit"].replace("", np.nan))
        # Values and limits rounded to their own decimals (the indicator's ``rounding``) may cross by half a unit.
        slack = f["Indicator ID"].map(lambda i: sum(0.5 * 10 ** -d for d in (ds.indicators[int(i)].rounding or {}
                                                                              ).values()) + 1e-9)
        quirk = pd.Series(list(zip(f["Indicator ID"], f["Time period"], strict=True)), index=f.index).isin(quirks)
        has = f["v"].notna() & lo.notna() & ~(quirk & (f["Area Code"] == ENGLAND))
        assert has.sum() > 0.5 * len(f)
        assert ((lo[has] <= f["v"][has] + slack[has]) & (f["v"][has] <= hi[has] + slack[has])).all()
        counted = f[f["n"].notna() & f["d"].notna()]
        assert len(counted) and (counted["d"] > 0).all()


def test_the_client_downloads_each_area_type(stub, ds, tmp_path) -> None:
    ids = sorted(ds.indicators)
    with FingertipsClient(stub.base_url) as client:
        for child, n in ds.served_row_counts().items():
            landed = client.download_all_data(ids, child, 6, tmp_path)
            with open(landed.path, encoding="utf-8") as fh:
                assert sum(1 for _ in fh) == n + 1
    assert not _get(stub, "parent_to_child_areas", child_area_type_id=401, parent_area_type_id=6)


def test_the_demo_dataset_still_serves_counties_and_uas_only() -> None:
    with StubServer(default_demo_dataset()) as server:
        assert [t["Id"] for t in _get(server, "area_types")] == [15, 6, 502]
        assert _get(server, "areas/by_area_type", area_type_id=501) == []
        assert _get(server, "parent_to_child_areas", child_area_type_id=501, parent_area_type_id=6) == {}
        resp = requests.get(f"{server.base_url}/all_data/csv/by_indicator_id",
                            params={"indicator_ids": "90366", "child_area_type_id": 501, "parent_area_type_id": 6},
                            timeout=30)
        assert resp.status_code == 200 and len(resp.text.splitlines()) == 1   # the header alone
