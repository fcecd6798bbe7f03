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


def validate_frame(
    suite_name: str,
    frame: Any,
    parameters: dict[str, Any] | None = None,
    *,
    directory: Path | None = None,
    row_offset: int = 2,
    row_label: str = "line",
) -> ValidationOutcome:
    """Validate ``frame`` (pandas) against the named suite.

    ``row_offset`` turns a frame index into the row a person finds in the source (2 for a CSV with
    a header line, so index 0 is line 2).
    """
    started = time.perf_counter()
    suite_data, suite, batch_definition = _prepared(suite_name, directory)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        suite,
        expectation_parameters=parameters or {},
        result_format={
            "result_format": "COMPLETE",
            "partial_unexpected_count": MAX_EXAMPLES,
            "include_unexpected_rows": False,
            "return_unexpected_index_query": False,
        },
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
