"""The nightly Fingertips refresh, step by step.

sync_metadata -> select_batches -> download_batch -> validate_batch -> load_batch -> summarise

Each step takes and returns the records of :mod:`public_health.pipelines.records` (``FingertipsBatch`` ->
``LandedFile`` -> ``ValidatedBatch`` -> ``LoadResult``; the DAG passes them between tasks as XCom with
``to_dict()``); rows travel between steps as files: the landing CSV (raw, kept) and, per validated indicator, a
staged Arrow file of its fact columns. From the landed CSV to the warehouse the rows stay columnar (Arrow): parsed
once with their types, cut per indicator without copying, staged and gated column-wise, and bulk-loaded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from public_health.config import Settings, config_dir, load_indicator_sets
from public_health.pipelines.records import FingertipsBatch, LandedFile, LoadResult, ValidatedBatch
from public_health.warehouse import audit
from public_health.warehouse.audit import NO_ROWS, BatchCounts, BatchEnd, BatchSource, RunContext
from public_health.warehouse.bulk import kept_open
from public_health.warehouse.phof import (
    FACT_SPEC,
    known_area_codes,
    load_indicator_values,
    record_loaded_upload,
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
    """A refresh step cannot go on; the message says why and what to do. Retrying cannot help (``permanent``)."""

    permanent = True


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
    audit as unchanged without being downloaded; an indicator Fingertips gives no upload date (it has no
    data) is not due until it has one.
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
        # Fingertips gives no last upload date for an indicator it has no data for: nothing to download until it
        # has one (a no-change night makes no data request); full_refresh or indicator_ids still ask for it.
        published, loaded = tracked[i]
        return full_refresh or (published is not None and (loaded is None or published > loaded))

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


# 4. Stage and validate, one indicator at a time -----------------------------------------------------

#: What a person can do about a quarantined indicator (the report lists it; each failed rule adds its own fix).
WHAT_TO_DO = (
    "Nothing else waits for this indicator: the other indicators of the download loaded (or were held) on "
    "their own.",
    "Wait for the publisher's correction: the indicator stays held in quarantine while its content is the same "
    "(later runs say so and stay green) and loads on the first night its content changes.",
    "If the rows are right as published, accept them: add an entry to `exceptions` in "
    "include/expectations/fingertips_indicator_values.json naming the rule, the indicator id and the reason.",
    "Otherwise report it to the Fingertips team with the indicator's rows, kept beside this report.",
)


def unit_url(settings: Settings, indicator_id: int) -> str:
    """The all_data URL of one indicator for the configured area types: the unit loads, quarantines and holds are
    recorded against (``audit.load_batch.source_ref``), whatever batch it was downloaded in."""
    return all_data_url(settings, [indicator_id])


@dataclass(frozen=True)
class _Gate:
    """What checking one indicator of a landed batch needs besides its rows."""

    settings: Settings
    engine: Engine
    landed: LandedFile
    run: RunContext
    known_areas: list[str]
    timings: Mapping[str, float]
    #: (batch id, gate outcome) of each indicator validated so far: recorded together when the batch is done.
    checked: list[tuple[int, Any]] = field(default_factory=list)


def validate_batch(settings: Settings, engine: Engine, landed: LandedFile, run: RunContext) -> list[ValidatedBatch]:
    """Parse the landed CSV once, then stage, hash and gate each indicator on its own: one result per indicator
    (validated, unchanged, held, quarantined or failed), so one bad indicator never holds back the others."""
    from public_health.fingertips.parse import FingertipsParseError, read_all_data_csv
    from public_health.fingertips.staging import IndicatorRows, split_by_indicator

    path, url = landed.landing_path, landed.batch.url
    with kept_open(engine):
        t = time.perf_counter()
        with engine.connect() as conn:
            known = known_area_codes(conn)
        try:
            table = read_all_data_csv(path, source_url=url, strict=False)
        except FingertipsParseError as exc:
            gate = _Gate(settings, engine, landed, run, known, {"download_s": landed.download_s,
                                                               "parse_s": time.perf_counter() - t})
            # The file as a whole cannot be read: every indicator it holds is quarantined with the same error, and
            # the file's own hash is each one's content (the same file tomorrow is still held, not a new problem).
            return [_quarantine_unreadable(gate, i, f"{exc} (from {url})") for i in landed.batch.indicator_ids]
        gate = _Gate(settings, engine, landed, run, known, {"download_s": landed.download_s,
                                                            "parse_s": round(time.perf_counter() - t, 3)})
        groups = {g.indicator_id: g for g in split_by_indicator(table)}
        empty = table.slice(0, 0)
        found = sorted(i for i in groups if i is not None)
        del table   # each indicator's rows are slices of it (or copies, when its lines are not together)
        results = []
        try:
            for i in sorted(set(landed.batch.indicator_ids) | set(found)):
                # popped: nothing holds an indicator's rows once it is checked (its staged file has what loads)
                results.append(_check_indicator(gate, groups.pop(i, None) or IndicatorRows(i, empty, np.arange(0))))
            if None in groups:
                results.append(_check_indicator(gate, groups.pop(None)))
        finally:
            if gate.checked:   # the validated indicators' check results, in one transaction
                with engine.begin() as conn:
                    for batch_id, outcome in gate.checked:
                        audit.record_dq(conn, batch_id, outcome)
    return results


def _source(gate: _Gate, indicator_id: int | None, content: str | None) -> BatchSource:
    landed = gate.landed
    ref = unit_url(gate.settings, indicator_id) if indicator_id is not None else f"{landed.batch.url}#no-indicator-id"
    details = {"batch_url": landed.batch.url, "batch_indicator_ids": list(landed.batch.indicator_ids),
               "size_bytes": landed.size_bytes}
    return BatchSource(SOURCE, ref, landed.sha256, str(landed.landing_path), details, indicator_id, content)


def _held_or_unchanged(
    gate: _Gate, indicator_id: int | None, content: str, legacy: Callable[[], str] | None = None
) -> ValidatedBatch | None:
    """Record the indicator as held (content already quarantined) or unchanged (content already loaded).

    ``legacy`` gives the content's hash as recorded before the typed hash: asked only when the hash on record is
    neither, so that content recorded then is still recognised (it is recorded with the current hash from now)."""
    source = _source(gate, indicator_id, content)
    with gate.engine.connect() as conn:
        state = audit.indicator_state(conn, SOURCE, source.source_ref)
    same = {content}
    recorded = {state.loaded_content, state.held.content_sha256 if state.held is not None else None} - {None}
    if recorded and not recorded & same and legacy is not None:
        same.add(legacy())
    if state.held is not None and state.held.content_sha256 in same:
        held = state.held
        batch_id = audit.start_batch(gate.engine, source, gate.run)
        why = (f"still held in quarantine since {held.since:%Y-%m-%d %H:%M %Z} (batch {held.batch_id}): content "
               f"unchanged; {held.error_summary or ''}").strip()
        with gate.engine.begin() as conn:
            audit.finish_batch(conn, batch_id, BatchEnd("quarantined", NO_ROWS, error_summary=why[:4000],
                                                        report_path=held.report_path, timings=gate.timings,
                                                        held_since=held.since))
        log.warning("indicator %s: %s (report: %s)", indicator_id, why, held.report_path)
        return ValidatedBatch(gate.landed, "held", batch_id, report=_path_or_none(held.report_path), error=why,
                              timings=gate.timings, indicator_id=indicator_id, content_sha256=content)
    if state.loaded_content in same and state.held is None:
        batch_id = audit.start_batch(gate.engine, source, gate.run)
        with gate.engine.begin() as conn:
            if indicator_id is not None:
                record_loaded_upload(conn, indicator_id, gate.landed.batch.upload_dates.get(indicator_id))
            audit.finish_batch(conn, batch_id, BatchEnd("unchanged", NO_ROWS, timings=gate.timings))
        log.info("indicator %s: content %s… is what was last loaded: nothing to do", indicator_id, content[:12])
        return ValidatedBatch(gate.landed, "unchanged", batch_id, timings=gate.timings, indicator_id=indicator_id,
                              content_sha256=content)
    return None


def _path_or_none(text: str | None) -> Path | None:
    return None if not text else Path(text)


def _quarantine_unreadable(gate: _Gate, indicator_id: int, error: str) -> ValidatedBatch:
    content = gate.landed.sha256
    known = _held_or_unchanged(gate, indicator_id, content)
    if known is not None:
        return known
    batch_id = audit.start_batch(gate.engine, _source(gate, indicator_id, content), gate.run)
    return _send_to_quarantine(gate, (indicator_id, batch_id, content), error, None)


def _send_to_quarantine(
    gate: _Gate, unit: tuple[int | None, int, str], error: str | None, outcome: Any
) -> ValidatedBatch:
    from public_health.fingertips.parse import write_indicator_rows
    from public_health.quality.quarantine import QuarantineSource, quarantine

    indicator_id, batch_id, content = unit
    landed = gate.landed
    raw = landed.landing_path
    scope = f"indicator {indicator_id}" if indicator_id is not None else "rows without an indicator id"
    if indicator_id is not None and raw.exists():
        rows_dir = gate.settings.quarantine_dir / SOURCE / ".rows"
        raw = write_indicator_rows(raw, indicator_id, rows_dir / f"{content[:16]}-indicator-{indicator_id}.csv")
    report = quarantine(
        raw,
        gate.settings.quarantine_dir,
        QuarantineSource(SOURCE, _source(gate, indicator_id, content).source_ref, content, batch_id,
                         default_fix=WHAT_TO_DO[1], scope=scope),
        outcome=outcome,
        error=error,
        extra={"indicator_id": indicator_id, "download_url": landed.batch.url, "raw_file_sha256": landed.sha256,
               "landing_path": str(landed.landing_path), "what_to_do": list(WHAT_TO_DO)},
    )
    if raw != landed.landing_path:
        raw.unlink(missing_ok=True)
    summary = (error or outcome.summary())
    summary = f"indicator {indicator_id}: {summary}" if indicator_id is not None else summary
    with gate.engine.begin() as conn:
        if outcome is not None:
            audit.record_dq(conn, batch_id, outcome)
        audit.finish_batch(conn, batch_id, BatchEnd("quarantined", BatchCounts(read=outcome.rows if outcome else None),
                                                    error_summary=summary[:4000], report_path=str(report),
                                                    timings=gate.timings))
    log.error("%s quarantined (batch %s): %s (report: %s)", scope, batch_id, summary, report)
    return ValidatedBatch(landed, "quarantined", batch_id, report=report, error=summary, timings=gate.timings,
                          indicator_id=indicator_id, content_sha256=content)


def _check_indicator(gate: _Gate, rows: Any) -> ValidatedBatch:
    """Hash, stage and gate one indicator's rows (``fingertips.staging.IndicatorRows``)."""
    from public_health.fingertips.parse import describe_missing_rows
    from public_health.fingertips.staging import content_sha256, legacy_content_sha256, stage_table
    from public_health.quality.columnar import TableRows
    from public_health.quality.gate import apply_exceptions, load_suite, validate_frame

    landed, indicator_id, table = gate.landed, rows.indicator_id, rows.table
    if table.num_rows == 0 and indicator_id is not None:
        upload = landed.batch.upload_dates.get(indicator_id)
        source = _source(gate, indicator_id, None)
        batch_id = audit.start_batch(gate.engine, source, gate.run)
        if upload is None:   # Fingertips lists no data for it: nothing to load, nothing wrong
            with gate.engine.begin() as conn:
                audit.finish_batch(conn, batch_id, BatchEnd("unchanged", NO_ROWS, timings=gate.timings))
            return ValidatedBatch(landed, "unchanged", batch_id, timings=gate.timings, indicator_id=indicator_id)
        error = describe_missing_rows(table, indicator_id, landed.landing_path, landed.batch.url)
        audit.fail_batch(gate.engine, batch_id, error, timings=gate.timings)
        log.error("indicator %s: %s", indicator_id, error)
        return ValidatedBatch(landed, "failed", batch_id, error=error, timings=gate.timings, indicator_id=indicator_id)

    timings = dict(gate.timings)
    t = time.perf_counter()
    published = [c for c in table.column_names if c != "unparsed_fields"]
    content = content_sha256(table, published)
    timings["hash_s"] = round(time.perf_counter() - t, 3)
    known = _held_or_unchanged(gate, indicator_id, content, lambda: legacy_content_sha256(table, published))
    if known is not None:
        return known
    batch_id = audit.start_batch(gate.engine, _source(gate, indicator_id, content), gate.run)
    t = time.perf_counter()
    staged_table = stage_table(table)
    timings["stage_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    requested = [int(i) for i in landed.batch.indicator_ids]
    outcome = validate_frame(SUITE, TableRows(staged_table, rows.positions),
                             {"known_area_codes": gate.known_areas, "requested_indicator_ids": requested})
    apply_exceptions(outcome, load_suite(SUITE).get("exceptions") or [], {"indicator_id": indicator_id})
    timings["validate_s"] = round(time.perf_counter() - t, 3)
    gate = replace(gate, timings=timings)
    if not outcome.passed:
        return _send_to_quarantine(gate, (indicator_id, batch_id, content), None, outcome)

    staged = gate.settings.data_dir / "staging" / SOURCE / f"{content[:16]}-{indicator_id}.arrow"
    write_staged(staged, staged_table.select(STAGED_COLUMNS))
    gate.checked.append((batch_id, outcome))
    return ValidatedBatch(landed, "validated", batch_id, staged_path=staged, rows=table.num_rows,
                          warnings=len(outcome.warnings), timings=timings, indicator_id=indicator_id,
                          content_sha256=content)


#: The columns of a staged file: what the load takes (the fact columns, the period label as published).
STAGED_COLUMNS = ["time_period" if c == "period_label" else c for c, _ in FACT_SPEC]


def write_staged(path: Path, table: Any) -> Path:
    """Write ``table`` (Arrow) as an uncompressed Arrow IPC file: written and mapped back at memory speed."""
    import pyarrow as pa

    path.parent.mkdir(parents=True, exist_ok=True)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def read_staged(path: Path) -> Any:
    """A staged file as an Arrow table (memory-mapped: no copy until the load reads it)."""
    import pyarrow as pa

    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()


# 5. Load ----------------------------------------------------------------------------------------


def load_batch(settings: Settings, engine: Engine, item: ValidatedBatch) -> LoadResult:
    """Load one validated indicator in one transaction. Anything else passes through untouched. A failed load is
    recorded in audit, then raised."""
    if item.status != "validated" or item.staged_path is None:
        return LoadResult.passed_through(item)
    # Straight from the staged file to Arrow, only the fact columns: no pandas in the load.
    frame = read_staged(item.staged_path)
    upload_dates = item.landed.batch.upload_dates
    if item.indicator_id is not None:   # only this indicator's last-upload date may advance
        upload_dates = {item.indicator_id: upload_dates.get(item.indicator_id)}
    try:
        counts = load_indicator_values(
            engine, item.batch_id, frame, indicator_upload_dates=upload_dates, timings=item.timings
        )
    except Exception as exc:
        audit.fail_batch(engine, item.batch_id, f"indicator {item.indicator_id}: load failed, nothing loaded: {exc}")
        raise
    del frame
    item.staged_path.unlink(missing_ok=True)
    return LoadResult.loaded(item, counts)


def load_indicators(settings: Settings, engine: Engine, items: list[ValidatedBatch]) -> list[LoadResult]:
    """Load each validated indicator in its own transaction; a failure is recorded (audit and result) and the
    others still load. The caller fails the task when any result is ``failed``."""
    results = []
    with kept_open(engine):
        for item in items:
            try:
                results.append(load_batch(settings, engine, item))
            except Exception as exc:  # recorded in audit by load_batch; the other indicators go on
                log.exception("indicator %s: load failed", item.indicator_id)
                results.append(LoadResult(item, "failed", error=f"indicator {item.indicator_id}: {exc}"))
    return results


# 6. Summary -------------------------------------------------------------------------------------


def run_summary(engine: Engine, run_id: str | None) -> dict[str, Any]:
    """Load attempts of one Airflow run by status, with rows inserted/updated, what newly failed or was
    quarantined in it (``problems``: these fail the run) and every indicator still held in quarantine, with
    since when (``held``: reported, not failing the run again)."""
    with engine.connect() as conn:
        totals = audit.status_totals(conn, SOURCE, run_id)
        problems = audit.problem_batches(conn, SOURCE, run_id)
        held = audit.held_indicators(conn, SOURCE)
    return {
        "batches": {t.status: t.batches for t in totals},
        "inserted": sum(t.inserted for t in totals),
        "updated": sum(t.updated for t in totals),
        "problems": [p._asdict() for p in problems],
        "held": [
            {
                "indicator_id": h.indicator_id,
                "since": h.since.isoformat(),
                "batch_id": h.batch_id,
                "error_summary": h.error_summary,
                "report_path": h.report_path,
            }
            for h in held
        ],
    }


def held_lines(summary: dict[str, Any]) -> list[str]:
    """One line per indicator held in quarantine, for logs and the run's summary."""
    return [
        f"indicator {h['indicator_id']} held in quarantine since {h['since']} (batch {h['batch_id']}; report: "
        f"{h['report_path']})"
        for h in summary.get("held") or []
    ]
