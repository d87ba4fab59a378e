"""The bench's example variants (examples/): each answers as the service does, its one change in place."""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.examples import KNOWN_PENGUINS, batch_of, expected_species_of_batch


def threads_running_the_model(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads a started app's model predicts on, from now on."""
    names: list[str] = []
    model = app.state.penguin_model
    predict_many = model.predict_many

    def spied(penguins: Any) -> Any:
        names.append(threading.current_thread().name)
        return predict_many(penguins)

    monkeypatch.setattr(model, "predict_many", spied)
    return names


@pytest.fixture
def async_predict() -> Iterator[FastAPI]:
    from examples.fastapi_async_predict import with_async_routes
    from fastapi_service.app import create_app

    yield with_async_routes(create_app())


def test_async_def_predictions_run_on_the_event_loop_not_the_thread_pool(
    async_predict: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi_service.app import create_app

    service = create_app()
    with TestClient(service) as client, TestClient(async_predict) as example:
        on_the_pool = threads_running_the_model(service, monkeypatch)
        on_the_loop = threads_running_the_model(async_predict, monkeypatch)
        for http in (client, example):
            reply = http.post("/predict", json=KNOWN_PENGUINS["Gentoo"])
            assert reply.status_code == 200 and reply.json()["species"] == "Gentoo"
            batch = http.post("/predict/batch", json=batch_of(4)).json()
            assert [p["species"] for p in batch["predictions"]] == expected_species_of_batch(4)
        # The contract's guard still stands in front of the swapped routes.
        refused = example.post("/predict", content=b"{}", headers={"Content-Type": "text/plain"})
        assert refused.status_code == 415
    assert len(on_the_pool) == len(on_the_loop) == 2
    assert all(name.startswith("AnyIO worker thread") for name in on_the_pool)
    assert not any(name.startswith("AnyIO worker thread") for name in on_the_loop)
