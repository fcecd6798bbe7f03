"""The records the pipeline steps hand each other survive XCom: to_dict() is JSON and from_dict() gives them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from public_health.periods import FinancialQuarter
from public_health.pipelines.records import (
    FingertipsBatch,
    LandedFile,
    LoadResult,
    ReturnOutcome,
    ScanResult,
    ValidatedBatch,
)
from public_health.returns.discovery import Candidate

BATCH = FingertipsBatch((90630, 92196), {90630: datetime(2017, 11, 7, 9, 30, tzinfo=UTC), 92196: None},
                        "https://fingertips.example/api/all_data/csv/by_indicator_id?indicator_ids=90630,92196")
LANDED = LandedFile(BATCH, Path("/data/landing/fingertips/ab.csv"), "ab" * 32, 1234, 0.25)
VALIDATED = ValidatedBatch(LANDED, "validated", 7, staged_path=Path("/data/staging/ab.parquet"), rows=10, warnings=1,
                           timings={"download_s": 0.25, "parse_s": 0.5})
CANDIDATE = Candidate(Path("/share/Trust/ht/healthy_together_2017-18-Q2.xlsx"),
                      "Trust/ht/healthy_together_2017-18-Q2.xlsx", 5120, 1508400000.5)


@pytest.mark.parametrize(
    "record",
    [
        BATCH,
        LANDED,
        VALIDATED,
        ValidatedBatch(LANDED, "quarantined", 8, report=Path("/q/report.md"), error="2 error(s)"),
        LoadResult(VALIDATED, "loaded", 10, 0, 0),
        LoadResult.passed_through(ValidatedBatch(LANDED, "unchanged", 9)),
        CANDIDATE,
        ScanResult((CANDIDATE,), ("Trust/saving.xlsx",), (("notes.docx", "not a return file type"),), 3),
        ReturnOutcome(CANDIDATE.relative, "loaded_with_warnings", 11, "cd" * 32, "healthy_together",
                      FinancialQuarter(2017, 2), 40, 2, True, ("A big change from the previous quarter",)),
        ReturnOutcome("x.xlsx", "failed", error="boom"),
    ],
    ids=lambda r: type(r).__name__,
)
def test_records_round_trip_through_json(record):
    data = json.loads(json.dumps(record.to_dict()))
    assert type(record).from_dict(data) == record


def test_batch_label_names_the_indicators():
    assert BATCH.label == "indicators 90630..92196 (2)"


def test_outcome_carries_the_quarter_as_its_label():
    outcome = ReturnOutcome("r.xlsx", "loaded", period=FinancialQuarter.parse("2017-18-Q2"))
    assert outcome.to_dict()["period"] == "2017-18-Q2"
