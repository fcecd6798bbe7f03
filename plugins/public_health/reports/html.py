"""The HTML and PDF plumbing both reports share: a Jinja environment over a report's templates
(autoescaped, strict about undefined names), writing a page, and printing HTML to PDF."""

from __future__ import annotations

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


def print_pdf(html: str, path: Path | str) -> int:
    """Print ``html`` to a PDF at ``path`` with WeasyPrint (folder made if need be); the page count."""
    from weasyprint import HTML

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = HTML(string=html).render()
    document.write_pdf(path)
    return len(document.pages)
