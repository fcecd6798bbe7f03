"""The nightly Fingertips refresh, step by step.

sync_metadata -> select_batches -> download_batch -> validate_batch -> load_batch -> summarise

Each step takes and returns the records of :mod:`public_health.pipelines.records` (``FingertipsBatch`` ->
``LandedFile`` -> ``ValidatedBatch`` -> ``LoadResult``; the DAG passes them between tasks as XCom with
``to_dict()``); frames travel between steps as files: the landing CSV (raw, kept) and a staged Parquet file.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from public_health.config import Settings, config_dir, load_indicator_sets
from public_health.pipelines.records import FingertipsBatch, LandedFile, LoadResult, ValidatedBatch
from public_health.warehouse import audit
from public_health.warehouse.audit import NO_ROWS, BatchCounts, BatchEnd, BatchSource, RunContext
from public_health.warehouse.phof import (
    FACT_SPEC,
    known_area_codes,
    load_indicator_values,
    replace_comparators,
    tracked_indicators,
    upsert_areas,
    upsert_indicators,
)

log = logging.getLogger(__name__)

SOURCE = "fingertips"
SUITE = "fingertips_indicator_values"
ENGLAND_AREA_TYPE_ID = 15


class RefreshError(RuntimeError):
    """A refresh step cannot go on; the message says why and what to do."""


def _client(settings: Settings):  # noqa: ANN202 - the client type lives in the fingertips package
    from public_health.fingertips.client import FingertipsClient

    return FingertipsClient.from_settings(settings.fingertips)


def all_data_url(settings: Settings, indicator_ids: list[int]) -> str:
    ids = ",".join(str(i) for i in sorted(indicator_ids))
    fs = settings.fingertips
    return (
        f"{fs.base_url}/all_data/csv/by_indicator_id?indicator_ids={ids}"
        f"&child_area_type_id={fs.child_area_type_id}&parent_area_type_id={fs.parent_area_type_id}"
    )


# 1. Metadata and areas ------------------------------------------------------------------------


def configured_indicators(settings: Settings) -> tuple[dict[int, dict[str, Any]], list[int]]:
    """Indicators named in the configured sets: id -> {phof_code, name, sets}; and profile ids to expand."""
    listed: dict[int, dict[str, Any]] = {}
    profiles: list[int] = []
    for ind_set in load_indicator_sets(settings.indicator_sets, config_dir()):
        if ind_set.profile_id is not None:
            profiles.append(ind_set.profile_id)
        for ref in ind_set.indicators:
            entry = listed.setdefault(ref.id, {"phof_code": None, "name": ref.name, "sets": []})
            entry["phof_code"] = entry["phof_code"] or ref.phof_code
            entry["sets"].append(ind_set.name)
    return listed, sorted(set(profiles))


def sync_metadata(settings: Settings, engine: Engine, client: Any | None = None) -> dict[str, int]:
    """Areas, comparators and indicator metadata into core, in one transaction."""
    client = client or _client(settings)
    fs = settings.fingertips

    area_types = {int(t["Id"]): t.get("Name") or t.get("Short") for t in client.area_types()}
    england = client.areas_by_area_type(ENGLAND_AREA_TYPE_ID)
    parents = client.areas_by_area_type(fs.parent_area_type_id)
    children = client.areas_by_area_type(fs.child_area_type_id)
    parent_of: dict[str, str] = {}
    for parent, kids in client.parent_to_child_areas(fs.child_area_type_id, fs.parent_area_type_id).items():
        for kid in kids:
            parent_of[kid] = parent
    england_code = settings.areas.england

    def row(area: Any, parent: str | None) -> dict[str, Any]:
        return {
            "area_code": area.code,
            "area_name": area.name,
            "short_name": area.short_name,
            "area_type_id": area.area_type_id,
            "area_type": area_types.get(area.area_type_id),
            "parent_area_code": parent,
        }

    area_rows = [row(a, None) for a in england]
    area_rows += [row(a, england_code) for a in parents]
    area_rows += [row(a, parent_of.get(a.code)) for a in children]

    comparators: list[dict[str, Any]] = []
    for a in parents + children:
        comparators.append(
            {
                "area_code": a.code,
                "comparator_code": england_code,
                "kind": "england",
                "rank": 1,
                "source": "Fingertips: England",
            }
        )
    for a in children:
        if a.code in parent_of:
            comparators.append(
                {
                    "area_code": a.code,
                    "comparator_code": parent_of[a.code],
                    "kind": "region",
                    "rank": 1,
                    "source": f"Fingertips parent_to_child_areas (area type {fs.parent_area_type_id})",
                }
            )
    neighbours_found = 0
    for code in settings.areas.focus:
        for rank, nn in enumerate(
            client.nearest_neighbours(code, fs.child_area_type_id, fs.nearest_neighbour_type_id), 1
        ):
            comparators.append(
                {
                    "area_code": code,
                    "comparator_code": nn.code,
                    "kind": "nearest_neighbour",
                    "rank": rank,
                    "source": f"Fingertips nearest neighbours type {fs.nearest_neighbour_type_id} (CIPFA)",
                }
            )
            neighbours_found += 1

    listed, profiles = configured_indicators(settings)
    sets_of: dict[int, set[str]] = {i: set(v["sets"]) for i, v in listed.items()}
    for profile_id in profiles:
        profile_sets = [
            s.name for s in load_indicator_sets(settings.indicator_sets, config_dir()) if s.profile_id == profile_id
        ]
        for i in client.profile_indicator_ids(profile_id):
            sets_of.setdefault(int(i), set()).update(profile_sets)
    wanted = sorted(sets_of)
    metas = {m.indicator_id: m for m in client.indicator_metadata(wanted)} if wanted else {}
    unknown = [i for i in wanted if i not in metas]
    if unknown:
        log.warning("Fingertips has no metadata for configured indicator ids %s: they are skipped", unknown)
    indicator_rows = []
    for i in sorted(metas):
        m = metas[i]
        indicator_rows.append(
            {
                "indicator_id": i,
                "phof_code": (listed.get(i) or {}).get("phof_code") or m.phof_code,
                "name": m.name or (listed.get(i) or {}).get("name"),
                "definition": m.definition,
                "unit": m.unit,
                "value_type": m.value_type,
                "polarity": m.polarity,
                "polarity_code": m.polarity_code,
                "source": m.source,
                "last_data_upload": m.last_upload,
                "indicator_sets": ",".join(sorted(sets_of[i])),
            }
        )
    with engine.begin() as conn:
        upsert_areas(conn, area_rows)
        replace_comparators(conn, comparators)
        upsert_indicators(conn, indicator_rows)
    summary = {
        "areas": len(area_rows),
        "comparators": len(comparators),
        "nearest_neighbours": neighbours_found,
        "indicators": len(indicator_rows),
        "unknown_indicator_ids": len(unknown),
    }
    log.info("metadata synced: %s", summary)
    return summary


# 2. What to fetch -------------------------------------------------------------------------------


def select_batches(
    settings: Settings,
    engine: Engine,
    run: RunContext,
    *,
    full_refresh: bool = False,
    indicator_ids: list[int] | None = None,
) -> list[FingertipsBatch]:
    """Batches of indicator ids to download: those whose Fingertips upload is newer than what core holds.

    Batches are fixed slices of the sorted tracked ids, so the same batch has the same URL every
    night (that is how unchanged content is recognised). A batch with nothing new is recorded in
    audit as unchanged without being downloaded.
    """
    with engine.connect() as conn:
        rows = tracked_indicators(conn)
    tracked = {r.indicator_id: (r.last_data_upload, r.loaded_data_upload) for r in rows}
    if not tracked:
        raise RefreshError(
            "core.dim_indicator holds no tracked indicators: run sync_metadata first and check "
            "config/indicator_sets (and that Fingertips returned their metadata)"
        )
    if indicator_ids:
        unknown = sorted(set(indicator_ids) - set(tracked))
        if unknown:
            raise RefreshError(
                f"indicator_ids {unknown} are not tracked indicators (config/indicator_sets); tracked ids include "
                f"{sorted(tracked)[:10]}"
            )
        slices = [
            sorted(set(indicator_ids))[i : i + settings.fingertips.batch_size]
            for i in range(0, len(set(indicator_ids)), settings.fingertips.batch_size)
        ]
    else:
        ids = sorted(tracked)
        size = settings.fingertips.batch_size
        slices = [ids[i : i + size] for i in range(0, len(ids), size)]

    def due(i: int) -> bool:
        published, loaded = tracked[i]
        return full_refresh or loaded is None or (published is not None and published > loaded)

    batches: list[FingertipsBatch] = []
    for ids in slices:
        if any(due(i) for i in ids) or indicator_ids:
            upload_dates = {i: tracked[i][0] for i in ids}
            batches.append(FingertipsBatch(tuple(ids), upload_dates, all_data_url(settings, ids)))
            continue
        batch_id = audit.start_batch(
            engine,
            BatchSource(
                SOURCE,
                all_data_url(settings, ids),
                details={"indicator_ids": ids, "reason": "no Fingertips upload since the last load"},
            ),
            run,
        )
        with engine.begin() as conn:
            audit.finish_batch(conn, batch_id, BatchEnd("unchanged", NO_ROWS))
    log.info(
        "%d of %d batches due (full_refresh=%s, indicator_ids=%s)",
        len(batches),
        len(slices),
        full_refresh,
        indicator_ids,
    )
    return batches


# 3. Download ------------------------------------------------------------------------------------


def download_batch(
    settings: Settings, engine: Engine, batch: FingertipsBatch, run: RunContext, client: Any | None = None
) -> LandedFile:
    """Stream the batch's all_data CSV to the landing area. A failure is recorded in audit, then raised."""
    client = client or _client(settings)
    fs = settings.fingertips
    started = time.perf_counter()
    try:
        landed = client.download_all_data(
            list(batch.indicator_ids), fs.child_area_type_id, fs.parent_area_type_id, settings.landing_dir / SOURCE
        )
    except Exception as exc:
        batch_id = audit.start_batch(
            engine, BatchSource(SOURCE, batch.url, details={"indicator_ids": list(batch.indicator_ids)}), run
        )
        audit.fail_batch(
            engine, batch_id, f"download failed: {exc}", timings={"download_s": time.perf_counter() - started}
        )
        raise
    return LandedFile(
        batch=FingertipsBatch(batch.indicator_ids, batch.upload_dates, landed.url),
        landing_path=Path(landed.path),
        sha256=landed.sha256,
        size_bytes=landed.size_bytes,
        download_s=round(time.perf_counter() - started, 3),
    )


# 4. Stage and validate ----------------------------------------------------------------------------


def validate_batch(settings: Settings, engine: Engine, landed: LandedFile, run: RunContext) -> ValidatedBatch:
    """Parse the landed CSV and run the gate. Returns status validated, unchanged or quarantined."""
    from public_health.fingertips.parse import FingertipsParseError, parse_all_data_csv
    from public_health.periods import try_parse_period
    from public_health.quality.gate import validate_frame
    from public_health.quality.quarantine import QuarantineSource, quarantine

    path = landed.landing_path
    url = landed.batch.url
    details = {"indicator_ids": list(landed.batch.indicator_ids), "size_bytes": landed.size_bytes}
    previous = audit.latest_content(engine, SOURCE, url)
    batch_id = audit.start_batch(engine, BatchSource(SOURCE, url, landed.sha256, str(path), details), run)
    timings = {"download_s": landed.download_s}
    if previous == landed.sha256:
        with engine.begin() as conn:
            audit.finish_batch(conn, batch_id, BatchEnd("unchanged", NO_ROWS, timings=timings))
        log.info(
            "batch %s: content %s… is what was last loaded from %s: nothing to do",
            batch_id,
            landed.sha256[:12],
            url,
        )
        return ValidatedBatch(landed, "unchanged", batch_id, timings=timings)

    def send_to_quarantine(error: str | None, outcome: Any = None) -> ValidatedBatch:
        report = quarantine(
            path,
            settings.quarantine_dir,
            QuarantineSource(SOURCE, url, landed.sha256, batch_id),
            outcome=outcome,
            error=error,
        )
        summary = error or outcome.summary()
        with engine.begin() as conn:
            if outcome is not None:
                audit.record_dq(conn, batch_id, outcome)
            audit.finish_batch(
                conn,
                batch_id,
                BatchEnd(
                    "quarantined",
                    BatchCounts(read=outcome.rows if outcome else None),
                    error_summary=summary[:4000],
                    report_path=str(report),
                    timings=timings,
                ),
            )
        log.error("batch %s quarantined: %s (report: %s)", batch_id, summary, report)
        return ValidatedBatch(landed, "quarantined", batch_id, report=report, error=summary, timings=timings)

    t = time.perf_counter()
    try:
        frame = parse_all_data_csv(path, source_url=url)
    except FingertipsParseError as exc:
        timings["parse_s"] = time.perf_counter() - t
        return send_to_quarantine(f"{exc} (from {url})")
    timings["parse_s"] = time.perf_counter() - t

    t = time.perf_counter()
    labels = frame["time_period"].dropna().unique()
    parses = {label: try_parse_period(label) is not None for label in labels}
    frame["period_parses"] = frame["time_period"].map(parses).fillna(False).astype(bool)
    with engine.connect() as conn:
        known_areas = known_area_codes(conn)
    outcome = validate_frame(
        SUITE,
        frame,
        {"known_area_codes": known_areas, "requested_indicator_ids": [int(i) for i in landed.batch.indicator_ids]},
    )
    timings["validate_s"] = time.perf_counter() - t
    if not outcome.passed:
        return send_to_quarantine(None, outcome)

    staged = settings.data_dir / "staging" / SOURCE / f"{landed.sha256[:16]}.parquet"
    staged.parent.mkdir(parents=True, exist_ok=True)
    frame.drop(columns=["period_parses"]).to_parquet(staged, index=False)
    with engine.begin() as conn:
        audit.record_dq(conn, batch_id, outcome)
    return ValidatedBatch(
        landed,
        "validated",
        batch_id,
        staged_path=staged,
        rows=len(frame),
        warnings=len(outcome.warnings),
        timings=timings,
    )


# 5. Load ----------------------------------------------------------------------------------------


def load_batch(settings: Settings, engine: Engine, item: ValidatedBatch) -> LoadResult:
    """Load a validated batch in one transaction. Anything else passes through untouched."""
    import pyarrow.parquet as pq

    if item.status != "validated" or item.staged_path is None:
        return LoadResult.passed_through(item)
    # Straight from the staged parquet to Arrow, only the fact columns: no pandas copy in the load.
    wanted = ["time_period" if c == "period_label" else c for c, _ in FACT_SPEC]
    frame = pq.read_table(item.staged_path, columns=wanted)
    try:
        counts = load_indicator_values(
            engine, item.batch_id, frame, indicator_upload_dates=item.landed.batch.upload_dates, timings=item.timings
        )
    except Exception as exc:
        audit.fail_batch(engine, item.batch_id, f"load failed, nothing loaded: {exc}")
        raise
    item.staged_path.unlink(missing_ok=True)
    return LoadResult.loaded(item, counts)


# 6. Summary -------------------------------------------------------------------------------------


def run_summary(engine: Engine, run_id: str | None) -> dict[str, Any]:
    """Batches of one Airflow run by status, with rows inserted/updated and any errors."""
    with engine.connect() as conn:
        totals = audit.status_totals(conn, SOURCE, run_id)
        problems = audit.problem_batches(conn, SOURCE, run_id)
    return {
        "batches": {t.status: t.batches for t in totals},
        "inserted": sum(t.inserted for t in totals),
        "updated": sum(t.updated for t in totals),
        "problems": [p._asdict() for p in problems],
    }
