"""`python -m loadtests.bench.inprocess.upstream_client`, the measurement behind the services' choice of
httpx2: it runs every client against a real upstream and prints one row each. Tiny numbers; the figures are
not judged."""

import os

import pytest

from loadtests.bench.inprocess import upstream_client


@pytest.mark.live
def test_it_measures_every_client_against_a_real_upstream(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--latency-ms", "0", "--concurrency", "4", "--calls", "40", "--repeats", "2"]
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    assert upstream_client.main(args) == 0
    if hasattr(os, "sched_getaffinity"):
        assert os.sched_getaffinity(0) == affinity, "it pins itself while measuring, and only then"
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| httpx")]
    clients = [tuple(cell.strip().split()[0] for cell in row.split("|")[1:4]) for row in rows]
    assert clients == [
        (library, client, runs_on)
        for library in ("httpx", "httpx2")
        for client, runs_on in (("AsyncClient", "asyncio"), ("AsyncClient", "uvloop"), ("Client", "4"))
    ]
    assert "4 concurrent callers, upstream latency 0 ms" in out


def test_it_refuses_an_unknown_library(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        upstream_client.main(["--libraries", "requests"])
    assert "--libraries: a comma list of httpx, httpx2, got requests" in capsys.readouterr().err
