"""The records the pipelines' steps hand each other, one name each along the whole path.

Fingertips refresh: ``FingertipsBatch`` (what to fetch) -> ``LandedFile`` (fetched, kept as received)
-> ``ValidatedBatch`` (parsed and through the gate: validated, unchanged or quarantined) -> ``LoadResult``.

Provider returns: ``Candidate`` (a file on the shared drive, :mod:`public_health.returns.discovery`), found by
``scan`` (a ``ScanResult``) and taken by ``process_files``, which says what became of each in a ``ReturnOutcome``.

Each record is frozen and has ``to_dict()`` / ``from_dict()``: a DAG task turns it into JSON for XCom at
its boundary and back; the pipeline functions only ever see the records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from public_health.periods import FinancialQuarter
from public_health.returns.discovery import Candidate

if TYPE_CHECKING:
    from public_health.warehouse.phof import LoadCounts


def _path(value: Any) -> Path | None:
    return None if value is None else Path(value)


def _text(value: Path | None) -> str | None:
    return None if value is None else str(value)


# Fingertips refresh ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FingertipsBatch:
    """Indicators downloaded together (a fixed slice of the sorted tracked ids, so the same batch has the same
    URL every night), the Fingertips upload date of each, and the all_data URL."""

    indicator_ids: tuple[int, ...]
    upload_dates: Mapping[int, datetime | None]
    url: str

    @property
    def label(self) -> str:
        """How the batch is named in the Airflow UI (its mapped task's label)."""
        ids = self.indicator_ids
        return f"indicators {ids[0]}..{ids[-1]} ({len(ids)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "indicator_ids": list(self.indicator_ids),
            "upload_dates": {str(i): (d.isoformat() if d else None) for i, d in self.upload_dates.items()},
            "url": self.url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FingertipsBatch:
        return cls(
            indicator_ids=tuple(int(i) for i in data["indicator_ids"]),
            upload_dates={int(k): (datetime.fromisoformat(v) if v else None) for k, v in data["upload_dates"].items()},
            url=data["url"],
        )


@dataclass(frozen=True)
class LandedFile:
    """A batch's all_data CSV in the landing area: where, its sha256 and size, and how long the download took.
    ``batch.url`` is the URL as the client fetched it."""

    batch: FingertipsBatch
    landing_path: Path
    sha256: str
    size_bytes: int
    download_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch.to_dict(),
            "landing_path": str(self.landing_path),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "download_s": self.download_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LandedFile:
        return cls(
            batch=FingertipsBatch.from_dict(data["batch"]),
            landing_path=Path(data["landing_path"]),
            sha256=data["sha256"],
            size_bytes=int(data["size_bytes"]),
            download_s=float(data["download_s"]),
        )


@dataclass(frozen=True)
class ValidatedBatch:
    """One indicator of a landed batch after parsing and the gate (the unit of quarantine is one indicator), with
    its audit batch id. ``status`` is ``validated`` (its fact columns staged as an Arrow IPC file at
    ``staged_path``, ready to load),
    ``unchanged`` (content already loaded: nothing to do), ``held`` (content already quarantined: still held),
    ``quarantined`` (``report`` and ``error`` say why) or ``failed`` (e.g. no rows for an indicator that has
    data; ``error`` names the URL). ``indicator_id`` is None only for rows without a readable indicator id."""

    landed: LandedFile
    status: str
    batch_id: int
    staged_path: Path | None = None
    report: Path | None = None
    error: str | None = None
    rows: int | None = None
    warnings: int = 0
    timings: Mapping[str, float] = field(default_factory=dict)
    indicator_id: int | None = None
    content_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "landed": self.landed.to_dict(),
            "status": self.status,
            "batch_id": self.batch_id,
            "staged_path": _text(self.staged_path),
            "report": _text(self.report),
            "error": self.error,
            "rows": self.rows,
            "warnings": self.warnings,
            "timings": dict(self.timings),
            "indicator_id": self.indicator_id,
            "content_sha256": self.content_sha256,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidatedBatch:
        return cls(
            landed=LandedFile.from_dict(data["landed"]),
            status=data["status"],
            batch_id=int(data["batch_id"]),
            staged_path=_path(data.get("staged_path")),
            report=_path(data.get("report")),
            error=data.get("error"),
            rows=data.get("rows"),
            warnings=int(data.get("warnings") or 0),
            timings=dict(data.get("timings") or {}),
            indicator_id=None if data.get("indicator_id") is None else int(data["indicator_id"]),
            content_sha256=data.get("content_sha256"),
        )


@dataclass(frozen=True)
class LoadResult:
    """What the load step did with one validated indicator: ``loaded`` or ``unchanged`` with its row counts, or
    ``failed`` with the ``error``; one that was not ``validated`` passes through with its own status."""

    validated: ValidatedBatch
    status: str
    inserted: int | None = None
    updated: int | None = None
    unchanged: int | None = None
    error: str | None = None

    @classmethod
    def passed_through(cls, validated: ValidatedBatch) -> LoadResult:
        return cls(validated, validated.status, error=validated.error)

    @classmethod
    def loaded(cls, validated: ValidatedBatch, counts: LoadCounts) -> LoadResult:
        """From the loader's LoadCounts; the staged file is gone once loaded."""
        return cls(replace(validated, staged_path=None), counts.status, counts.inserted, counts.updated,
                   counts.unchanged)

    def to_dict(self) -> dict[str, Any]:
        return {
            "validated": self.validated.to_dict(),
            "status": self.status,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadResult:
        return cls(
            validated=ValidatedBatch.from_dict(data["validated"]),
            status=data["status"],
            inserted=data.get("inserted"),
            updated=data.get("updated"),
            unchanged=data.get("unchanged"),
            error=data.get("error"),
        )


# Provider returns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    """One look at the shared drive: files new or changed since they were last taken (oldest first), files
    still being written, files ignored (with why) and how many ready files were already taken."""

    new: tuple[Candidate, ...]
    settling: tuple[str, ...] = ()
    ignored: tuple[tuple[str, str], ...] = ()
    already_seen: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": [c.to_dict() for c in self.new],
            "settling": list(self.settling),
            "ignored": [{"file": rel, "why": why} for rel, why in self.ignored],
            "already_seen": self.already_seen,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanResult:
        return cls(
            new=tuple(Candidate.from_dict(c) for c in data["new"]),
            settling=tuple(data.get("settling") or ()),
            ignored=tuple((i["file"], i["why"]) for i in data.get("ignored") or ()),
            already_seen=int(data.get("already_seen") or 0),
        )


@dataclass(frozen=True)
class ReturnOutcome:
    """What became of one return file: ``loaded``, ``loaded_with_warnings``, ``unchanged``, ``superseded``,
    ``quarantined`` (``error`` and ``report`` say why), ``unsettled`` (changed while being copied: left for the
    next run) or ``failed`` (an unexpected error, recorded in audit)."""

    file: str
    status: str
    batch_id: int | None = None
    sha256: str | None = None
    service_code: str | None = None
    period: FinancialQuarter | None = None
    inserted: int | None = None
    updated: int | None = None
    resubmission: bool | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None
    report: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "status": self.status,
            "batch_id": self.batch_id,
            "sha256": self.sha256,
            "service_code": self.service_code,
            "period": self.period.label if self.period is not None else None,
            "inserted": self.inserted,
            "updated": self.updated,
            "resubmission": self.resubmission,
            "warnings": list(self.warnings),
            "error": self.error,
            "report": self.report,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReturnOutcome:
        period = data.get("period")
        return cls(
            file=data["file"],
            status=data["status"],
            batch_id=data.get("batch_id"),
            sha256=data.get("sha256"),
            service_code=data.get("service_code"),
            period=FinancialQuarter.parse(period) if period else None,
            inserted=data.get("inserted"),
            updated=data.get("updated"),
            resubmission=data.get("resubmission"),
            warnings=tuple(data.get("warnings") or ()),
            error=data.get("error"),
            report=data.get("report"),
        )
