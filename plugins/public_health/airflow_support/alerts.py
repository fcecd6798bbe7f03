"""Alerts: one message per failed task, and one digest per run of what did not load or has not arrived.

- :func:`failure_notifier` is a task ``on_failure_callback``: it says what failed (DAG, task, the map label of a
  mapped task), for which file, indicator or quarter, the error in one line, what to do, and links to the task's
  log. As ``on_retry_callback`` (:func:`alert_default_args` sets both) it only logs the task's last line.
- :func:`send_run_digest` is called by a DAG's summary task with the run's summary
  (``pipelines.provider_returns.run_summary`` or ``pipelines.fingertips_refresh.run_summary``) and, for returns,
  the return tracker (:func:`return_tracker`): one message listing every file or indicator quarantined in the run
  (its report and first error), the returns late or missing by service and the indicators still held. Nothing is
  sent when there is nothing to report. Late, missing and held items are standing conditions: each starts a
  digest once (remembered in ``<data_dir>/alerts/<dag_id>.reported.json``) and is listed again in later digests,
  so a run every 30 minutes does not repeat the same news.

Both are emailed through the SMTP provider's :class:`SmtpHook` when the Airflow connection ``alerts.smtp_conn_id``
exists and ``alerts.recipients`` is not empty (``config/settings.yaml``); otherwise the same text is logged at
ERROR in the task's log. The hook is used directly rather than ``SmtpNotifier``, which renders subject and body as
Jinja templates and would trip over an error message holding ``{{``.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseNotifier

from public_health.airflow_support.watcher import WATCHER_TASK_ID
from public_health.config import AlertSettings, Settings

if TYPE_CHECKING:   # runtime brings the warehouse (SQLAlchemy): DAG files import this module, so not at parse time
    from public_health.airflow_support.runtime import FailureReport, TaskWhere

log = logging.getLogger(__name__)

#: Runs (dag_id, run_id) whose digest went out from this process: the summary task's own failure (it fails when
#: anything was quarantined) is then not alerted a second time.
_DIGESTED: set[tuple[str | None, str | None]] = set()
_URL = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class Alert:
    """One message: a subject and a plain-text body (mailed as HTML that keeps its lines, links clickable)."""

    subject: str
    body: str

    @property
    def text(self) -> str:
        """What is logged when it is not mailed: the subject, a blank line, the body."""
        return f"{self.subject}\n\n{self.body}"

    def html(self) -> str:
        def link(m: re.Match[str]) -> str:
            url = m.group(0)
            return f'<a href="{url}">{url}</a>'

        escaped = _URL.sub(link, html.escape(self.body, quote=False))
        return f'<pre style="font-family: Consolas, Menlo, monospace; white-space: pre-wrap">{escaped}</pre>'


# Links ------------------------------------------------------------------------------------------------------


def _base_url() -> str:
    from airflow.sdk import conf

    return (conf.get("api", "base_url", fallback=None) or "http://localhost:8080/").rstrip("/")


def run_url(dag_id: str | None, run_id: str | None) -> str:
    """The run's page in the Airflow 3 UI (route ``dags/:dagId/runs/:runId``), from ``[api] base_url``."""
    return f"{_base_url()}/dags/{quote(dag_id or '', safe='')}/runs/{quote(run_id or '', safe='')}"


def task_log_url(where: TaskWhere) -> str:
    """The task instance's log in the Airflow 3 UI: ``dags/:dagId/runs/:runId/tasks/:taskId`` (its index tab is the
    log), ``/mapped/:mapIndex`` for a mapped task, ``?try_number=`` for the attempt (as Airflow's own
    ``TaskInstance.log_url`` builds it)."""
    url = f"{run_url(where.dag_id, where.run_id)}/tasks/{quote(where.task_id or '', safe='')}"
    if where.map_index >= 0:
        url += f"/mapped/{where.map_index}"
    if where.try_number:
        url += f"?try_number={where.try_number}"
    return url


# Delivery ---------------------------------------------------------------------------------------------------


def smtp_configured(conn_id: str) -> bool:
    """Whether the Airflow connection ``conn_id`` exists (environment, secrets backend or metadata database)."""
    from airflow.sdk import Connection

    try:
        Connection.get(conn_id)
    except Exception as exc:   # AirflowNotFoundException, or no way to ask: treated as not configured
        if type(exc).__name__ != "AirflowNotFoundException":
            log.warning("could not look up the Airflow connection %r (%s): alerts are logged only", conn_id, exc)
        return False
    return True


def _send(alert: Alert, cfg: AlertSettings) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook
    from airflow.sdk import conf

    with SmtpHook(smtp_conn_id=cfg.smtp_conn_id) as hook:
        sender = cfg.from_email or hook.from_email or conf.get("email", "from_email", fallback=None)
        hook.send_email_smtp(
            to=list(cfg.recipients), subject=alert.subject, html_content=alert.html(),
            from_email=sender or "airflow@localhost",
        )


def _alert_settings(settings: Settings | None) -> AlertSettings | None:
    if settings is not None:
        return settings.alerts
    from public_health.airflow_support.runtime import task_settings

    try:
        return task_settings().alerts
    except Exception as exc:  # the failure may be the configuration itself: log the alert
        log.warning("settings could not be read (%s): the alert is logged only", exc)
        return None


def deliver(alert: Alert, settings: Settings | None = None) -> list[str]:
    """Email ``alert`` to ``alerts.recipients`` through the SMTP connection, or, when there is no connection, no
    recipient or the mail cannot be sent, log its text at ERROR. Returns the addresses it was sent to."""
    cfg = _alert_settings(settings)
    if cfg is None:
        why = "settings could not be read"
    elif not cfg.recipients:
        why = "alerts.recipients is empty"
    elif not smtp_configured(cfg.smtp_conn_id):
        why = f"no Airflow connection {cfg.smtp_conn_id!r}"
    else:
        try:
            _send(alert, cfg)
        except Exception as exc:  # a mail server down must not lose the alert: it goes to the log
            why = f"sending through {cfg.smtp_conn_id!r} failed: {type(exc).__name__}: {exc}"
        else:
            log.info("alert emailed to %s: %s", ", ".join(cfg.recipients), alert.subject)
            return list(cfg.recipients)
    log.error("%s", alert.text)
    log.warning("alert not emailed (%s)", why)
    return []


# Failure alerts ---------------------------------------------------------------------------------------------


def _prefix(settings: Settings | None) -> str:
    cfg = _alert_settings(settings)
    return (cfg.subject_prefix if cfg else AlertSettings().subject_prefix).strip()


def failure_alert(report: FailureReport, settings: Settings | None = None) -> Alert:
    """The message for one failed task (:func:`~public_health.airflow_support.runtime.describe_failure`)."""
    w = report.where
    task = w.task_id or "?"
    if w.map_index >= 0:
        task += f" [{w.label}] (map index {w.map_index})" if w.label else f" (map index {w.map_index})"
    lines = [
        f"A task failed in {w.dag_id}.",
        "",
        f"DAG:         {w.dag_id}",
        f"Task:        {task}",
        f"Run:         {w.run_id}",
    ]
    if w.try_number:
        lines.append(f"Try:         {w.try_number} of {(w.max_tries or 0) + 1}")
    lines += [
        f"For:         {report.subject}",
        f"Error:       {report.error}",
        f"What to do:  {report.what_to_do}",
        f"Task log:    {task_log_url(w)}",
        f"Run page:    {run_url(w.dag_id, w.run_id)}",
        "",
        "The task's log ends with:",
        report.line,
    ]
    subject = f"{_prefix(settings)} FAILED {w.name}: {report.subject}"
    return Alert(subject if len(subject) <= 200 else subject[:197] + "...", "\n".join(lines))


class FailureNotifier(BaseNotifier):
    """A task callback. ``on="failure"`` (an ``on_failure_callback``): emails (or logs) the failure alert, then logs
    the task's one-line summary, after Airflow's traceback, as the log's last line. ``on="retry"`` (an
    ``on_retry_callback``): logs that line only. The watcher's failure (it fails whenever another task did) and a
    summary task's failure over problems its run's digest already listed are not alerted again."""

    def __init__(self, on: str = "failure") -> None:
        if on not in ("failure", "retry"):
            raise ValueError(f"on must be 'failure' or 'retry', not {on!r}")
        super().__init__()
        self.on = on

    def notify(self, context: Any) -> None:
        from public_health.airflow_support.runtime import describe_failure, task_where

        exc = context.get("exception")
        if not isinstance(exc, BaseException):
            exc = RuntimeError(str(exc) if exc else "the task ended as failed without raising (killed or timed out?)")
        try:
            report = describe_failure(exc, task_where(context))
        except Exception:   # never lose the failure for a fault in telling it
            log.exception("could not describe the failure; the task failed with %s: %s", type(exc).__name__, exc)
            raise
        if self.on == "retry":
            log.warning("%s", report.line)
            return
        where = report.where
        if where.task_id == WATCHER_TASK_ID:
            log.info("not alerted: the watcher fails because another task of the run failed, which was alerted")
        elif getattr(exc, "problems", None) and (where.dag_id, where.run_id) in _DIGESTED:
            log.info("not alerted again: this run's digest lists these problems")
        else:
            deliver(failure_alert(report))
        log.error("%s", report.line)


def failure_notifier() -> FailureNotifier:
    """The ``on_failure_callback`` for every task: ``default_args={..., "on_failure_callback": failure_notifier()}``."""
    return FailureNotifier("failure")


def alert_default_args() -> dict[str, Any]:
    """Both callbacks for a DAG's ``default_args``: alerts on failure, and the one-line summary as the last line of
    the log of an attempt that will be retried."""
    return {"on_failure_callback": FailureNotifier("failure"), "on_retry_callback": FailureNotifier("retry")}


# Run digests ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    keys: frozenset[str]   # what a standing condition is remembered by (none for a problem of this run: news)
    kind: str              # quarantined, failed, late, missing, held
    text: str

    def news(self, reported: frozenset[str]) -> bool:
        return not self.keys or not self.keys <= reported


def _place(example: Mapping[str, Any]) -> list[str]:
    bits = []
    for key, value in example.items():
        if key == "value":
            continue
        if key == "cell" and isinstance(value, str) and "!" in value:
            sheet, cell = value.rsplit("!", 1)
            row = re.search(r"(\d+)$", cell)
            bits += [f"sheet {sheet}", f"cell {cell}" + (f" (row {row.group(1)})" if row else "")]
        else:
            bits.append(f"{key} {value}")
    return bits


def first_error(report_path: str | None, fallback: str | None = None) -> str:
    """The first error of a quarantine report (``report.json`` beside ``report.md``): the reading error, which
    names file, sheet and cell or line, or the first failed check with where its first failing row is."""
    data: dict[str, Any] = {}
    if report_path:
        try:
            data = json.loads(Path(report_path).with_name("report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
    if data.get("error"):
        return _one(str(data["error"]))
    outcomes = (data.get("validation") or {}).get("outcomes") or []
    failed = [o for o in outcomes if not o.get("success") and o.get("severity") == "error"]
    if not failed:
        return _one(fallback or "see the report")
    o = failed[0]
    example = (o.get("unexpected_examples") or [{}])[0]
    where = _place(example)
    if o.get("column") and not any(b.startswith("cell ") for b in where):
        where.append(f"column {o['column']}")
    text = o.get("description") or o.get("expectation") or "a check failed"
    if where:
        text += " at " + ", ".join(where)
    if "value" in example:
        text += f": {example['value']!r}"
    if o.get("unexpected_count"):
        text += f" ({o['unexpected_count']} row(s) in all)"
    return text


def _one(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_INDICATOR = re.compile(r"\bindicator[ -](\d+)\b")


def _indicator(problem: Mapping[str, Any]) -> str:
    for text in (problem.get("error_summary"), problem.get("report_path"), problem.get("source_ref")):
        m = _INDICATOR.search(str(text or ""))
        if m:
            return f"indicator {m.group(1)}"
    return str(problem.get("source_ref"))


def _problem_items(summary: Mapping[str, Any], fingertips: bool) -> list[_Item]:
    items = []
    for p in summary.get("problems") or []:
        name = _indicator(p) if fingertips else str(p.get("source_ref"))
        if p.get("status") == "quarantined":
            text = f"{name}\n     first error: {first_error(p.get('report_path'), p.get('error_summary'))}"
            text += f"\n     report: {p.get('report_path')}"
        else:
            error = _one(str(p.get("error_summary") or "no error recorded"))
            text = error if error.startswith(f"{name}: ") else f"{name}: {error}"
        items.append(_Item(frozenset(), str(p.get("status")), text))
    return items


def _held_key(held: Mapping[str, Any]) -> str:
    return f"held|{held.get('indicator_id')}|{held.get('since')}"


def _held_items(summary: Mapping[str, Any]) -> list[_Item]:
    """Indicators held from earlier runs (one quarantined in this run is listed with the run's problems)."""
    new = {p.get("batch_id") for p in summary.get("problems") or []}
    return [
        _Item(frozenset({_held_key(h)}), "held",
              f"indicator {h['indicator_id']} held since {h['since']} (batch {h['batch_id']}; report: "
              f"{h.get('report_path')})")
        for h in summary.get("held") or [] if h.get("batch_id") not in new
    ]


def _day(value: Any) -> str:
    return value.date().isoformat() if hasattr(value, "date") and callable(value.date) else str(value)


def _tracker_items(tracker: Iterable[Mapping[str, Any]]) -> list[_Item]:
    """One item per service and status (late, missing), naming each quarter with its due date."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in tracker:
        if r.get("status") in ("late", "missing"):
            groups.setdefault((str(r["status"]), str(r.get("service_code"))), []).append(r)
    items = []
    for (status, code), rows in sorted(groups.items(), key=lambda g: (g[0][1], g[0][0])):
        rows = sorted(rows, key=lambda r: str(r.get("quarter")))
        who = "; ".join(str(x) for x in (rows[0].get("service_name"), rows[0].get("provider_name")) if x)
        quarters = ", ".join(
            f"{r.get('quarter')} due {_day(r.get('due_date'))}"
            + (f", received {_day(r.get('received_at'))}" if status == "late" else "")
            for r in rows
        )
        keys = frozenset(f"{status}|{code}|{r.get('quarter')}" for r in rows)
        items.append(_Item(keys, status, f"{code}" + (f" ({who})" if who else "") + f": {quarters}"))
    return items


_HEADINGS = {
    "quarantined": "Quarantined in this run (nothing of them was loaded; each report lists every failure with where "
                   "it is, the rule and the fix)",
    "failed": "Failed in this run (an unexpected error, recorded in audit.load_batch)",
    "late": "Late returns (received after the due date), by service",
    "missing": "Missing returns (past the due date, nothing received), by service",
    "held": "Still held in quarantine (same content as when quarantined; loads when it changes)",
}
_TODO = {
    "quarantined": "Quarantined: read the report, then correct the file (or send it to the provider to correct) and "
                   "save the corrected file to the shared drive; the next run picks it up.",
    "quarantined_indicator": "Quarantined: read the report; the indicator is held until the publisher's data changes "
                             "(or, when the data is right, accept the rule for that indicator in the suite's "
                             "exceptions, with a reason).",
    "failed": "Failed: the error is in the run's task log; once its cause is removed, the file or indicator is "
              "taken again on the next run.",
    "late": "Late: nothing to do unless it keeps happening; raise it with the provider.",
    "missing": "Missing: chase the provider; a return saved to the shared drive is picked up by the next run.",
    "held": "Held: nothing to do until the publisher corrects it; the report says what is wrong.",
}


def run_digest(
    summary: Mapping[str, Any],
    where: TaskWhere,
    tracker: Iterable[Mapping[str, Any]] | None = None,
    reported: frozenset[str] = frozenset(),
    settings: Settings | None = None,
) -> tuple[Alert | None, set[str]]:
    """The digest of one run and the keys of the standing conditions (late, missing, held) it names; no alert
    when the run had no problem and every standing condition is in ``reported`` already."""
    fingertips = "held" in summary or "batches" in summary
    items = _problem_items(summary, fingertips) + _held_items(summary) + _tracker_items(tracker or [])
    # An indicator quarantined in this run is held from now on: remembered, so it does not start tomorrow's digest.
    keys = {k for i in items for k in i.keys} | {_held_key(h) for h in summary.get("held") or []}
    if not any(i.news(reported) for i in items):
        return None, keys
    kinds = [k for k in _HEADINGS if any(i.kind == k for i in items)]
    counts = {k: sum(max(1, len(i.keys)) for i in items if i.kind == k) for k in kinds}   # returns, not services
    what = "indicator(s)" if fingertips else "file(s)"
    words = {"quarantined": f"{what} quarantined", "failed": f"{what} failed", "late": "return(s) late",
             "missing": "return(s) missing", "held": "indicator(s) held"}
    headline = ", ".join(f"{counts[k]} {words[k]}" for k in kinds)
    lines = [f"Run {where.run_id} of {where.dag_id}: {headline}.", ""]
    for kind in kinds:
        lines.append(_HEADINGS[kind] + ":")
        for n, item in enumerate((i for i in items if i.kind == kind), 1):
            seen = "" if item.news(reported) else " (reported before)"
            lines.append(f"  {n}. {item.text}{seen}")
        lines.append("")
    lines.append("What to do:")
    lines += [f"- {_TODO['quarantined_indicator' if k == 'quarantined' and fingertips else k]}" for k in kinds]
    lines += ["", f"Run:             {run_url(where.dag_id, where.run_id)}",
              f"Summary's log:   {task_log_url(where)}"]
    subject = f"{_prefix(settings)} {where.dag_id} run: {headline}"
    return Alert(subject, "\n".join(lines)), keys


def _state_file(settings: Settings, dag_id: str | None) -> Path:
    return settings.data_dir / "alerts" / f"{dag_id or 'unknown'}.reported.json"


def _reported(path: Path) -> frozenset[str]:
    try:
        return frozenset(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return frozenset()


def send_run_digest(
    summary: Mapping[str, Any],
    tracker: Iterable[Mapping[str, Any]] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Alert | None:
    """Send (or log) the run's digest, one message for the run; return it, or None when there is nothing to
    report. Call it from the summary task with the run's summary, before ``fail_if_problems``; ``tracker``: the
    return tracker's rows (:func:`return_tracker`) for the late and missing returns; ``context``: the task's
    Airflow context (default: the running task's)."""
    from public_health.airflow_support.runtime import task_settings, task_where

    where = task_where(context)
    settings = task_settings()
    state = _state_file(settings, where.dag_id)
    reported = _reported(state)
    alert, keys = run_digest(summary, where, tracker, reported, settings)
    if alert is None:
        log.info("run digest: nothing new to report")
        return None
    deliver(alert, settings)
    _DIGESTED.add((where.dag_id, where.run_id))
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(reported | keys), indent=1), encoding="utf-8")
    tmp.replace(state)
    return alert


def return_tracker(settings: Settings, engine: Any, context: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The return tracker's rows (``mart.return_status``) for the last quarter returns are expected for on the run's
    date and the quarter before it, each with its ``quarter`` label: what :func:`send_run_digest` reads late and
    missing returns from."""
    from public_health.airflow_support.runtime import run_date
    from public_health.pipelines.provider_returns import status_table, track_until

    context = context if context is not None else _running_context()
    last = track_until(settings, run_date(context, settings))
    rows: list[dict[str, Any]] = []
    for quarter in (last.previous(), last):
        rows += [{**row, "quarter": quarter.label} for row in status_table(engine, quarter)]
    return rows


def _running_context() -> Mapping[str, Any]:
    from airflow.sdk import get_current_context

    return get_current_context()
