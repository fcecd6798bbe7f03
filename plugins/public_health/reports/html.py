"""The HTML and PDF plumbing both reports share: a Jinja environment over a report's templates
(autoescaped, strict about undefined names), writing a page, and printing HTML to PDF."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined


def render_template(templates: Path, name: str, context: dict[str, Any], keep_trailing_newline: bool = False) -> str:
    """Template ``name`` from the folder ``templates`` rendered with ``context``; everything from
    the data is HTML-escaped (autoescape)."""
    env = Environment(
        loader=FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
    )
    return env.get_template(name).render(context)


def write_text(path: Path | str, text: str) -> Path:
    """``text`` to ``path`` as UTF-8, its folder made if need be."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _chart_fetcher(images: Mapping[str, bytes]) -> Any:
    """A WeasyPrint URL fetcher serving ``chart:<sha256>`` from ``images`` (SVG documents by sha256,
    from :func:`public_health.reports.charts.charts_as_images`) and anything else as WeasyPrint would."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    from public_health.reports.charts import CHART_URL_SCHEME

    prefix = f"{CHART_URL_SCHEME}:"

    class ChartFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith(prefix):
                return URLFetcherResponse(url, images[url[len(prefix):]], {"Content-Type": "image/svg+xml"})
            return super().fetch(url, headers)

    return ChartFetcher()


def print_pdf(html: str, path: Path | str, images: Mapping[str, bytes] | None = None) -> int:
    """Print ``html`` to a PDF at ``path`` with WeasyPrint (folder made if need be); the page count.

    ``images``: the charts ``html`` refers to as ``chart:<sha256>`` images (``charts_as_images``); each
    is parsed once however often it is used."""
    from weasyprint import HTML

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fetcher = _chart_fetcher(images) if images else None
    document = HTML(string=html, url_fetcher=fetcher).render()
    document.write_pdf(path)
    return len(document.pages)
