"""The chart plumbing both reports share: draw a matplotlib figure to SVG with stable output, and
make that SVG fit to inline in an HTML page (no prolog, metadata or global style; ids prefixed so
several charts on one page never share one; ``role="img"`` and a ``<title>`` text alternative).

Charts are cached by content (:data:`chart_cache`): a chart function passes everything its chart is
drawn from as the key, so the same input gives the same SVG, drawn once per process. For printing,
:func:`charts_as_images` lifts the inline charts out of a page into images the PDF printer parses
once each (:func:`public_health.reports.html.print_pdf`).

Each report keeps its own chart functions (what to plot, and how to describe it) and calls these.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any
from xml.etree import ElementTree

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
        f'<svg role="img" class="{css_class}"{_ROOT_PRESENTATION}{opening}><title>{escape(description)}</title>'
        + svg[head_end:]
    )


# The chart cache -----------------------------------------------------------------------------------


class ChartCache:
    """Finished chart SVG by the content it is drawn from, least recently used first out.

    The key is a tuple of plain values (strings, numbers, None, tuples of them) holding *everything*
    the chart and its text alternative are drawn from, including the report it belongs to and its id
    prefix; two inputs that differ in any of them never share an entry. Safe to share between threads
    (a chart two threads miss at once is drawn twice, the same bytes both times)."""

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def digest(key: Hashable) -> str:
        """sha256 of the key's ``repr``: exact for the plain values keys are made of (``repr`` of a
        float round-trips, and 1, 1.0 and True stay apart)."""
        return hashlib.sha256(repr(key).encode("utf-8")).hexdigest()

    def get(self, key: Hashable, draw: Callable[[], str | None]) -> str | None:
        """The SVG cached for ``key``, else ``draw()``, cached unless it is None (no chart)."""
        digest = self.digest(key)
        with self._lock:
            svg = self._entries.get(digest)
            if svg is not None:
                self._entries.move_to_end(digest)
                self.hits += 1
                return svg
            self.misses += 1
        svg = draw()
        if svg is not None and self.maxsize > 0:
            with self._lock:
                self._entries[digest] = svg
                self._entries.move_to_end(digest)
                while len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)
        return svg

    def clear(self) -> None:
        """Forget every chart and reset the counts."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)


#: The process's chart cache, shared by both reports' chart functions.
chart_cache = ChartCache()


# Charts as images for the PDF printer --------------------------------------------------------------

#: The scheme of the image URLs :func:`charts_as_images` writes (served by ``reports.html.print_pdf``).
CHART_URL_SCHEME = "chart"
_INLINE_CHART = re.compile(r'<svg role="img" class="([^"]*)"[^>]*><title>([^<]*)</title>.*?</svg>', re.S)


def charts_as_images(html: str) -> tuple[str, dict[str, bytes]]:
    """``html`` with each chart :func:`inline_svg` made replaced by ``<img class="<its class>"
    src="chart:<sha256>" alt="<its title>">``, and the SVG documents by sha256.

    The print engine then neither parses each chart's elements as HTML nor runs the page's style
    cascade over them, and parses each distinct chart once as an SVG image: the same drawing (the
    printed PDF is the same bytes when the page's CSS gives ``img.<class>`` the rules it gives
    ``svg.<class>``). A chart that is not well-formed XML stays inline."""
    images: dict[str, bytes] = {}

    def lift(match: re.Match[str]) -> str:
        svg = match.group(0).encode("utf-8")
        try:
            ElementTree.fromstring(svg)
        except ElementTree.ParseError:
            return match.group(0)
        digest = hashlib.sha256(svg).hexdigest()
        images[digest] = svg
        return f'<img class="{match.group(1)}" src="{CHART_URL_SCHEME}:{digest}" alt="{match.group(2)}">'

    return _INLINE_CHART.sub(lift, html), images
