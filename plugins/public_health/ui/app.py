"""The FastAPI app behind the "Public health data" page; the Airflow plugin mounts it and supplies the login.

Every route depends on ``login`` (the plugin passes Airflow's own check of the UI's session token, so the
page asks for exactly the login the rest of the UI does). Nothing here writes: the warehouse is opened
read only for each request and closed before the response is sent.

Airflow imports its plugins in every component (task processes too), so this module imports only FastAPI
when loaded; settings, queries and templates are imported by the first request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse

NO_STORE = {"Cache-Control": "no-store"}


def create_app(login: Callable[..., Any]) -> FastAPI:
    """The page's app; ``login`` is a FastAPI dependency that refuses a request without a valid login."""
    app = FastAPI(
        title="Public health data",
        description="Where each source stands in the public health warehouse (read only).",
        dependencies=[Depends(login)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/", response_class=HTMLResponse)
    def status_page(quarter: str | None = None) -> HTMLResponse:
        """The page: ``?quarter=2017-18-Q2`` shows that quarter of the return tracker (and the one before)."""
        from public_health.config import ConfigError, load_settings
        from public_health.periods import FinancialQuarter, PeriodParseError

        from .page import WarehouseUnavailable, gather, render, render_problem

        try:
            settings = load_settings()
        except ConfigError as exc:
            raise HTTPException(500, f"configuration error: {exc}") from exc
        try:
            chosen = FinancialQuarter.from_typed(quarter) if quarter else None
        except PeriodParseError as exc:
            return HTMLResponse(render_problem(str(exc), settings), status_code=400, headers=NO_STORE)
        try:
            data = gather(settings, chosen)
        except WarehouseUnavailable as exc:
            return HTMLResponse(render_problem(str(exc), settings), status_code=503, headers=NO_STORE)
        return HTMLResponse(render(data, settings, datetime.now(UTC)), headers=NO_STORE)

    @app.get("/report/{batch_id}", response_class=PlainTextResponse)
    def quarantine_report(batch_id: int) -> PlainTextResponse:
        """The quarantine report (Markdown, shown as text) audit.load_batch names for a batch."""
        from public_health.config import ConfigError, load_settings

        from .page import WarehouseUnavailable, report_file

        try:
            settings = load_settings()
            path = report_file(settings, batch_id)
        except ConfigError as exc:
            raise HTTPException(500, f"configuration error: {exc}") from exc
        except WarehouseUnavailable as exc:
            raise HTTPException(503, str(exc)) from exc
        if path is None:
            raise HTTPException(404, f"load batch {batch_id} has no quarantine report under the quarantine folder")
        return PlainTextResponse(path.read_text(encoding="utf-8"), headers=NO_STORE)

    return app
