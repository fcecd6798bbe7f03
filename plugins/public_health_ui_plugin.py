"""Airflow plugin: the "Public health data" page in the Airflow UI.

The page (``public_health.ui``) is a FastAPI app mounted by the API server at ``/public-health/`` and
shown in the UI's navigation as an external view (framed, at ``/plugin/public-health``).

Plugin FastAPI apps get no authentication from Airflow, so every route of this one depends on
:func:`airflow_login`, which runs Airflow's own check: the JWT from the ``Authorization: Bearer`` header,
else the UI's ``_token`` session cookie, resolved by the configured auth manager
(``airflow.api_fastapi.core_api.security.get_user``), and then the auth manager's permission to use the
website (``requires_access_view(AccessView.WEBSITE)``). No token: 401; a bad one or no permission: 403.

Airflow imports its plugins in every component, each task process included, so loading this module
imports nothing but the plugin base class: the app (FastAPI, Airflow's API security module, the page's
queries and templates) is built on the API server by the first request that reaches it.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the login dependency built
# inside build_app(), whose types are imported there, so they must be evaluated where they are written.
from typing import Annotated, Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/public-health"


async def airflow_login(request: Any, credentials: Any) -> None:
    """Refuse the request unless it carries a valid Airflow login allowed to use the website (Airflow's own
    ``get_user`` and ``requires_access_view``, as the UI's own endpoints use them)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user, requires_access_view

    user = await get_user(request, None, credentials)
    requires_access_view(AccessView.WEBSITE)(request, user)


def build_app() -> Any:
    """The page's FastAPI app, every route behind :func:`airflow_login`."""
    from fastapi import Depends, Request
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

    from public_health.ui.app import create_app

    bearer = HTTPBearer(auto_error=False)

    async def login(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                    ) -> None:
        await airflow_login(request, credentials)

    return create_app(login)


class LazyApp:
    """An ASGI app that builds the real one (:func:`build_app`) when the first request arrives."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = build_app()
        await self._app(scope, receive, send)

    def __repr__(self) -> str:
        return "public_health.ui.app (built on first request)"


class PublicHealthUiPlugin(AirflowPlugin):
    """The "Public health data" page: return status, latest loads, quarantine and data quality."""

    name = "public_health_ui"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "Public health data"}]
    external_views = [
        {
            "name": "Public health data",
            # Relative to the UI's base URL; the trailing slash makes the page's own relative links work.
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "public-health",
            "destination": "nav",
            "nav_top_level": True,
        },
    ]
