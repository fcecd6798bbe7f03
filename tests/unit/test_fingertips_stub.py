"""The fixture generator and the stub server: determinism, plausibility, faults, scale."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import requests

from public_health.demo.fingertips_stub import StubServer, default_demo_dataset, generate_dataset
from public_health.demo.fingertips_stub.fixtures import period_labels
from public_health.fingertips.client import FingertipsClient
from public_health.fingertips.parse import parse_all_data_csv

LLR = {"E10000018", "E06000016", "E06000017"}
ROOT = Path(__file__).resolve().parents[2]


def _frame(csv_text: str, tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "x.csv"
    path.write_text(csv_text, encoding="utf-8", newline="")
    return parse_all_data_csv(path)


def test_generator_is_deterministic_for_a_seed() -> None:
    a = generate_dataset(indicators=3, n_areas=12, seed=5)
    b = generate_dataset(indicators=3, n_areas=12, seed=5)
    c = generate_dataset(indicators=3, n_areas=12, seed=6)
    ids = sorted(a.indicators)
    assert a.all_data_csv(ids) == b.all_data_csv(ids)
    assert a.all_data_csv(ids) != c.all_data_csv(ids)
    assert a.neighbours == b.neighbours


def test_values_sit_inside_their_confidence_intervals(tmp_path: Path) -> None:
    ds = generate_dataset(indicators=8, n_periods=6, sexes=("Persons", "Male", "Female"))
    f = _frame(ds.all_data_csv(sorted(ds.indicators)), tmp_path)
    has = f["value"].notna()
    assert has.sum() > 0.9 * len(f)
    v = f[has]
    assert (v["lower_ci_95"] <= v["value"]).all() and (v["value"] <= v["upper_ci_95"]).all()
    assert (v["lower_ci_99_8"] <= v["lower_ci_95"]).all() and (v["upper_ci_95"] <= v["upper_ci_99_8"]).all()
    counted = v[v["count"].notna() & v["denominator"].notna()]
    assert (counted["count"] >= 0).all() and (counted["count"] <= counted["denominator"]).all()
    assert set(f["compared_to_england"].dropna()) <= {"Better", "Similar", "Worse", "Higher", "Lower", "Not compared"}
    assert f["value_note"].notna().any()  # some rows carry value notes


def test_llr_present_and_size_scales() -> None:
    small = generate_dataset(indicators=2, n_areas=5, n_periods=3)
    assert LLR <= set(small.child_codes) and len(small.child_codes) == 5
    assert small.row_count() == 2 * 3 * (1 + 9 + 5)
    big = generate_dataset(indicators=2, n_areas=200, n_periods=3, sexes=("Male", "Female"))
    assert len(big.child_codes) == 200 and LLR <= set(big.child_codes)
    assert big.row_count() == 2 * 2 * 3 * (1 + 9 + 200)
    full = generate_dataset(indicators=1)
    assert len(full.child_codes) == 153
    assert full.areas["E10000018"].parent_code == "E12000004"
    for code in LLR:
        assert len(full.neighbours[code]) == 15


def test_period_labels() -> None:
    assert [p[0] for p in period_labels("financial_year", 2, 2018)] == ["2017/18", "2018/19"]
    assert [p[0] for p in period_labels("calendar_year", 2, 2018)] == ["2017", "2018"]
    assert period_labels("rolling_3y", 1, 2017)[0] == ("2015 - 17", 20150000, "3y")
    assert [p[0] for p in period_labels("fy_quarter", 3, 2017)] == ["2017/18 Q2", "2017/18 Q3", "2017/18 Q4"]
    assert period_labels("fy_quarter", 1, 2017)[0][1] == 20170400


def test_revise_changes_value_cis_and_upload_date(tmp_path: Path) -> None:
    ds = generate_dataset(indicators=1, n_areas=10, n_periods=3)
    iid = next(iter(ds.indicators))
    period = ds.periods(iid)[-1][0]
    before = ds.value_of(iid, "E06000016", period)
    old_upload = ds.indicators[iid].last_upload
    new = before["value"] * 1.5
    ds.revise(iid, "E06000016", period, new, uploaded_at=datetime(2031, 1, 1))
    after = ds.value_of(iid, "E06000016", period)
    assert after["value"] == new and after["lower_ci_95"] <= new <= after["upper_ci_95"]
    assert after["upper_ci_95"] - after["lower_ci_95"] == pytest.approx(before["upper_ci_95"] - before["lower_ci_95"])
    assert ds.indicators[iid].last_upload == datetime(2031, 1, 1) > old_upload
    f = _frame(ds.all_data_csv([iid]), tmp_path)
    row = f[(f["area_code"] == "E06000016") & (f["time_period"] == period)].iloc[0]
    assert row["value"] == pytest.approx(new, rel=1e-6)
    with pytest.raises(KeyError, match="no period"):
        ds.revise(iid, "E06000016", "1900", 1.0)


def test_demo_dataset_is_realistic(tmp_path: Path) -> None:
    ds = default_demo_dataset()
    assert len(ds.indicators) >= 25 and LLR <= set(ds.child_codes)
    grans = {s.granularity for s in ds.indicators.values()}
    assert {"calendar_year", "financial_year", "rolling_3y", "fy_quarter"} <= grans
    assert any(set(s.sexes) == {"Male", "Female"} for s in ds.indicators.values())
    assert {s.polarity for s in ds.indicators.values()} >= {"RAG - Low is good", "RAG - High is good"}
    f = _frame(ds.all_data_csv([20401, 90366, 93085]), tmp_path)
    assert set(f["time_period"][f["indicator_id"] == 90366]) >= {"2021 - 23"}
    assert any(" Q" in p for p in f["time_period"][f["indicator_id"] == 93085])
    assert set(f["sex"][f["indicator_id"] == 90366]) == {"Male", "Female"}
    assert set(f["recent_trend"].dropna()) & {"Increasing and getting worse", "Decreasing and getting better",
                                              "No significant change"}


def test_header_follows_parent_area_type() -> None:
    ds = generate_dataset(indicators=1, n_areas=3, n_periods=1)
    assert ds.all_data_header(6)[22] == "Compared to Region value or percentiles"
    assert ds.all_data_header(15)[22] == "Compared to percentiles"


def test_column_faults_and_request_log(tmp_path: Path) -> None:
    ds = generate_dataset(indicators=1, n_areas=3, n_periods=1)
    with StubServer(ds) as stub:
        url = f"{stub.base_url}/all_data/csv/by_indicator_id?indicator_ids=90001&child_area_type_id=502&parent_area_type_id=6"
        stub.inject("rename_column", old="Area Code", new="AreaCode")
        text = requests.get(url, timeout=5).text
        assert "AreaCode" in text.splitlines()[0] and "Area Code," not in text.splitlines()[0]
        stub.inject("drop_column", column="Value")
        lines = requests.get(url, timeout=5).text.splitlines()
        assert "Value" not in lines[0].split(",") and all(len(line.split(",")) == 26 for line in lines[:3])
        ok = requests.get(url, timeout=5).text  # faults were used up
        assert ok.splitlines()[0].split(",")[4] == "Area Code"
        assert sum("all_data" in p for p in stub.requests_log) == 3
        assert requests.get(f"{stub.base_url}/nope", timeout=5).status_code == 404
        with pytest.raises(ValueError, match="unknown fault"):
            stub.inject("explode")


def test_million_rows_served_and_parsed_in_seconds(tmp_path: Path) -> None:
    ds = generate_dataset(indicators=64, n_periods=30, sexes=("Persons", "Male", "Female"), n_areas=166)
    ids = sorted(ds.indicators)
    expected = ds.row_count(ids)
    assert expected >= 1_000_000
    with StubServer(ds) as stub:
        client = FingertipsClient(stub.base_url, read_timeout=60)
        started = time.perf_counter()
        landed = client.download_all_data(ids, 502, 6, tmp_path)
        downloaded = time.perf_counter() - started
    started = time.perf_counter()
    frame = parse_all_data_csv(landed.path, landed.url)
    parsed = time.perf_counter() - started
    assert len(frame) == expected
    assert downloaded < 30 and parsed < 15, (downloaded, parsed)


def test_module_is_runnable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    proc = subprocess.Popen([sys.executable, "-m", "public_health.demo.fingertips_stub", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = requests.get(f"http://127.0.0.1:{port}/api/area_types", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert resp.status_code == 200 and {t["Id"] for t in resp.json()} >= {15, 6, 502}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
