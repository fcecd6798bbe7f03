"""The chart plumbing both reports share: draw a matplotlib figure to SVG with stable output, and
make that SVG fit to inline in an HTML page (no prolog, metadata or global style; ids prefixed so
several charts on one page never share one; ``role="img"`` and a ``<title>`` text alternative).

Each report keeps its own chart functions (what to plot, and how to describe it) and calls these.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from markupsafe import escape


def slug(text: str, default: str = "x") -> str:
    """``text`` fit for an SVG/HTML id: runs of anything but letters, digits, ``_`` and ``-`` as ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or default


def nan_gaps(values: Iterable[float | None]) -> list[float]:
    """The series to plot: a missing or non-finite figure as NaN (a gap in the line)."""
    return [
        v if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else math.nan
        for v in values
    ]


def describe(name: str, plotted: str, points: Iterable[str]) -> str:
    """A chart's text alternative: ``'<name>: <plotted>. <point>; <point>.'``."""
    return f"{name}: {plotted}. " + "; ".join(points) + "."


def render_svg(draw: Callable[[Any], None], salt: str, size: tuple[float, float], font_size: float) -> str:
    """``draw(axes)`` on a new figure of ``size`` inches and return the SVG document.

    Text stays text (``svg.fonttype: none``), ids come from ``salt`` rather than a random hash and
    the document carries no date, so the same chart is the same bytes on every run."""
    import matplotlib
    from matplotlib.figure import Figure

    rc = {"svg.fonttype": "none", "svg.hashsalt": salt, "font.family": "DejaVu Sans", "font.size": font_size}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig.add_subplot())
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


_STYLE_ATTR = re.compile(r'style="([^"]*)"')
_PRESENTATION = frozenset(
    (
        "fill",
        "fill-opacity",
        "stroke",
        "stroke-width",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-opacity",
        "opacity",
        "font-size",
        "font-family",
        "font-weight",
        "font-style",
        "text-anchor",
        "clip-path",
    )
)
#: What matplotlib's global ``<style>`` (``* {stroke-linejoin: round; stroke-linecap: butt}``)
#: says, as attributes on the root element.
_ROOT_PRESENTATION = ' stroke-linejoin="round" stroke-linecap="butt"'


def _style_to_attributes(match: re.Match[str]) -> str:
    """matplotlib's ``style="fill: red; stroke: blue"`` as SVG presentation attributes: the same
    drawing, but nothing an HTML/print CSS engine reads as (unknown) CSS."""
    attrs = []
    for decl in match.group(1).split(";"):
        name, _, value = decl.partition(":")
        name, value = name.strip(), value.strip().replace('"', "'")
        if name in _PRESENTATION and value:
            attrs.append(f'{name}="{value}"')
    return " ".join(attrs)


def inline_svg(document: str, prefix: str, description: str, css_class: str) -> str:
    """A matplotlib SVG ``document`` made fit to inline in HTML: no XML prolog, metadata or global
    ``<style>``; ids (and references to them) prefixed with ``prefix``; ``role="img"``, class
    ``css_class`` and a ``<title>`` holding ``description``. Inline ``style`` attributes become
    presentation attributes and the root carries what the dropped global style said, so a print CSS
    engine (WeasyPrint) draws the same chart without reading SVG properties as unknown CSS."""
    svg = document[document.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>\s*", "", svg, flags=re.S)
    svg = _STYLE_ATTR.sub(_style_to_attributes, svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'((?:xlink:)?href)="#([^"]+)"', rf'\1="#{prefix}-\2"', svg)
    head_end = svg.index(">") + 1
    opening = svg[4 : head_end - 1].rstrip()
    return (
        f'<svg role="img" class="{css_class}"{_ROOT_PRESENTATION}{opening}><title>{escape(description)}</title>' + svg[head_end:]
    )
