"""Client for the Fingertips API (https://fingertips.phe.org.uk/api): metadata, areas and all_data CSV.

Formats, as checked in the public sources (read, not copied):

* ``GET all_data/csv/by_indicator_id?indicator_ids=1,2&child_area_type_id=C&parent_area_type_id=P``: CSV whose
  header is ``Indicator ID, Indicator Name, Parent Code, Parent Name, Area Code, Area Name, Area Type, Sex, Age,
  Category Type, Category, Time period, Value, Lower CI 95.0 limit, Upper CI 95.0 limit, Lower CI 99.8 limit,
  Upper CI 99.8 limit, Count, Denominator, Value note, Recent Trend, Compared to England value or percentiles,
  Compared to <parent area type short name> value or percentiles (``Compared to percentiles`` when the parent is
  England), Time period Sortable, New data, Compared to goal`` (ukhsa-collaboration/fingertips-open
  PholioVisualisationWS/Export/FileBuilder/Writers/CsvBuilderIndicatorDataHeaderWriter.cs and the expected header in
  ServicesWebTest/Controllers/DataControllerTest.cs: ``Compared to Region value or percentiles``). Newer API versions
  append ``Time period range`` (ropensci/fingertipsR R/retrieve_data.R lists it; also older ``Target data`` is
  renamed to ``Compared to goal`` there). Values are written unquoted unless they hold a comma, quote or newline
  (quotes doubled) and missing numbers/labels are empty fields (fingertips-open DataAccess/CsvWriter.cs,
  Export/CoreDataSetExportFormatter.cs, Export/SingleIndicatorFileWriter.cs). Comparison labels: Better / Similar /
  Worse (RAG polarities), Higher / Similar / Lower (blue-orange-blue), "Not compared", quintile labels; trend
  labels "Increasing and getting better", "No significant change", "Cannot be calculated" ...
  (Export/SignificanceFormatter.cs, Formatting/TrendMarkerLabelProvider.cs). The CSV rows end with CRLF.
* ``GET profiles`` -> ``[{Id, Name, Key, GroupIds: [...], GroupMetadata: [...]}]``; ``GET profile?profile_id=19``
  -> one such object (DataAccess/Profile.cs; fingertipsR R/profiles.R). A profile's indicators:
  ``GET indicator_names/by_group_id?group_ids=a,b`` -> ``[{GroupId, IndicatorId, IndicatorName}]``
  (ServicesWeb/Controllers/IndicatorMetadataController.cs, PholioObjects/DomainIndicatorName.cs; fingertipsR
  R/indicators.R).
* ``GET indicator_metadata/by_indicator_id?indicator_ids=..`` -> ``{"<id>": {IID, Descriptive: {Name, Definition,
  DataSource, ...}, Unit: {Id, Value, Label}, ValueType: {Id, Name}, YearType, ConfidenceIntervalMethod,
  DataChange: {LastUploadedAt, LastDeletedAt}}}`` (PholioObjects/IndicatorMetadata.cs, Unit.cs, ValueType.cs,
  DataChange.cs; ``DataChange.LastUploadedAt`` is what fingertipsR R/indicator_metadata.R
  indicator_update_information() reads). ``GET data_changes?indicator_id=`` -> ``{LastUploadedAt, ...}``
  (DataController.cs) is the per-indicator fallback.
* Polarity is not in that JSON; it is the ``Polarity`` column of ``GET indicator_metadata/csv/by_indicator_id``
  (header ``Indicator ID, <text properties: Indicator, Definition, ..., Indicator number, ...>, Unit, Value type,
  Year type, Polarity``: Export/MultipleIndicatorMetadataFileWriter.cs; fingertipsR R/indicator_metadata.R column
  types). Polarity ids -1 not applicable, 0 RAG low is good, 1 RAG high is good, 99 "use blues"
  (PholioObjects/Constants.cs PolarityIds); names "RAG - Low is good", "RAG - High is good" (profile manager
  PageIndicatorEdit.js). The blue-orange-blue and not-applicable names are assumed ("BOB - Blue orange blue",
  "Not applicable"); normalisation matches on "high is good" / "low is good" / anything else.
* ``GET area_types`` -> ``[{Id, Name, Short, ...}]``; ``GET areas/by_area_type?area_type_id=`` -> ``[{Code, Name,
  Short, AreaTypeId}]`` (PholioObjects/AreaType.cs, Area.cs); ``GET parent_to_child_areas?child_area_type_id=&
  parent_area_type_id=`` -> ``{"<parent code>": ["<child code>", ...]}`` (AreasController.cs).
* Nearest neighbours: ``GET areas/by_parent_area_code?area_type_id=502&parent_area_code=nn-1-E10000018`` -> areas,
  in rank order (fingertipsR R/area_types.R nearest_neighbours(); type 1 is CIPFA).

Not verified (assumed): that ``Time period range`` is the last column; the exact date format of
``LastUploadedAt`` (Json.NET ISO 8601 without zone; parsed leniently, returned naive as published).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

import requests

from public_health.config import is_live_fingertips_url

if TYPE_CHECKING:
    from public_health.config import FingertipsSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

METADATA_BATCH = 100
# Where `make stub` serves the offline stub of the API (the live host is config.LIVE_FINGERTIPS_HOST).
STUB_BASE_URL = "http://127.0.0.1:8999/api"
_CHUNK = 1024 * 1024


class FingertipsError(RuntimeError):
    """A Fingertips request failed. ``url`` and ``status`` (None if no HTTP answer) say which and how."""

    def __init__(self, message: str, *, url: str, status: int | None = None, attempts: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.attempts = attempts

    @property
    def permanent(self) -> bool:
        """True for an HTTP answer another attempt cannot change (4xx other than 408 and 429, or a 200 whose body
        is not what was asked for); False for network errors, timeouts, 408, 429 and 5xx."""
        if self.status is None:
            return False
        return self.status == 200 or (400 <= self.status < 500 and self.status not in (408, 429))


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    short_name: str | None
    area_type_id: int | None


@dataclass(frozen=True)
class IndicatorMeta:
    indicator_id: int
    name: str
    definition: str | None
    unit: str | None
    value_type: str | None
    polarity: str | None
    polarity_code: str | None  # high_is_good | low_is_good | neither | None
    last_upload: datetime | None
    source: str | None
    phof_code: str | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class LandedFile:
    path: Path
    sha256: str
    size_bytes: int
    url: str


class _Transient(Exception):
    """An attempt failed in a way another attempt may fix."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def normalise_polarity(polarity: str | None) -> str | None:
    """'RAG - High is good' -> high_is_good, 'RAG - Low is good' -> low_is_good, other labels -> neither."""
    if polarity is None or not str(polarity).strip():
        return None
    text = str(polarity).strip().lower()
    if "high is good" in text:
        return "high_is_good"
    if "low is good" in text:
        return "low_is_good"
    return "neither"


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_api_datetime(value: Any) -> datetime | None:
    """Json.NET dates such as 2024-05-07T09:30:00.123 (7 fraction digits or a Z allowed); year 1 means none."""
    if not value or not isinstance(value, str):
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        log.warning("Fingertips date %r is not ISO 8601; ignored", value)
        return None
    return None if parsed.year <= 1 else parsed


def _slug(ids: list[int]) -> str:
    if len(ids) <= 4:
        return "-".join(str(i) for i in ids)
    return f"{ids[0]}-to-{ids[-1]}-{len(ids)}ids"


@dataclass(frozen=True)
class RetryPolicy:
    """How often a request is tried, and the exponential backoff between tries (seconds)."""

    max_attempts: int = 4
    backoff_initial: float = 2
    backoff_max: float = 60

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


class FingertipsClient:
    """The Fingertips API over one ``requests.Session``, with timeouts and retries on every call."""

    def __init__(self, base_url: str, *, connect_timeout: float = 10, read_timeout: float = 300,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        retry = retry or RetryPolicy()
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = retry.max_attempts
        self.backoff_initial = retry.backoff_initial
        self.backoff_max = retry.backoff_max
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": "public-health-pipelines (Fingertips client)",
                                     "Accept-Encoding": "gzip, deflate"})

    @classmethod
    def from_settings(cls, fs: FingertipsSettings) -> FingertipsClient:
        """A client on ``fs.base_url``, always; this never starts a stub.

        ``fs.offline`` (FINGERTIPS_OFFLINE=1) means "never call the live API": the base URL must then point at a
        stub someone else started (``make stub``; ``make up`` with FINGERTIPS_OFFLINE=1 and the command line's
        offline run start one too). Offline with the base URL still on the live API is a contradiction, refused
        with a :class:`~public_health.config.ConfigError` saying what to do.
        """
        if fs.offline and is_live_fingertips_url(fs.base_url):
            from public_health.config import ConfigError

            raise ConfigError(
                f"fingertips.offline is set (FINGERTIPS_OFFLINE=1) but fingertips.base_url is the live API "
                f"({fs.base_url}). Start the offline stub (`make stub`, which serves {STUB_BASE_URL}) and set "
                f"FINGERTIPS_BASE_URL={STUB_BASE_URL}, or set FINGERTIPS_OFFLINE=0 to use the live API."
            )
        return cls(fs.base_url, connect_timeout=fs.connect_timeout_s, read_timeout=fs.read_timeout_s,
                   retry=RetryPolicy(fs.retry.max_attempts, fs.retry.backoff_initial_s, fs.retry.backoff_max_s))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> FingertipsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing -------------------------------------------------------------------------------
    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = urlencode(params or {}, safe=",")
        return f"{self.base_url}/{path.lstrip('/')}" + (f"?{query}" if query else "")

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_max)
        return min(self.backoff_initial * 2 ** (attempt - 1), self.backoff_max)

    def _with_retries(self, url: str, expected: str, attempt_fn: Callable[[], T]) -> T:
        """Run ``attempt_fn`` until it succeeds, raises a non-transient error, or attempts run out."""
        last: _Transient | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                return attempt_fn()
            except _Transient as exc:
                last = exc
                if attempt == self.max_attempts:
                    break
                wait = self._wait(attempt, exc.retry_after)
                log.warning("Fingertips GET %s: %s (attempt %d of %d); retrying in %.1fs", url, exc.reason, attempt,
                            self.max_attempts, wait)
                self._sleep(wait)
            except FingertipsError as exc:
                exc.attempts = attempt
                raise
        assert last is not None
        raise FingertipsError(
            f"GET {url} failed after {self.max_attempts} attempt(s): {last.reason}; expected {expected}. "
            "Check the network and https://fingertips.phe.org.uk/api, or use the offline stub: `make stub`, then "
            f"FINGERTIPS_OFFLINE=1 FINGERTIPS_BASE_URL={STUB_BASE_URL}.",
            url=url, status=last.status, attempts=self.max_attempts,
        ) from last

    def _check_status(self, resp: requests.Response, url: str, expected: str) -> None:
        status = resp.status_code
        if status == 200:
            return
        reason = f"HTTP {status} {resp.reason or ''}".strip()
        if status == 429 or status >= 500:
            retry_after = None
            header = resp.headers.get("Retry-After")
            if status == 429 and header:
                try:
                    retry_after = float(header)
                except ValueError:
                    retry_after = None
            resp.close()
            raise _Transient(reason, status=status, retry_after=retry_after)
        try:
            snippet = resp.text[:300].strip()
        except requests.RequestException:
            snippet = ""
        resp.close()
        raise FingertipsError(f"GET {url} failed: {reason} (not retried); expected {expected}. Response: {snippet}",
                              url=url, status=status)

    def _get(self, path: str, params: dict[str, Any] | None, expected: str, read: Callable[[Any, str], Any]) -> Any:
        """GET with retries; ``read(response, url)`` turns a successful response into the result."""
        url = self.url(path, params)

        def attempt() -> Any:
            try:
                resp = self.session.get(url, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise _Transient(f"{type(exc).__name__}: {exc}") from exc
            with resp:
                self._check_status(resp, url, expected)
                return read(resp, url)

        return self._with_retries(url, expected, attempt)

    def _get_json(self, path: str, params: dict[str, Any] | None, expected: str) -> Any:
        def read(resp: Any, url: str) -> Any:
            try:
                return resp.json()
            except ValueError as exc:
                raise FingertipsError(
                    f"GET {url} answered HTTP 200 but not with JSON ({exc}); expected {expected}. "
                    f"Body starts: {resp.text[:200]!r}", url=url, status=200) from exc

        return self._get(path, params, expected, read)

    def _get_text(self, path: str, params: dict[str, Any] | None, expected: str) -> str:
        def read(resp: Any, _url: str) -> str:
            resp.encoding = resp.encoding or "utf-8"
            return resp.content.decode("utf-8-sig")

        return self._get(path, params, expected, read)

    def probe(self, timeout: float) -> bool:
        """One quick request (no retries): True if the API answers ``area_types`` with HTTP 200."""
        url = self.url("area_types")
        try:
            resp = self.session.get(url, timeout=(timeout, timeout))
            ok = resp.status_code == 200
            resp.close()
        except requests.RequestException as exc:
            log.info("Fingertips probe %s failed: %s", url, exc)
            return False
        log.info("Fingertips probe %s: %s", url, "ok" if ok else f"HTTP {resp.status_code}")
        return ok

    # ---- metadata and areas ---------------------------------------------------------------------
    def profiles(self) -> list[dict]:
        data = self._get_json("profiles", None, "a JSON list of profiles")
        if not isinstance(data, list):
            raise FingertipsError(f"GET {self.url('profiles')}: expected a JSON list of profiles, got "
                                  f"{type(data).__name__}", url=self.url("profiles"), status=200)
        return data

    def profile_indicator_ids(self, profile_id: int) -> list[int]:
        """Every indicator id in the profile's groups (domains), in group order, without duplicates."""
        params = {"profile_id": profile_id}
        profile = self._get_json("profile", params, f"a JSON profile object for profile {profile_id}")
        if not isinstance(profile, dict) or not profile.get("GroupIds"):
            raise FingertipsError(f"GET {self.url('profile', params)}: no profile {profile_id} (or it has no "
                                  "GroupIds); expected {Id, Name, GroupIds: [...]}. Check the profile_id of the "
                                  "indicator set (config/indicator_sets/<set>.yaml) that names it",
                                  url=self.url("profile", params), status=200)
        group_ids = [int(g) for g in profile["GroupIds"]]
        ids: list[int] = []
        seen: set[int] = set()
        for start in range(0, len(group_ids), 50):
            chunk = group_ids[start : start + 50]
            rows = self._get_json("indicator_names/by_group_id", {"group_ids": ",".join(map(str, chunk))},
                                  "a JSON list of {GroupId, IndicatorId, IndicatorName}")
            for row in rows or []:
                iid = int(row["IndicatorId"])
                if iid not in seen:
                    seen.add(iid)
                    ids.append(iid)
        return ids

    def area_types(self) -> list[dict]:
        return list(self._get_json("area_types", None, "a JSON list of area types {Id, Name, Short}"))

    @staticmethod
    def _area(row: dict) -> Area:
        return Area(code=str(row["Code"]), name=str(row.get("Name") or row["Code"]),
                    short_name=row.get("Short") or row.get("ShortName"),
                    area_type_id=int(row["AreaTypeId"]) if row.get("AreaTypeId") is not None else None)

    def areas_by_area_type(self, area_type_id: int) -> list[Area]:
        rows = self._get_json("areas/by_area_type", {"area_type_id": area_type_id},
                              "a JSON list of areas {Code, Name, Short, AreaTypeId}")
        return [self._area(r) for r in rows or []]

    def parent_to_child_areas(self, child_area_type_id: int, parent_area_type_id: int) -> dict[str, list[str]]:
        data = self._get_json("parent_to_child_areas", {"child_area_type_id": child_area_type_id,
                                                        "parent_area_type_id": parent_area_type_id},
                              "a JSON object of parent code -> list of child codes")
        return {str(k): [str(c) for c in v] for k, v in (data or {}).items()}

    def nearest_neighbours(self, area_code: str, area_type_id: int, nn_type_id: int = 1) -> list[Area]:
        """The area's statistical nearest neighbours (type 1 = CIPFA), in rank order."""
        rows = self._get_json("areas/by_parent_area_code",
                              {"area_type_id": area_type_id, "parent_area_code": f"nn-{nn_type_id}-{area_code}"},
                              "a JSON list of neighbour areas")
        rows = list(rows or [])
        if rows and all(r.get("Sequence") is not None for r in rows):
            rows.sort(key=lambda r: r["Sequence"])
        return [self._area(r) for r in rows]

    def _polarity_table(self, ids: list[int]) -> dict[int, dict[str, str]]:
        text = self._get_text("indicator_metadata/csv/by_indicator_id", {"indicator_ids": ",".join(map(str, ids))},
                              "an indicator metadata CSV with 'Indicator ID' and 'Polarity' columns")
        out: dict[int, dict[str, str]] = {}
        for row in csv.DictReader(io.StringIO(text)):
            raw_id = (row.get("Indicator ID") or "").strip()
            if raw_id.isdigit():
                out[int(raw_id)] = {k: (v or "").strip() for k, v in row.items() if k}
        return out

    def indicator_metadata(self, indicator_ids: list[int]) -> list[IndicatorMeta]:
        """Metadata (name, definition, unit, value type, polarity, last upload) for each known indicator id."""
        ids = sorted({int(i) for i in indicator_ids})
        metas: list[IndicatorMeta] = []
        for start in range(0, len(ids), METADATA_BATCH):
            chunk = ids[start : start + METADATA_BATCH]
            data = self._get_json("indicator_metadata/by_indicator_id", {"indicator_ids": ",".join(map(str, chunk))},
                                  "a JSON object of indicator id -> metadata")
            csv_rows = self._polarity_table(chunk)
            for key, m in (data or {}).items():
                iid = int(m.get("IID", key))
                desc = m.get("Descriptive") or {}
                row = csv_rows.get(iid, {})
                polarity = row.get("Polarity") or m.get("Polarity") or None
                change = m.get("DataChange") or {}
                metas.append(IndicatorMeta(
                    indicator_id=iid,
                    name=str(desc.get("Name") or row.get("Indicator") or iid),
                    definition=desc.get("Definition") or row.get("Definition") or None,
                    unit=(m.get("Unit") or {}).get("Label") or row.get("Unit") or None,
                    value_type=(m.get("ValueType") or {}).get("Name") or row.get("Value type") or None,
                    polarity=polarity,
                    polarity_code=normalise_polarity(polarity),
                    last_upload=parse_api_datetime(change.get("LastUploadedAt")),
                    source=desc.get("DataSource") or row.get("Data source") or None,
                    phof_code=desc.get("IndicatorNumber") or row.get("Indicator number") or None,
                    raw={**m, "metadata_csv": row},
                ))
        return sorted(metas, key=lambda x: x.indicator_id)

    def last_upload_dates(self, indicator_ids: list[int]) -> dict[int, datetime | None]:
        """When each indicator's data was last uploaded (``DataChange.LastUploadedAt``), None if unknown."""
        ids = sorted({int(i) for i in indicator_ids})
        out: dict[int, datetime | None] = {}
        for start in range(0, len(ids), METADATA_BATCH):
            chunk = ids[start : start + METADATA_BATCH]
            data = self._get_json("indicator_metadata/by_indicator_id", {"indicator_ids": ",".join(map(str, chunk))},
                                  "a JSON object of indicator id -> metadata")
            for key, m in (data or {}).items():
                change = m.get("DataChange")
                out[int(m.get("IID", key))] = parse_api_datetime(change.get("LastUploadedAt")) if change else None
        for iid in ids:
            if out.get(iid) is None:
                change = self._get_json("data_changes", {"indicator_id": iid}, "a JSON object {LastUploadedAt}")
                out[iid] = parse_api_datetime((change or {}).get("LastUploadedAt"))
        return out

    # ---- data ------------------------------------------------------------------------------------
    def all_data_url(self, indicator_ids: list[int], child_area_type_id: int, parent_area_type_id: int) -> str:
        ids = sorted({int(i) for i in indicator_ids})
        return self.url("all_data/csv/by_indicator_id", {
            "indicator_ids": ",".join(map(str, ids)), "child_area_type_id": child_area_type_id,
            "parent_area_type_id": parent_area_type_id,
        })

    def download_all_data(self, indicator_ids: list[int], child_area_type_id: int, parent_area_type_id: int,
                          dest_dir: Path) -> LandedFile:
        """Stream the all_data CSV to ``dest_dir/<sha256[:16]>-<readable>.csv``; a partial body never lands."""
        if not indicator_ids:
            raise ValueError("download_all_data needs at least one indicator id")
        ids = sorted({int(i) for i in indicator_ids})
        url = self.all_data_url(ids, child_area_type_id, parent_area_type_id)
        dest_dir = Path(dest_dir)
        dest_dir.mkdir(parents=True, exist_ok=True)
        readable = f"all_data-{_slug(ids)}-c{child_area_type_id}-p{parent_area_type_id}"
        part = dest_dir / f"{readable}.{os.getpid()}.csv.part"
        expected = "a complete all_data CSV ending with a newline"

        def attempt() -> LandedFile:
            started = time.perf_counter()
            digest = hashlib.sha256()
            size = 0
            last_byte = b""
            try:
                try:
                    resp = self.session.get(url, timeout=self.timeout, stream=True)
                except (requests.ConnectionError, requests.Timeout) as exc:
                    raise _Transient(f"{type(exc).__name__}: {exc}") from exc
                with resp:
                    self._check_status(resp, url, expected)
                    declared = resp.headers.get("Content-Length")
                    compressed = bool(resp.headers.get("Content-Encoding"))
                    try:
                        with open(part, "wb") as fh:
                            for chunk in resp.iter_content(chunk_size=_CHUNK):
                                if not chunk:
                                    continue
                                fh.write(chunk)
                                digest.update(chunk)
                                size += len(chunk)
                                last_byte = chunk[-1:]
                    except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError, requests.Timeout,
                            requests.exceptions.ContentDecodingError) as exc:
                        raise _Transient(f"body cut off after {size} bytes ({type(exc).__name__}: {exc})") from exc
                    if declared is not None and not compressed and size != int(declared):
                        raise _Transient(f"body has {size} bytes but Content-Length said {declared}")
                if size and last_byte != b"\n":
                    raise _Transient(f"body of {size} bytes does not end with a newline (cut off?)")
                sha = digest.hexdigest()
                final = dest_dir / f"{sha[:16]}-{readable}.csv"
                os.replace(part, final)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            log.info("Fingertips: landed %s (%d bytes, sha256 %s…) from %s in %.1fs", final.name, size, sha[:12], url,
                     time.perf_counter() - started)
            return LandedFile(path=final, sha256=sha, size_bytes=size, url=url)

        return self._with_retries(url, expected, attempt)
