"""A local HTTP server that answers like the Fingertips API (``/api/...``), with injectable faults.

Used by the tests (real HTTP, no mocks) and by the offline demo. The all_data CSV is streamed with
chunked transfer encoding, block by block, so a million rows never sit in memory as one string.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from public_health.demo.fingertips_stub.fixtures import (
    AREA_TYPE_ENGLAND,
    AREA_TYPE_REGION,
    AREA_TYPE_UTLA,
    AREA_TYPES,
    FixtureDataset,
    default_demo_dataset,
)

log = logging.getLogger(__name__)

FAULTS = ("status", "rate_limit", "slow", "truncate", "rename_column", "drop_column")
_CHUNK_BYTES = 256 * 1024


@dataclass
class _Fault:
    kind: str
    path_contains: str
    remaining: int
    params: dict[str, Any] = field(default_factory=dict)


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _ints(qs: dict[str, list[str]], name: str, *, required: bool = True) -> list[int]:
    raw = (qs.get(name) or [""])[0]
    if not raw:
        if required:
            raise _HTTPError(400, f"The request is invalid: parameter {name} is required")
        return []
    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise _HTTPError(400, f"The request is invalid: {name}={raw!r} is not a list of integers") from None


def _int(qs: dict[str, list[str]], name: str, default: int | None = None) -> int:
    vals = _ints(qs, name, required=default is None)
    return vals[0] if vals else int(default)  # type: ignore[arg-type]


class StubServer:
    """Serve a :class:`FixtureDataset` on ``http://host:port/api`` from a daemon thread."""

    def __init__(self, dataset: FixtureDataset, host: str = "127.0.0.1", port: int = 0) -> None:
        self.dataset = dataset
        self.host = host
        self.port = port
        self.requests_log: list[str] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the stub server is not started; call start() first")
        return f"http://{self.host}:{self._httpd.server_address[1]}/api"

    def start(self) -> StubServer:
        if self._httpd is not None:
            return self
        handler = type("FingertipsStubHandler", (_Handler,), {"stub": self})
        httpd = ThreadingHTTPServer((self.host, self.port), handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fingertips-stub", daemon=True)
        self._thread.start()
        log.info("Fingertips stub serving %d indicators on %s", len(self.dataset.indicators), self.base_url)
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- faults ---------------------------------------------------------------------------------
    def inject(self, fault: str, *, path_contains: str = "", times: int = 1, **params: Any) -> None:
        """Make the next ``times`` requests whose path contains ``path_contains`` misbehave.

        status (status=503), rate_limit (retry_after=1), slow (delay=seconds), truncate (fraction=0.5,
        mode="length"|"chunked"), rename_column (old=..., new=...), drop_column (column=...).
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        with self._lock:
            self._faults.append(_Fault(fault, path_contains, times, dict(params)))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_faults(self, path: str) -> list[_Fault]:
        taken: list[_Fault] = []
        with self._lock:
            for f in self._faults:
                if f.remaining > 0 and f.path_contains in path and all(t.kind != f.kind for t in taken):
                    f.remaining -= 1
                    taken.append(f)
            self._faults = [f for f in self._faults if f.remaining > 0]
        return taken


class _Handler(BaseHTTPRequestHandler):
    stub: StubServer
    protocol_version = "HTTP/1.1"
    server_version = "FingertipsStub/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        log.debug("stub: " + format, *args)

    # ---- dispatch --------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        stub = self.stub
        with stub._lock:
            stub.requests_log.append(self.path)
        faults = {f.kind: f for f in stub._take_faults(self.path)}
        try:
            if "slow" in faults:
                time.sleep(float(faults["slow"].params.get("delay", 1.0)))
            if "status" in faults:
                status = int(faults["status"].params.get("status", 500))
                raise _HTTPError(status, f"Injected fault: HTTP {status}")
            if "rate_limit" in faults:
                retry_after = faults["rate_limit"].params.get("retry_after", 1)
                self._send_bytes(429, b'{"Message":"Too many requests"}', "application/json",
                                 {"Retry-After": str(retry_after)})
                return
            parts = urlsplit(self.path)
            qs = parse_qs(parts.query, keep_blank_values=True)
            path = parts.path.rstrip("/")
            if not path.startswith("/api/"):
                raise _HTTPError(404, f"No HTTP resource was found that matches the request URI {self.path!r}")
            route = path[len("/api/"):]
            if route == "all_data/csv/by_indicator_id":
                self._all_data(qs, faults)
                return
            if route == "indicator_metadata/csv/by_indicator_id":
                self._send_bytes(200, self._metadata_csv(qs).encode("utf-8"), "text/csv")
                return
            handler = _JSON_ROUTES.get(route)
            if handler is None:
                raise _HTTPError(404, f"No HTTP resource was found that matches the request URI {self.path!r}")
            body = json.dumps(handler(stub.dataset, qs), separators=(",", ":")).encode("utf-8")
            if "truncate" in faults:
                self._send_truncated(body, "application/json", faults["truncate"].params)
                return
            self._send_bytes(200, body, "application/json; charset=utf-8")
        except _HTTPError as exc:
            self._send_bytes(exc.status, json.dumps({"Message": exc.message}).encode(), "application/json")
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            log.debug("stub: client went away during %s", self.path)
        except Exception as exc:  # a bug in the stub: answer 500 like the real API would
            log.exception("stub: error serving %s", self.path)
            try:
                self._send_bytes(500, json.dumps({"Message": str(exc)}).encode(), "application/json")
            except OSError:
                pass

    # ---- responses ---------------------------------------------------------------------------------
    def _send_bytes(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _send_truncated(self, body: bytes, content_type: str, params: dict[str, Any]) -> None:
        cut = max(1, int(len(body) * float(params.get("fraction", 0.5))))
        mode = params.get("mode", "length")
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            part = body[:cut]
            self.wfile.write(f"{len(part):X}\r\n".encode() + part + b"\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:cut])
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _all_data(self, qs: dict[str, list[str]], faults: dict[str, _Fault]) -> None:
        ds = self.stub.dataset
        ids = _ints(qs, "indicator_ids")
        child = _int(qs, "child_area_type_id")
        parent = _int(qs, "parent_area_type_id")
        if parent not in (AREA_TYPE_ENGLAND, AREA_TYPE_REGION):
            raise _HTTPError(400, f"parent_area_type_id {parent} is not a parent of area type {child}")
        view = ds.serving(child)   # the dataset whose child areas are of type ``child`` (None: not served)
        header = ds.all_data_header(parent)
        drop_idx: int | None = None
        if "rename_column" in faults:
            p = faults["rename_column"].params
            header = [p.get("new", "") if h == p.get("old") else h for h in header]
        if "drop_column" in faults:
            col = faults["drop_column"].params.get("column")
            if col in header:
                drop_idx = header.index(col)
                header = header[:drop_idx] + header[drop_idx + 1:]
        header_line = _csv_line(header)
        ordered = sorted(set(ids)) if view is not None else []
        blocks: Iterable[list[str]] = view.iter_all_data_lines(ordered, parent) if view is not None and ordered else []
        if drop_idx is not None:
            blocks = _drop_field(blocks, drop_idx)
        if "truncate" in faults:
            body = (header_line + "".join(line for block in blocks for line in block)).encode("utf-8")
            self._send_truncated(body, "text/csv", faults["truncate"].params)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Disposition", "attachment; filename=indicators-data.csv")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        write = self.wfile.write
        buf = [header_line]
        size = len(header_line)
        for block in blocks:
            buf.extend(block)
            size += sum(map(len, block))
            if size >= _CHUNK_BYTES:
                data = "".join(buf).encode("utf-8")
                write(b"%X\r\n%b\r\n" % (len(data), data))
                buf, size = [], 0
        if buf:
            data = "".join(buf).encode("utf-8")
            if data:
                write(b"%X\r\n%b\r\n" % (len(data), data))
        write(b"0\r\n\r\n")
        self.wfile.flush()

    def _metadata_csv(self, qs: dict[str, list[str]]) -> str:
        ds = self.stub.dataset
        ids = _ints(qs, "indicator_ids")
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(["Indicator ID", "Indicator", "Definition", "Rationale", "Data source", "Indicator number",
                    "Unit", "Value type", "Year type", "Polarity"])
        for i in ids:
            s = ds.indicators.get(i)
            if s is not None:
                w.writerow([s.indicator_id, s.name, s.definition or "", "", s.source, s.phof_code or "", s.unit,
                            s.value_type, s.year_type, s.polarity])
        return out.getvalue()


def _csv_line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(fields)
    return out.getvalue()


def _drop_field(blocks: Iterable[list[str]], idx: int) -> Iterator[list[str]]:
    for block in blocks:
        rows = list(csv.reader(io.StringIO("".join(block))))
        yield [_csv_line(r[:idx] + r[idx + 1:]) for r in rows]


# ---- JSON endpoints ----------------------------------------------------------------------------------


def _profiles(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    return ds.profiles


def _profile(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    pid = _int(qs, "profile_id")
    return next((p for p in ds.profiles if p["Id"] == pid), None)


def _group_metadata(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    wanted = set(_ints(qs, "group_ids"))
    return [g for p in ds.profiles for g in p.get("GroupMetadata", []) if g["Id"] in wanted]


def _indicator_names_by_group(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    out = []
    for gid in _ints(qs, "group_ids"):
        for s in ds.indicators.values():
            if s.group_id == gid:
                out.append({"GroupId": gid, "IndicatorId": s.indicator_id, "IndicatorName": s.name})
    return out


def _area_types(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    return ds.area_types_json()


def _areas_by_area_type(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    area_type = _int(qs, "area_type_id")
    view = ds.serving(area_type) or ds
    return [view.area_json(a.code) for a in view.areas_of_type(area_type)]


def _areas_by_parent(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    area_type = _int(qs, "area_type_id")
    parent = (qs.get("parent_area_code") or [""])[0]
    if parent.startswith("nn-"):
        try:
            _, nn_type, code = parent.split("-", 2)
        except ValueError:
            raise _HTTPError(400, f"bad nearest neighbour code {parent!r}; expected nn-<type>-<area code>") from None
        if nn_type != "1" or area_type != AREA_TYPE_UTLA:
            return []
        return [{**ds.area_json(c), "Sequence": n + 1} for n, c in enumerate(ds.neighbours.get(code, []))]
    view = ds.serving(area_type) or ds
    return [view.area_json(a.code) for a in view.children_of(area_type, parent)]


def _parent_to_child(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    nn = (qs.get("nearest_neighbour_code") or [""])[0]
    if nn:
        code = nn.split("-", 2)[-1]
        return {nn: ds.neighbours.get(code, [])}
    child = _int(qs, "child_area_type_id")
    parent = _int(qs, "parent_area_type_id")
    view = ds.serving(child)
    if view is None:
        return {}
    return view.parent_map(parent)


def _indicator_metadata(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    return {str(i): ds.indicator_metadata_json(i) for i in _ints(qs, "indicator_ids") if i in ds.indicators}


def _data_changes(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    iid = _int(qs, "indicator_id")
    s = ds.indicators.get(iid)
    if s is None:
        return None
    if not s.has_data:
        return {"LastUploadedAt": None, "LastDeletedAt": None}
    return {"LastUploadedAt": s.last_upload.isoformat(timespec="milliseconds"), "LastDeletedAt": "0001-01-01T00:00:00"}


def _available_data(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    ids = _ints(qs, "indicator_id", required=False) or list(ds.indicators)
    return [{"IndicatorId": i, "AreaTypeId": t} for i in ids if i in ds.indicators
            for t in ds.available_area_type_ids()]


def _nearest_neighbour_types(ds: FixtureDataset, qs: dict[str, list[str]]) -> Any:
    return [{"NeighbourTypeId": 1, "Name": "CIPFA nearest neighbours", "ApplicableAreaTypes": [
        {"Id": AREA_TYPE_UTLA, "Name": AREA_TYPES[2]["Name"], "Short": AREA_TYPES[2]["Short"]}]}]


_JSON_ROUTES = {
    "profiles": _profiles,
    "profile": _profile,
    "group_metadata": _group_metadata,
    "indicator_names/by_group_id": _indicator_names_by_group,
    "area_types": _area_types,
    "areas/by_area_type": _areas_by_area_type,
    "areas/by_parent_area_code": _areas_by_parent,
    "parent_to_child_areas": _parent_to_child,
    "indicator_metadata/by_indicator_id": _indicator_metadata,
    "data_changes": _data_changes,
    "available_data": _available_data,
    "nearest_neighbour_types": _nearest_neighbour_types,
}

# ---- process-wide offline stub ---------------------------------------------------------------------

_offline_lock = threading.Lock()
_offline: StubServer | None = None


def serve_offline_stub() -> str:
    """Start (once per process) the stub on the default demo dataset; return its base URL.

    The server runs on a daemon thread until the process exits. The demo command (``public_health.cli``)
    calls this and sets ``FINGERTIPS_BASE_URL`` to the result; the product never starts a stub itself.
    """
    global _offline
    with _offline_lock:
        if _offline is None:
            _offline = StubServer(default_demo_dataset()).start()
            log.warning("FINGERTIPS OFFLINE: serving fixture data from the local stub at %s, not the live API",
                        _offline.base_url)
        return _offline.base_url
