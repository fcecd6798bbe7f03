"""The ``make bench`` summary: rows recorded by ``_common.record`` (stage shares optional) become one table
and docs/performance.md."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
HOST = {"CPU": "Test CPU × 2", "Memory": "4.0 GiB", "OS": "Test OS", "Python": "CPython 3.11",
        "DuckDB": "DuckDB 1.0", "PostgreSQL": "PostgreSQL 16", "Date": "2017-11-14 09:30 UTC"}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def summary(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = _load("summary")
    monkeypatch.setattr(module, "machine", lambda: dict(HOST))
    return module


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "results.jsonl"
    path.write_text("")
    monkeypatch.setenv("BENCH_RESULTS", str(path))
    return path


def test_record_writes_stage_shares_only_when_given(results: Path) -> None:
    common = _load("_common")
    common.record("Fingertips 1M rows → DuckDB", "41.2 s", "read_csv 9.8 s", 4.2, "ratio ≤ 3", False)
    common.record("report: PDF share", "PDF 5 s, 60%", "PDF 7 s, 68%", 0.88, "halved", False,
                  stages={"layout": 0.48712, "draw pages": 0.178})
    first, second = (json.loads(line) for line in results.read_text(encoding="utf-8").splitlines())
    assert first == {"benchmark": "Fingertips 1M rows → DuckDB", "figure": "41.2 s", "baseline": "read_csv 9.8 s",
                     "ratio": 4.2, "target": "ratio ≤ 3", "met": False}
    assert second["stages"] == {"layout": 0.4871, "draw pages": 0.178}
    assert list(second["stages"]) == ["layout", "draw pages"]    # the order to print


def test_summary_prints_the_table_and_writes_the_page(summary: ModuleType, results: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"benchmark": "200 provider workbooks → DuckDB", "figure": "3.25 files/s", "baseline": "openpyxl 12 s",
         "ratio": 47.0, "target": "ratio ≤ 4", "met": False},
        {"benchmark": "report | build", "figure": "9.1 s", "baseline": "10.2 s", "ratio": None, "target": "< 60 s",
         "met": True, "stages": {"assemble": 0.05, "PDF": 0.62}},
    ]
    results.write_text("\n".join(json.dumps(r) for r in rows) + "\n\nnot json\n", encoding="utf-8")
    doc = tmp_path / "docs" / "performance.md"
    assert summary.main(["--doc", str(doc), "--failed", "national_refresh.py"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("benchmark"))
    assert header.split() == ["benchmark", "figure", "baseline", "ratio", "target", "met"]
    assert "47.00" in out and "–" in out and "NO" in out and "yes" in out
    assert "results.jsonl line 4: not JSON" in out and "failed in this run: national_refresh.py" in out

    page = doc.read_text(encoding="utf-8")
    assert "| benchmark | figure | baseline | ratio | target | met |" in page
    assert "| 200 provider workbooks → DuckDB | 3.25 files/s | openpyxl 12 s | 47.00 | ratio ≤ 4 | NO |" in page
    assert "| report \\| build | 9.1 s | 10.2 s | – | < 60 s | yes |" in page
    assert "1 of 2 targets met." in page and "`national_refresh.py`" in page
    for key, value in HOST.items():
        assert f"- {key}: {value}" in page
    where = page[page.index("## Where the time goes"):]
    assert "### report \\| build" in where and "| assemble | 5.0% |" in where and "| PDF | 62.0% |" in where
    assert where.index("| assemble |") < where.index("| PDF |")
    assert "No stage shares recorded for: 200 provider workbooks → DuckDB." in where


def test_no_rows_leaves_the_page_alone(summary: ModuleType, results: Path, tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("the last good table\n")
    assert summary.main(["--doc", str(doc)]) == 1
    assert doc.read_text() == "the last good table\n"


def test_without_a_results_file_the_summary_says_so(summary: ModuleType, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_RESULTS", raising=False)
    assert summary.main(["--doc", str(tmp_path / "p.md")]) == 2
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "missing.jsonl"))
    assert summary.main(["--doc", str(tmp_path / "p.md")]) == 2
    assert not (tmp_path / "p.md").exists()
