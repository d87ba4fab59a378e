"""GET /penguins/{penguin_id}/prediction: fetched from the upstream observation service, then predicted.

The apps run in-process against the real upstream service on a free port, with faults switched on by its
settings; the last tests run the services under their real servers too.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.limits import PENGUIN_FIELDS
from shared.observations import observations
from shared.settings import Settings
from shared.upstream import BAD_OBSERVATION
from tests.canned_upstream import BAD_OBSERVATION_IDS, ERRORING_ID, SLOW_ID, UNKNOWN_ID
from tests.clients import FRAMEWORKS, ApiClient, make_client
from tests.servers import LiveServer, free_port, live_server


@pytest.fixture(scope="module")
def faulty_upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveServer]]:
    """An upstream that always fails, and one slower than the services' timeout."""
    logs = tmp_path_factory.mktemp("faulty-upstreams")
    with (
        live_server("upstream", logs, env={"UPSTREAM_ERROR_RATE": "1"}) as erroring,
        live_server("upstream", logs, env={"UPSTREAM_SLOW_RATE": "1", "UPSTREAM_SLOW_MS": "3000"}) as slow,
    ):
        yield {"erroring": erroring, "slow": slow}


def test_prediction_of_an_observed_penguin(client: ApiClient) -> None:
    reply = client.request("GET", "/penguins/1/prediction")
    assert reply.status == 200
    body = reply.json()
    assert list(body) == ["penguin_id", "species", "probabilities", "model_version"]
    assert body["penguin_id"] == 1
    assert body["species"] == observations()[1]["species"]
    # The same fields sent by the client itself: the upstream's observation reached the model unchanged.
    penguin = {name: observations()[1][name] for name in PENGUIN_FIELDS}
    assert body["probabilities"] == client.request("POST", "/predict", json=penguin).json()["probabilities"]


def test_observation_without_sex(client: ApiClient) -> None:
    assert observations()[9]["sex"] is None
    assert client.request("GET", "/penguins/9/prediction").status == 200


@pytest.mark.parametrize("penguin_id", [4, 272, 345, 10**30])
def test_penguin_without_observation_is_404(client: ApiClient, penguin_id: int) -> None:
    reply = client.request("GET", f"/penguins/{penguin_id}/prediction")
    assert reply.status == 404
    assert reply.json() == {"detail": f"No observation of penguin {penguin_id}"}


@pytest.fixture(scope="module", params=FRAMEWORKS)
def client_of_bad_upstream(request: pytest.FixtureRequest, bad_upstream: str) -> Iterator[ApiClient]:
    with make_client(request.param, Settings(upstream_url=bad_upstream)) as client:
        yield client


@pytest.mark.parametrize("name", BAD_OBSERVATION_IDS)
def test_bad_observation_is_502(client_of_bad_upstream: ApiClient, name: str) -> None:
    """Checked by the rules of a request's Penguin: never predicted on (a mass of a million), never a 500."""
    reply = client_of_bad_upstream.request("GET", f"/penguins/{BAD_OBSERVATION_IDS[name]}/prediction")
    assert (reply.status, reply.json()) == (502, {"detail": BAD_OBSERVATION})


def test_a_good_observation_of_the_same_upstream_is_predicted(client_of_bad_upstream: ApiClient) -> None:
    assert client_of_bad_upstream.request("GET", "/penguins/1/prediction").status == 200


@pytest.mark.parametrize(
    ("raw_id", "error_type"),
    [
        ("abc", "int_parsing"),
        ("1.5", "int_parsing"),
        ("1e3", "int_parsing"),
        ("%D9%A3", "int_parsing"),
        ("0", "greater_than"),
        ("-3", "greater_than"),
    ],
)
def test_penguin_id_must_be_a_positive_integer(client: ApiClient, raw_id: str, error_type: str) -> None:
    reply = client.request("GET", f"/penguins/{raw_id}/prediction")
    assert reply.status == 422
    (error,) = reply.json()["detail"]
    assert error["loc"] == ["path", "penguin_id"]
    assert error["type"] == error_type


def test_whole_decimal_id_is_accepted_as_pydantic_does(client: ApiClient) -> None:
    assert client.request("GET", "/penguins/2.0/prediction").json()["penguin_id"] == 2


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_upstream_down_is_503_quickly(framework: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with make_client(framework, Settings(upstream_url=closed)) as client:
        started = time.monotonic()
        reply = client.request("GET", "/penguins/1/prediction")
        assert time.monotonic() - started < 1.0
        assert reply.status == 503
        assert reply.json() == {"detail": "The observation service is unavailable"}
        assert client.request("GET", "/health").status == 200


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_upstream_errors_are_503(framework: str, faulty_upstreams: dict[str, LiveServer]) -> None:
    with make_client(framework, Settings(upstream_url=faulty_upstreams["erroring"].url)) as client:
        reply = client.request("GET", "/penguins/1/prediction")
    assert reply.status == 503


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_slow_upstream_is_504_within_the_timeout(
    framework: str, faulty_upstreams: dict[str, LiveServer]
) -> None:
    settings = Settings(upstream_url=faulty_upstreams["slow"].url, upstream_timeout_s=0.3)
    with make_client(framework, settings) as client:
        started = time.monotonic()
        reply = client.request("GET", "/penguins/1/prediction")
        elapsed = time.monotonic() - started
    assert reply.status == 504
    assert reply.json() == {"detail": "The observation service did not answer in time"}
    assert 0.3 <= elapsed < 1.5


@pytest.fixture(scope="module", params=FRAMEWORKS)
def served_from_canned(
    request: pytest.FixtureRequest, bad_upstream: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Each service under its server, its upstream the canned one: every fault and bad observation by id,
    one start each (a start per upstream was most of this file's time)."""
    env = {"UPSTREAM_URL": bad_upstream, "UPSTREAM_TIMEOUT_S": "0.5", "WORKERS": "1"}
    with live_server(request.param, tmp_path_factory.mktemp("canned"), env=env) as server:
        yield server


@pytest.mark.live
def test_live_faults(served_from_canned: LiveServer) -> None:
    """Under gunicorn and uvicorn: 404 for an unknown penguin, 503 for the upstream's error, 504 within the
    timeout for a slow upstream, the service healthy after each."""
    with httpx.Client(base_url=served_from_canned.url, timeout=5) as http:
        for penguin_id, status in ((UNKNOWN_ID, 404), (ERRORING_ID, 503), (SLOW_ID, 504)):
            started = time.monotonic()
            reply = http.get(f"/penguins/{penguin_id}/prediction")
            assert (reply.status_code, time.monotonic() - started < 1.5) == (status, True), penguin_id
            assert http.get("/health").status_code == 200


@pytest.mark.live
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_live_unreachable_upstream_is_503(framework: str, tmp_path: Path) -> None:
    env = {"UPSTREAM_URL": f"http://127.0.0.1:{free_port()}", "UPSTREAM_TIMEOUT_S": "0.5", "WORKERS": "1"}
    with live_server(framework, tmp_path, env=env) as server, httpx.Client(base_url=server.url) as http:
        started = time.monotonic()
        assert http.get("/penguins/1/prediction").status_code == 503
        assert time.monotonic() - started < 1.5
        assert http.get("/health").status_code == 200


@pytest.mark.live
def test_live_bad_observations_are_502(served_from_canned: LiveServer) -> None:
    """Under gunicorn, uvicorn: each bad observation is a 502 with the contract's body, a good one 200."""
    with httpx.Client(base_url=served_from_canned.url) as http:
        answers = {name: http.get(f"/penguins/{i}/prediction") for name, i in BAD_OBSERVATION_IDS.items()}
        assert {name: (r.status_code, r.json()) for name, r in answers.items()} == {
            name: (502, {"detail": BAD_OBSERVATION}) for name in BAD_OBSERVATION_IDS
        }
        assert http.get("/penguins/1/prediction").status_code == 200
