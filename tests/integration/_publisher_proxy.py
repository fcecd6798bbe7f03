"""A small HTTP proxy in front of the Fingertips stub that rewrites the all_data CSV the way a real publication
(or a broken one) looks: category rows, limits rounded apart from values, duplicate keys, an empty body or a
header-only CSV. Real HTTP end to end; the stub itself is untouched (its requests_log still counts requests)."""

from __future__ import annotations

import csv
import io
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Rewrite = Callable[[bytes], bytes]


class PublisherProxy:
    def __init__(self, upstream_base_url: str) -> None:
        self.upstream = upstream_base_url.rstrip("/")
        self.rewrite: Rewrite | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                target = proxy.upstream.removesuffix("/api") + self.path
                try:
                    with urllib.request.urlopen(target, timeout=30) as resp:
                        status, body, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
                except urllib.error.HTTPError as exc:
                    status, body, ctype = exc.code, exc.read(), exc.headers.get("Content-Type", "")
                if status == 200 and "all_data/csv" in self.path and proxy.rewrite is not None:
                    body = proxy.rewrite(body)
                self.send_response(status)
                self.send_header("Content-Type", ctype or "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/api"

    def start(self) -> PublisherProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _rows(body: bytes) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return rows[0], rows[1:]


def _write(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def empty_body(_body: bytes) -> bytes:
    return b""


def header_only(body: bytes) -> bytes:
    return body.split(b"\n", 1)[0] + b"\n"


def like_a_real_publication(category_id: int, duplicate_id: int) -> Rewrite:
    """Indicator ``category_id`` gets deprivation-decile rows whose interval does not surround the value and
    ordinary rows whose value is rounded to one decimal just above its upper limit rounded to two (15.6 vs 15.59);
    indicator ``duplicate_id`` gets one row twice. Deterministic: the same body gives the same result."""

    def rewrite(body: bytes) -> bytes:
        header, rows = _rows(body)
        col = {h: i for i, h in enumerate(header)}
        out: list[list[str]] = []
        extra: list[list[str]] = []
        rounded = deciles = 0
        for row in rows:
            iid = int(row[col["Indicator ID"]])
            has_value = row[col["Value"]] != "" and row[col["Upper CI 95.0 limit"]] != ""
            if iid == category_id and has_value and deciles < 3:
                cat = list(row)
                cat[col["Category Type"]] = "County & UA deprivation deciles in England (IMD2019, 4/21 geography)"
                cat[col["Category"]] = f"Decile {deciles + 1} (IMD2019)"
                cat[col["Value"]] = f"{float(row[col['Upper CI 95.0 limit']]) + 5:.1f}"
                extra.append(cat)
                deciles += 1
            elif iid == category_id and has_value and rounded < 3 and row[col["Category Type"]] == "":
                v = round(float(row[col["Value"]]), 1)
                row = list(row)
                row[col["Value"]] = f"{v:.1f}"
                row[col["Upper CI 95.0 limit"]] = f"{v - 0.01:.2f}"
                row[col["Lower CI 95.0 limit"]] = f"{min(float(row[col['Lower CI 95.0 limit']]), v - 1):.2f}"
                row[col["Upper CI 99.8 limit"]] = f"{max(float(row[col['Upper CI 99.8 limit']] or v), v + 1):.2f}"
                row[col["Lower CI 99.8 limit"]] = f"{min(float(row[col['Lower CI 99.8 limit']] or v), v - 2):.2f}"
                rounded += 1
            out.append(row)
            if iid == duplicate_id and not any(int(r[col["Indicator ID"]]) == duplicate_id for r in extra):
                extra.append(list(row))
        return _write(header, out + extra)

    return rewrite
