"""A few provider returns from the sample shared drive, taken by the provider returns pipeline.

Shared by the UI plugin's unit test and the browser test: the Healthy Together and Positive Voices HIV
prevention returns of 2017/18 as the sample drive holds them (``public_health.demo.shared_drive``: the
published figures, and the Q2 draft with text in a number cell), so the warehouse has loaded, warned and
quarantined returns for the return tracker to show. Only these services' files are processed, to keep
the tests quick; what each file should become is the drive's own ``expect``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

SERVICES = ("healthy_together", "hiv_prevention_positive")


@dataclass(frozen=True)
class LoadedReturns:
    """The sample files taken (relative path -> SampleFile) and what the pipeline made of each."""

    files: dict[str, Any]
    outcomes: list[Any]


def load_sample_returns(settings: Any, engine: Any, run: Any, today: date) -> LoadedReturns:
    """Write the sample drive under ``settings.shared_drive``, sync services and expected returns as of
    ``today`` (the configured ``returns.track_until`` wins), and take the chosen services' files."""
    from public_health.demo.shared_drive import build_sample_drive
    from public_health.pipelines.provider_returns import process_files, scan, sync_config

    root = settings.shared_drive
    written = build_sample_drive(root)
    chosen = {
        f.path.relative_to(root).as_posix(): f
        for f in written
        if f.service_code in SERVICES and f.expect in ("load", "quarantine", "supersede")
    }
    sync_config(settings, engine, today)
    found = scan(settings, engine)
    outcomes = process_files(settings, engine, [c for c in found.new if c.relative in chosen], run)
    assert sorted(o.file for o in outcomes) == sorted(chosen), (outcomes, sorted(chosen))
    return LoadedReturns(chosen, outcomes)
