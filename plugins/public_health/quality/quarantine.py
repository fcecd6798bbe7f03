"""Quarantine: keep the raw file, write an error report (Markdown and JSON) beside it."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .gate import ValidationOutcome


@dataclass(frozen=True)
class QuarantineSource:
    """The batch being quarantined: the pipeline, the URL or file path it came from, the raw file's sha256
    and its load batch (None when none was recorded)."""

    source: str
    source_ref: str
    sha256: str
    batch_id: int | None
    #: What a person can do when a failed check names no fix of its own.
    default_fix: str = "Correct the source and send it again."
    #: What was held back: "this file" (a whole file) or e.g. "indicator 93014" (one unit of a file).
    scope: str = "this file"


def quarantine(
    raw_file: Path,
    quarantine_root: Path,
    batch: QuarantineSource,
    *,
    outcome: ValidationOutcome | None = None,
    error: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Copy ``raw_file`` to ``quarantine_root/<source>/<sha16>/`` and write report.md and report.json.

    Returns the path of the Markdown report. The landing copy is left where it is.
    """
    source, source_ref, sha256, batch_id = batch.source, batch.source_ref, batch.sha256, batch.batch_id
    folder = quarantine_root / source / sha256[:16]
    if batch.scope != "this file":
        folder = folder / batch.scope.replace(" ", "-")
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / raw_file.name
    if not kept.exists():
        shutil.copy2(raw_file, kept)
    report = {
        "source": source,
        "source_ref": source_ref,
        "sha256": sha256,
        "raw_file": str(kept),
        "batch_id": batch_id,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scope": batch.scope,
        "default_fix": batch.default_fix,
        "error": error,
        "validation": outcome.to_dict() if outcome else None,
        **(extra or {}),
    }
    (folder / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    md_path = folder / "report.md"
    md_path.write_text(render_markdown(report, outcome), encoding="utf-8")
    return md_path


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any], outcome: ValidationOutcome | None) -> str:
    lines = [
        f"# Quarantined: {Path(report['raw_file']).name}",
        "",
        f"- Source: {report['source']} ({report['source_ref']})",
        f"- sha256: `{report['sha256']}`",
        f"- Raw file kept at: `{report['raw_file']}`",
        f"- Load batch: {report['batch_id']}",
        f"- Quarantined at: {report['quarantined_at']}",
        "",
        f"Nothing from {report.get('scope') or 'this file'} was loaded into the warehouse.",
        "",
    ]
    if report.get("error"):
        lines += ["## Error", "", str(report["error"]), ""]
    if report.get("what_to_do"):
        lines += ["## What to do", "", *[f"- {step}" for step in report["what_to_do"]], ""]
    if outcome:
        failed = outcome.errors + outcome.warnings
        lines += [
            f"## Checks: {len(outcome.errors)} error(s), {len(outcome.warnings)} warning(s) "
            f"of {len(outcome.outcomes)} on {outcome.rows} rows",
            "",
            "| severity | check | column | failing rows | examples | why | what to do |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for o in failed:
            examples = "; ".join(
                ", ".join(f"{k} {v}" for k, v in ex.items() if k != "value") + f": {ex.get('value')!r}"
                for ex in o.unexpected_examples[:5]
            ) or _cell(o.observed_value)
            lines.append(
                f"| {o.severity} | {_cell(o.description)} | {_cell(o.column or '')} | "
                f"{o.unexpected_count if o.unexpected_count is not None else '-'} | {_cell(examples)} | "
                f"{_cell(o.why or '')} | {_cell(o.fix or report.get('default_fix') or '')} |"
            )
        lines.append("")
    return "\n".join(lines)
