"""Run a Great Expectations suite (JSON under include/expectations) against a staged frame.

A suite file is plain data::

    {"name": "...", "description": "...",
     "expectations": [{"type": "expect_...", "kwargs": {...},
                       "meta": {"severity": "error" | "warning", "description": "...", "fix": "...",
                                "why": "why this is an error (or only a warning)", "rule": "short_id"}}],
     "exceptions": [{"rule": "short_id", "indicator_id": 123, "reason": "...", "added_by": "..."}]}

An exception accepts one rule's failure for what it names (``apply_exceptions``): the failure is kept as a
warning that carries the reason.

``{"$PARAMETER": "name"}`` in kwargs takes a value supplied at run time (e.g. the area codes the
warehouse knows). An ``error`` failure blocks the batch; a ``warning`` is recorded and shown.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from public_health.config import PROJECT_ROOT

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = PROJECT_ROOT / "include" / "expectations"
MAX_EXAMPLES = 20
#: What every validation asks GX for: counts and up to MAX_EXAMPLES unexpected values, never whole rows.
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": MAX_EXAMPLES,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}


class SuiteError(ValueError):
    """A suite file is unreadable or names an unknown expectation."""


@dataclass
class ExpectationOutcome:
    index: int
    expectation: str
    column: str | None
    severity: str
    success: bool
    description: str
    fix: str | None
    kwargs: dict[str, Any]
    element_count: int | None = None
    unexpected_count: int | None = None
    observed_value: Any = None
    unexpected_examples: list[dict[str, Any]] = field(default_factory=list)
    rule: str | None = None
    why: str | None = None


@dataclass
class ValidationOutcome:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome]
    seconds: float

    @property
    def errors(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warning"]

    @property
    def passed(self) -> bool:
        """True when no error-severity expectation failed (warnings do not block)."""
        return not self.errors

    def summary(self) -> str:
        if self.passed and not self.warnings:
            return f"{self.suite}: all {len(self.outcomes)} checks passed on {self.rows} rows"
        parts = [
            f"{o.description} ({o.unexpected_count if o.unexpected_count is not None else 'failed'}"
            f"{' rows' if o.unexpected_count is not None else ''})"
            for o in self.errors + self.warnings
        ]
        head = f"{self.suite}: {len(self.errors)} error(s), {len(self.warnings)} warning(s) on {self.rows} rows"
        return head + ": " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "rows": self.rows,
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "outcomes": [asdict(o) for o in self.outcomes],
        }


def load_suite(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or EXPECTATIONS_DIR) / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SuiteError(f"{path}: suite file not found") from exc
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "expectations" not in data or "name" not in data:
        raise SuiteError(f"{path}: expected an object with 'name' and 'expectations'")
    for i, exp in enumerate(data["expectations"]):
        severity = exp.get("meta", {}).get("severity", "error")
        if severity not in ("error", "warning"):
            raise SuiteError(f"{path}: expectations[{i}].meta.severity: expected error or warning, got {severity!r}")
        if not exp.get("meta", {}).get("description"):
            raise SuiteError(f"{path}: expectations[{i}].meta.description: every check needs a plain description")
    for i, exc in enumerate(data.get("exceptions") or []):
        if not isinstance(exc, dict) or not exc.get("rule") or not str(exc.get("reason") or "").strip():
            raise SuiteError(f"{path}: exceptions[{i}]: an exception needs a rule and a reason")
    data["_path"] = str(path)
    return data


def apply_exceptions(outcome: ValidationOutcome, exceptions: list[dict[str, Any]], scope: dict[str, Any]) -> int:
    """Turn error failures that an exception accepts for ``scope`` (e.g. ``{"indicator_id": 93014}``) into
    warnings naming the exception's reason. An exception applies when its rule matches and every other key it
    names (besides reason and added_by) equals the scope's. Returns how many failures it accepted."""
    accepted = 0
    for o in outcome.outcomes:
        if o.success or o.severity != "error":
            continue
        for exc in exceptions:
            keys = {k: v for k, v in exc.items() if k not in ("rule", "reason", "added_by")}
            if exc.get("rule") == o.rule and all(scope.get(k) == v for k, v in keys.items()):
                o.severity = "warning"
                who = f", {exc['added_by']}" if exc.get("added_by") else ""
                o.description += f" [accepted by exception: {exc['reason']}{who}]"
                accepted += 1
                break
    return accepted


def _column_of(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    return None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()  # numpy scalars -> Python numbers, so reports read 1533.0, not np.float64(1533.0)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    try:
        json.dumps(value)
        return value
    except TypeError:
        if isinstance(value, (list, tuple, set)):
            return [_jsonable(v) for v in value]
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        return str(value)


#: One prepared Great Expectations context per suite file and its version (path, size, modification time),
#: for the life of the process: building the context and the suite's expectation objects costs far more
#: than validating a small frame, and each validation gets its frame through the batch parameters.
_PREPARED: dict[str, tuple[tuple[int, int], tuple[dict[str, Any], Any, Any]]] = {}


def _prepared(suite_name: str, directory: Path | None) -> tuple[dict[str, Any], Any, Any]:
    """(suite file data, GE suite, whole-dataframe batch definition) for the suite as it is on disk now."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    path = (directory or EXPECTATIONS_DIR) / f"{suite_name}.json"
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise SuiteError(f"{path}: suite file not found") from exc
    where, version = str(path.resolve()), (stat.st_size, stat.st_mtime_ns)
    if where in _PREPARED and _PREPARED[where][0] == version:
        return _PREPARED[where][1]
    suite_data = load_suite(suite_name, directory)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    expectations = []
    for i, exp in enumerate(suite_data["expectations"]):
        meta = {**exp.get("meta", {}), "index": i}
        try:
            config = ExpectationConfiguration(type=exp["type"], kwargs=exp.get("kwargs", {}), meta=meta)
            expectations.append(config.to_domain_obj())
        except Exception as exc:  # GE raises several types for unknown names and bad kwargs
            raise SuiteError(f"{suite_data['_path']}: expectations[{i}] ({exp.get('type')}): {exc}") from exc
    suite = context.suites.add(gx.ExpectationSuite(name=suite_data["name"], expectations=expectations))
    asset = context.data_sources.add_pandas("staged").add_dataframe_asset("frame")
    prepared = (suite_data, suite, asset.add_batch_definition_whole_dataframe("whole"))
    _PREPARED[where] = (version, prepared)   # the newest version of each suite file
    return prepared


def _columnar_rows(frame: Any) -> Any:
    """``frame`` as ``quality.columnar.TableRows`` when it is Arrow rows, else None (a pandas frame)."""
    if type(frame).__module__.startswith("pandas"):
        return None
    import pyarrow as pa

    from .columnar import TableRows

    if isinstance(frame, TableRows):
        return frame
    return TableRows(frame) if isinstance(frame, pa.Table) else None


def validate_frame(
    suite_name: str,
    frame: Any,
    parameters: dict[str, Any] | None = None,
    *,
    directory: Path | None = None,
    row_offset: int = 2,
    row_label: str = "line",
) -> ValidationOutcome:
    """Validate ``frame`` (pandas; or an Arrow table, or rows of one as ``quality.columnar.TableRows``) against
    the named suite.

    ``row_offset`` turns a frame index into the row a person finds in the source (2 for a CSV with
    a header line, so index 0 is line 2).

    Arrow rows are checked column-wise by :mod:`public_health.quality.columnar`, with Great Expectations'
    semantics and the same outcome, when it evaluates every expectation of the suite; otherwise (and for pandas)
    Great Expectations validates them.
    """
    started = time.perf_counter()
    columnar = _columnar_rows(frame)
    if columnar is not None:
        from .columnar import validate_table

        outcome = validate_table(load_suite(suite_name, directory), columnar, parameters, (row_offset, row_label))
        if outcome is not None:
            log.info("%s", outcome.summary())
            return outcome
        frame = columnar.to_pandas()
    suite_data, suite, batch_definition = _prepared(suite_name, directory)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        suite,
        expectation_parameters=parameters or {},
        result_format=RESULT_FORMAT,
    )

    outcomes: list[ExpectationOutcome] = []
    for r in result.results:
        meta = r.expectation_config.meta or {}
        i = int(meta.get("index", len(outcomes)))
        source = suite_data["expectations"][i]
        res = r.result or {}
        examples: list[dict[str, Any]] = []
        values = res.get("partial_unexpected_list") or []
        indices = res.get("partial_unexpected_index_list") or []
        if not indices and res.get("unexpected_index_list"):
            indices = res["unexpected_index_list"][:MAX_EXAMPLES]
        if not values and res.get("unexpected_list"):
            values = res["unexpected_list"][:MAX_EXAMPLES]
        for j, value in enumerate(values[:MAX_EXAMPLES]):
            example: dict[str, Any] = {"value": _jsonable(value)}
            if j < len(indices):
                idx = indices[j]
                if isinstance(idx, dict):  # GE names the index column when the frame's index has a name
                    name = frame.index.name or "index"
                    idx = idx.get(name, idx.get("index"))
                if isinstance(idx, bool):
                    pass
                elif isinstance(idx, int):
                    example[row_label] = idx + row_offset
                elif isinstance(idx, str):  # a frame indexed by location (e.g. "KPIs!F7")
                    example[row_label] = idx
            examples.append(example)
        error_text = None
        if r.exception_info and r.exception_info.get("raised_exception"):
            error_text = r.exception_info.get("exception_message")
        outcomes.append(
            ExpectationOutcome(
                index=i,
                expectation=source["type"],
                column=_column_of(source.get("kwargs", {})),
                severity=meta.get("severity", "error"),
                success=bool(r.success),
                description=meta["description"] + (f" [check could not run: {error_text}]" if error_text else ""),
                fix=meta.get("fix"),
                kwargs=_jsonable({k: v for k, v in source.get("kwargs", {}).items()}),
                element_count=res.get("element_count"),
                unexpected_count=res.get("unexpected_count"),
                observed_value=_jsonable(res.get("observed_value")),
                unexpected_examples=examples,
                rule=meta.get("rule"),
                why=meta.get("why"),
            )
        )
    outcomes.sort(key=lambda o: o.index)
    outcome = ValidationOutcome(suite_data["name"], len(frame), outcomes, time.perf_counter() - started)
    log.info("%s", outcome.summary())
    return outcome


#: Expectations whose verdict on a row rests on that row alone: over several frames' rows at once, each frame's
#: unexpected rows are exactly those it has on its own.
_ROW_BY_ROW = frozenset({
    "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between", "expect_column_values_to_be_null", "expect_column_values_to_not_be_null",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_value_lengths_to_be_between", "expect_column_value_lengths_to_equal",
    "expect_column_pair_values_a_to_be_greater_than_b", "expect_column_pair_values_to_be_equal",
    "expect_select_column_values_to_be_unique_within_record", "expect_multicolumn_sum_to_equal",
})
#: Expectations that compare rows with one another over a list of columns: scoped to each frame by adding a
#: column holding the frame's number to the list.
_ACROSS_ROWS = frozenset({"expect_compound_columns_to_be_unique"})

#: The one-pass suite derived from a prepared suite, per suite file (kept with the prepared suite it came from).
_FRAMES_SUITES: dict[str, tuple[Any, Any, dict[int, str]]] = {}


def validate_frames(
    suite_name: str,
    frames: Any,
    parameters: dict[str, Any] | None = None,
    *,
    directory: Path | None = None,
    row_offset: int = 2,
    row_label: str = "line",
) -> list[ValidationOutcome]:
    """Validate several frames (e.g. every file of a run) against the named suite in ONE Great Expectations pass,
    returning one outcome per frame, in order, each as :func:`validate_frame` gives it for that frame alone:
    the same checks, counts, examples (located in the frame's own index) and pass or fail. Its ``seconds`` is the
    frame's share of the pass.

    Building and running a suite costs far more than checking a small frame's rows, so the frames are stacked
    with their number and checked together: expectations that judge each row alone (:data:`_ROW_BY_ROW`) are
    split by frame afterwards; those comparing rows with each other (:data:`_ACROSS_ROWS`) are scoped to a frame
    by the number. A suite with any other expectation (or a ``mostly`` or ``row_condition``), frames whose
    checked columns differ in type, or a check that raises, is validated frame by frame with
    :func:`validate_frame` instead: never a different verdict, only a slower one.
    """
    import pandas as pd

    frames = list(frames)
    if len(frames) < 2:
        return [validate_frame(suite_name, f, parameters, directory=directory, row_offset=row_offset,
                               row_label=row_label) for f in frames]
    started = time.perf_counter()
    suite_data, suite, batch_definition = _prepared(suite_name, directory)
    one_pass = _one_pass_suite(suite_data, suite)
    columns = _checked_columns(suite_data)
    if one_pass is None or not all(isinstance(f, pd.DataFrame) for f in frames) or not all(
        c in f.columns and c in frames[0].columns and f[c].dtype == frames[0][c].dtype for f in frames for c in columns
    ):   # (Arrow rows go to validate_frame, which has its own way with them)
        return [validate_frame(suite_name, f, parameters, directory=directory, row_offset=row_offset,
                               row_label=row_label) for f in frames]
    derived, key_columns = one_pass[1], one_pass[2]
    stacked = pd.concat([f.reset_index(drop=True) for f in frames], ignore_index=True)
    starts = [0]
    for f in frames:
        starts.append(starts[-1] + len(f))
    number = pd.array([i for i, f in enumerate(frames) for _ in range(len(f))], dtype="Int64")
    extra = {}
    for i, key in key_columns.items():
        kwargs = suite_data["expectations"][i].get("kwargs", {})
        if kwargs.get("ignore_row_if", "all_values_are_missing") == "never":
            extra[key] = number
        else:   # a row whose listed columns are all missing stays ignored with its number beside them
            extra[key] = number.copy()
            extra[key][stacked[list(kwargs["column_list"])].isna().all(axis=1).to_numpy()] = pd.NA
    if extra:
        stacked = pd.concat([stacked, pd.DataFrame(extra, index=stacked.index)], axis=1)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": stacked})
    result = batch.validate(
        derived,
        expectation_parameters=parameters or {},
        result_format=RESULT_FORMAT,
    )
    if any(
        (r.exception_info and r.exception_info.get("raised_exception"))
        or len((r.result or {}).get("unexpected_index_list") or []) != ((r.result or {}).get("unexpected_count") or 0)
        for r in result.results
    ):   # a check that could not run, or rows GE did not place: each frame on its own says what it says
        return [validate_frame(suite_name, f, parameters, directory=directory, row_offset=row_offset,
                               row_label=row_label) for f in frames]

    per_frame: list[list[ExpectationOutcome]] = [[] for _ in frames]
    for r in result.results:
        meta = r.expectation_config.meta or {}
        i = int(meta["index"])
        source = suite_data["expectations"][i]
        res = r.result or {}
        found: list[list[int]] = [[] for _ in frames]   # each frame's unexpected rows, as stacked positions
        for idx in res.get("unexpected_index_list") or []:
            position = _position(idx)
            found[_frame_of(starts, position)].append(position)
        for n, frame in enumerate(frames):
            examples = []
            shown = found[n][:MAX_EXAMPLES]
            # GE lists at most 200 unexpected values a check; the rows' own values, as GE reads them, are complete
            for position, value in zip(shown, _unexpected_values(stacked, source.get("kwargs", {}), shown),
                                       strict=True):
                example: dict[str, Any] = {"value": _jsonable(value)}
                label = frame.index[position - starts[n]]
                if hasattr(label, "item") and not isinstance(label, (str, bool)):
                    label = label.item()   # numpy scalars, as Great Expectations hands them back
                if isinstance(label, bool):
                    pass
                elif isinstance(label, int):
                    example[row_label] = label + row_offset
                elif isinstance(label, str):
                    example[row_label] = label
                examples.append(example)
            per_frame[n].append(ExpectationOutcome(
                index=i,
                expectation=source["type"],
                column=_column_of(source.get("kwargs", {})),
                severity=meta.get("severity", "error"),
                success=not found[n],
                description=meta["description"],
                fix=meta.get("fix"),
                kwargs=_jsonable({k: v for k, v in source.get("kwargs", {}).items()}),
                element_count=len(frame) if "element_count" in res else None,
                unexpected_count=len(found[n]) if "unexpected_count" in res else None,
                observed_value=_jsonable(res.get("observed_value")),
                unexpected_examples=examples,
                rule=meta.get("rule"),
                why=meta.get("why"),
            ))
    share = (time.perf_counter() - started) / len(frames)
    outcomes = []
    for frame, found_outcomes in zip(frames, per_frame, strict=True):
        found_outcomes.sort(key=lambda o: o.index)
        outcome = ValidationOutcome(suite_data["name"], len(frame), found_outcomes, share)
        log.info("%s", outcome.summary())
        outcomes.append(outcome)
    return outcomes


def _one_pass_suite(suite_data: dict[str, Any], suite: Any) -> tuple[Any, Any, dict[int, str]] | None:
    """(the prepared suite it derives from, the suite for one pass over stacked frames, expectation index ->
    the frame-number column it lists), built once per prepared suite; None when the suite cannot be split."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    cached = _FRAMES_SUITES.get(suite_data["_path"])
    if cached is not None and cached[0] is suite:
        return cached
    expectations, keys = [], {}
    taken = _checked_columns(suite_data)
    for i, exp in enumerate(suite_data["expectations"]):
        kwargs = dict(exp.get("kwargs", {}))
        if exp["type"] not in _ROW_BY_ROW | _ACROSS_ROWS or "row_condition" in kwargs:
            return None
        if kwargs.get("mostly", 1) != 1:
            return None
        if exp["type"] in _ACROSS_ROWS:
            keys[i] = next(name for n in range(len(taken) + 1) if (name := f"__frame_{i}_{n}") not in taken)
            kwargs["column_list"] = [*kwargs["column_list"], keys[i]]
        meta = {**exp.get("meta", {}), "index": i}
        expectations.append(ExpectationConfiguration(type=exp["type"], kwargs=kwargs, meta=meta).to_domain_obj())
    derived = (suite, gx.ExpectationSuite(name=f"{suite_data['name']}__frames", expectations=expectations), keys)
    _FRAMES_SUITES[suite_data["_path"]] = derived
    return derived


def _checked_columns(suite_data: dict[str, Any]) -> list[str]:
    """Every column a suite's expectations name."""
    names: list[str] = []
    for exp in suite_data["expectations"]:
        kwargs = exp.get("kwargs", {})
        for key in ("column", "column_A", "column_B"):
            if isinstance(kwargs.get(key), str):
                names.append(kwargs[key])
        names.extend(c for c in kwargs.get("column_list") or [] if isinstance(c, str))
    return list(dict.fromkeys(names))


def _unexpected_values(stacked: Any, kwargs: dict[str, Any], positions: list[int]) -> list[Any]:
    """The values Great Expectations reports for unexpected rows at ``positions`` of ``stacked``, built as its
    pandas engine builds them: a column's values, (A, B) pairs, or records of the listed columns."""
    if not positions:
        return []
    rows = stacked.iloc[positions]
    if "column" in kwargs:
        return list(rows[kwargs["column"]])
    if "column_A" in kwargs:
        return list(zip(rows[kwargs["column_A"]].values, rows[kwargs["column_B"]].values, strict=True))
    return rows[list(kwargs["column_list"])].to_dict("records")


def _position(idx: Any) -> int:
    """A stacked frame's row number as Great Expectations reports an unexpected row's index."""
    if isinstance(idx, dict):
        idx = idx.get("index")
    return int(idx)


def _frame_of(starts: list[int], position: int) -> int:
    """Which stacked frame holds row ``position`` (``starts``: each frame's first row, then the total)."""
    import bisect

    return bisect.bisect_right(starts, position) - 1
