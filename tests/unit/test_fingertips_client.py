"""FingertipsClient against the stub server over real HTTP: endpoints, retries, timeouts, truncation, landing."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from public_health.demo.fingertips_stub import StubServer, generate_dataset
from public_health.demo.fingertips_stub.fixtures import FixtureDataset
from public_health.fingertips.client import Area, FingertipsClient, FingertipsError, RetryPolicy, normalise_polarity


@pytest.fixture(scope="module")
def dataset() -> FixtureDataset:
    return generate_dataset(indicators=4, n_periods=3, sexes=("Persons", "Male", "Female"), seed=7)


@pytest.fixture(scope="module")
def server(dataset: FixtureDataset) -> Iterator[StubServer]:
    with StubServer(dataset) as s:
        yield s


@pytest.fixture()
def stub(server: StubServer) -> Iterator[StubServer]:
    server.clear_faults()
    server.requests_log.clear()
    yield server
    server.clear_faults()


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture()
def sleeps() -> Recorder:
    return Recorder()


@pytest.fixture()
def client(stub: StubServer, sleeps: Recorder) -> Iterator[FingertipsClient]:
    c = FingertipsClient(stub.base_url, connect_timeout=2, read_timeout=5, retry=RetryPolicy(max_attempts=4, backoff_initial=2, backoff_max=60), sleep=sleeps)
    yield c
    c.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- endpoints --------------------------------------------------------------------------------------


def test_profiles_and_profile_indicator_ids(client: FingertipsClient, dataset: FixtureDataset) -> None:
    profiles = client.profiles()
    phof = next(p for p in profiles if p["Id"] == 19)
    assert phof["Name"] == "Public Health Outcomes Framework" and phof["GroupIds"]
    assert sorted(client.profile_indicator_ids(19)) == sorted(dataset.indicators)


def test_unknown_profile_is_a_clear_error(client: FingertipsClient) -> None:
    with pytest.raises(FingertipsError, match="no profile 999"):
        client.profile_indicator_ids(999)


def test_area_types_and_areas(client: FingertipsClient) -> None:
    types = {t["Id"]: t for t in client.area_types()}
    assert types[6]["Short"] == "Region" and 502 in types and 15 in types
    assert client.areas_by_area_type(15) == [Area("E92000001", "England", "England", 15)]
    regions = client.areas_by_area_type(6)
    assert len(regions) == 9 and "E12000004" in {a.code for a in regions}
    utlas = {a.code: a for a in client.areas_by_area_type(502)}
    assert len(utlas) == 153
    assert utlas["E10000018"].name == "Leicestershire" and utlas["E06000016"].name == "Leicester"
    assert utlas["E06000017"].area_type_id == 502


def test_parent_to_child_areas(client: FingertipsClient) -> None:
    mapping = client.parent_to_child_areas(502, 6)
    assert set(mapping) == {f"E1200000{i}" for i in range(1, 10)}
    assert {"E10000018", "E06000016", "E06000017"} <= set(mapping["E12000004"])
    assert sum(len(v) for v in mapping.values()) == 153


def test_nearest_neighbours_in_rank_order(client: FingertipsClient, dataset: FixtureDataset, stub: StubServer) -> None:
    for code in ("E10000018", "E06000016", "E06000017"):
        nns = client.nearest_neighbours(code, 502, 1)
        assert [a.code for a in nns] == dataset.neighbours[code]
        assert len(nns) == 15 and code not in {a.code for a in nns}
    assert any("parent_area_code=nn-1-E10000018" in p for p in stub.requests_log)


def test_indicator_metadata(client: FingertipsClient, dataset: FixtureDataset) -> None:
    ids = sorted(dataset.indicators)
    metas = client.indicator_metadata([*ids, 1234567])  # an unknown id is simply absent
    assert [m.indicator_id for m in metas] == ids
    for m in metas:
        spec = dataset.indicators[m.indicator_id]
        assert m.name == spec.name and m.unit == spec.unit and m.value_type == spec.value_type
        assert m.polarity == spec.polarity and m.polarity_code == normalise_polarity(spec.polarity)
        assert m.last_upload == spec.last_upload and m.source == spec.source
        assert m.raw["IID"] == m.indicator_id


@pytest.mark.parametrize(
    ("label", "code"),
    [("RAG - High is good", "high_is_good"), ("RAG - Low is good   ", "low_is_good"),
     ("BOB - Blue orange blue", "neither"), ("Not applicable", "neither"), ("", None), (None, None)],
)
def test_polarity_normalisation(label: str | None, code: str | None) -> None:
    assert normalise_polarity(label) == code


def test_last_upload_dates_follow_revisions(client: FingertipsClient, dataset: FixtureDataset) -> None:
    iid = sorted(dataset.indicators)[0]
    before = client.last_upload_dates([iid])[iid]
    assert before == dataset.indicators[iid].last_upload
    period = dataset.periods(iid)[-1][0]
    dataset.revise(iid, "E10000018", period, 123.0, uploaded_at=datetime(2030, 1, 2, 3, 4, 5))
    after = client.last_upload_dates([iid, 4242])
    assert after[iid] == datetime(2030, 1, 2, 3, 4, 5) and after[4242] is None


def test_probe(client: FingertipsClient, stub: StubServer) -> None:
    assert client.probe(1.0) is True
    assert len(stub.requests_log) == 1
    dead = FingertipsClient(f"http://127.0.0.1:{_closed_port()}/api")
    assert dead.probe(0.5) is False


def test_probe_makes_one_request_even_on_error(client: FingertipsClient, stub: StubServer, sleeps: Recorder) -> None:
    stub.inject("status", status=503, times=5)
    assert client.probe(1.0) is False
    assert len(stub.requests_log) == 1 and sleeps.waits == []


# ---- retries ----------------------------------------------------------------------------------------


def test_retries_on_500_then_succeeds(client: FingertipsClient, stub: StubServer, sleeps: Recorder) -> None:
    stub.inject("status", status=500, times=2, path_contains="area_types")
    assert client.area_types()
    assert sleeps.waits == [2, 4]
    assert len(stub.requests_log) == 3


def test_429_honours_retry_after(client: FingertipsClient, stub: StubServer, sleeps: Recorder) -> None:
    stub.inject("rate_limit", retry_after=3, times=1)
    assert client.profiles()
    assert sleeps.waits == [3]


def test_retry_after_is_capped_at_backoff_max(stub: StubServer, sleeps: Recorder) -> None:
    c = FingertipsClient(stub.base_url, retry=RetryPolicy(max_attempts=2, backoff_initial=1, backoff_max=5), sleep=sleeps)
    stub.inject("rate_limit", retry_after=3600, times=1)
    assert c.profiles()
    assert sleeps.waits == [5]


def test_backoff_is_capped(stub: StubServer, sleeps: Recorder) -> None:
    c = FingertipsClient(stub.base_url, retry=RetryPolicy(max_attempts=5, backoff_initial=2, backoff_max=5), sleep=sleeps)
    stub.inject("status", status=502, times=4)
    assert c.area_types()
    assert sleeps.waits == [2, 4, 5, 5]


def test_gives_up_after_max_attempts(stub: StubServer, sleeps: Recorder) -> None:
    c = FingertipsClient(stub.base_url, retry=RetryPolicy(max_attempts=3, backoff_initial=1), sleep=sleeps)
    stub.inject("status", status=503, times=10)
    with pytest.raises(FingertipsError) as info:
        c.areas_by_area_type(502)
    err = info.value
    assert err.status == 503 and err.attempts == 3
    assert err.url == f"{stub.base_url}/areas/by_area_type?area_type_id=502"
    assert err.url in str(err) and "HTTP 503" in str(err) and "3 attempt" in str(err)
    assert sleeps.waits == [1, 2] and len(stub.requests_log) == 3


def test_no_retry_on_404(client: FingertipsClient, stub: StubServer, sleeps: Recorder) -> None:
    stub.inject("status", status=404, times=5)
    with pytest.raises(FingertipsError) as info:
        client.area_types()
    assert info.value.status == 404 and "HTTP 404" in str(info.value) and "not retried" in str(info.value)
    assert sleeps.waits == [] and len(stub.requests_log) == 1


def test_no_retry_on_400_from_the_api(client: FingertipsClient, stub: StubServer, sleeps: Recorder) -> None:
    with pytest.raises(FingertipsError, match="HTTP 400"):
        client.download_all_data([90001], 502, 999, Path("/nonexistent-never-created"))
    assert sleeps.waits == []


def test_read_timeout_is_retried(stub: StubServer, sleeps: Recorder) -> None:
    c = FingertipsClient(stub.base_url, read_timeout=0.3, retry=RetryPolicy(max_attempts=3, backoff_initial=0.01), sleep=sleeps)
    stub.inject("slow", delay=1.0, times=1)
    assert c.area_types()
    assert len(sleeps.waits) == 1


def test_read_timeout_gives_up_naming_the_url(stub: StubServer, sleeps: Recorder) -> None:
    c = FingertipsClient(stub.base_url, read_timeout=0.2, retry=RetryPolicy(max_attempts=2, backoff_initial=0.01), sleep=sleeps)
    stub.inject("slow", delay=0.8, times=5)
    with pytest.raises(FingertipsError) as info:
        c.profiles()
    assert info.value.url == f"{stub.base_url}/profiles" and info.value.status is None
    assert f"{stub.base_url}/profiles" in str(info.value) and "Timeout" in str(info.value)


def test_connection_refused(sleeps: Recorder) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api"
    c = FingertipsClient(url, connect_timeout=0.5, retry=RetryPolicy(max_attempts=2, backoff_initial=0.01), sleep=sleeps)
    with pytest.raises(FingertipsError, match="ConnectionError") as info:
        c.area_types()
    assert info.value.url == f"{url}/area_types" and len(sleeps.waits) == 1


# ---- download --------------------------------------------------------------------------------------


def test_download_lands_content_addressed_file(client: FingertipsClient, dataset: FixtureDataset,
                                               tmp_path: Path) -> None:
    ids = sorted(dataset.indicators)
    landed = client.download_all_data(list(reversed(ids)), 502, 6, tmp_path)
    data = landed.path.read_bytes()
    assert landed.sha256 == hashlib.sha256(data).hexdigest()
    assert landed.size_bytes == len(data)
    assert landed.path.name.startswith(landed.sha256[:16] + "-") and landed.path.suffix == ".csv"
    assert landed.url == (f"{client.base_url}/all_data/csv/by_indicator_id?indicator_ids={','.join(map(str, ids))}"
                          "&child_area_type_id=502&parent_area_type_id=6")
    assert data.decode().startswith("Indicator ID,Indicator Name,")
    assert data.count(b"\n") == dataset.row_count(ids) + 1
    assert [p.name for p in tmp_path.iterdir()] == [landed.path.name]
    again = client.download_all_data(ids, 502, 6, tmp_path)
    assert again.path == landed.path and again.sha256 == landed.sha256


@pytest.mark.parametrize("mode", ["length", "chunked"])
def test_truncated_body_is_retried_and_never_lands(client: FingertipsClient, stub: StubServer, sleeps: Recorder,
                                                   dataset: FixtureDataset, tmp_path: Path, mode: str) -> None:
    stub.inject("truncate", path_contains="all_data", fraction=0.4, mode=mode, times=1)
    landed = client.download_all_data(sorted(dataset.indicators), 502, 6, tmp_path)
    assert sleeps.waits == [2]
    assert hashlib.sha256(landed.path.read_bytes()).hexdigest() == landed.sha256
    assert [p.name for p in tmp_path.iterdir()] == [landed.path.name]


@pytest.mark.parametrize("mode", ["length", "chunked"])
def test_truncated_every_time_gives_up_without_a_file(stub: StubServer, sleeps: Recorder, dataset: FixtureDataset,
                                                      tmp_path: Path, mode: str) -> None:
    c = FingertipsClient(stub.base_url, retry=RetryPolicy(max_attempts=3, backoff_initial=0.01), sleep=sleeps)
    stub.inject("truncate", path_contains="all_data", fraction=0.5, mode=mode, times=10)
    with pytest.raises(FingertipsError) as info:
        c.download_all_data(sorted(dataset.indicators), 502, 6, tmp_path)
    assert "all_data/csv/by_indicator_id" in str(info.value) and "3 attempt" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_download_retries_5xx(client: FingertipsClient, stub: StubServer, sleeps: Recorder, tmp_path: Path) -> None:
    stub.inject("status", status=502, path_contains="all_data", times=1)
    landed = client.download_all_data([90001], 502, 6, tmp_path)
    assert landed.size_bytes > 0 and sleeps.waits == [2]


def _fingertips_settings(**update):
    from public_health.config import FingertipsSettings, RetrySettings

    fs = FingertipsSettings(
        base_url="https://fingertips.phe.org.uk/api", offline=True, connect_timeout_s=2, read_timeout_s=30,
        probe_timeout_s=1, retry=RetrySettings(max_attempts=2, backoff_initial_s=0.1, backoff_max_s=1),
        batch_size=25, profile_id=19, child_area_type_id=502, parent_area_type_id=6, nearest_neighbour_type_id=1,
    )
    return fs.model_copy(update=update)


def test_from_settings_offline_on_the_live_url_is_refused_and_says_what_to_do() -> None:
    import threading

    from public_health.config import ConfigError

    threads = set(threading.enumerate())
    with pytest.raises(ConfigError) as info:
        FingertipsClient.from_settings(_fingertips_settings())
    message = str(info.value)
    assert "FINGERTIPS_BASE_URL" in message and "make stub" in message and "FINGERTIPS_OFFLINE" in message
    assert "https://fingertips.phe.org.uk/api" in message
    assert {t.name for t in set(threading.enumerate()) - threads} == set()   # no stub was started


def test_from_settings_offline_uses_the_local_base_url_and_starts_no_stub(server: StubServer) -> None:
    import threading

    stub_threads = sum(t.name == "fingertips-stub" for t in threading.enumerate())
    a = FingertipsClient.from_settings(_fingertips_settings(base_url=server.base_url))
    assert a.base_url == server.base_url
    assert sum(t.name == "fingertips-stub" for t in threading.enumerate()) == stub_threads
    assert a.probe(1)
    assert a.max_attempts == 2 and a.timeout == (2, 30)
    assert [x.code for x in a.nearest_neighbours("E06000016", 502)][:1] == ["E06000018"]
    a.close()
    online = FingertipsClient.from_settings(_fingertips_settings(offline=False))
    assert online.base_url == "https://fingertips.phe.org.uk/api"
    online.close()


@pytest.mark.parametrize("status, permanent", [(None, False), (400, True), (404, True), (408, False), (429, False),
                                               (500, False), (503, False), (200, True)])
def test_permanent_errors_are_marked_so_the_task_is_not_retried(status: int | None, permanent: bool) -> None:
    assert FingertipsError("x", url="http://x", status=status).permanent is permanent
