"""Unit tests of shared/: the model, its artifact, the encoding, the settings and the error vocabulary."""

import json
import shutil
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from shared.errors import is_json_media_type
from shared.examples import KNOWN_PENGUINS, batch_of, expected_species_of_batch
from shared.features import ENCODED_FEATURES, encode
from shared.limits import SPECIES
from shared.model import ModelArtifactError, PenguinModel, artifact_paths, load_model
from shared.settings import Settings, SettingsError
from shared.train import MIN_ACCURACY, save, train


@pytest.fixture(scope="module")
def model() -> PenguinModel:
    return load_model(Settings.from_env().model_dir)


@pytest.fixture
def artifact_copy(tmp_path: Path) -> Path:
    for path in artifact_paths(Settings.from_env().model_dir):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_training_is_deterministic_and_accurate() -> None:
    first, card = train()
    second, _ = train()
    x = encode(batch_of(30)["items"])
    assert np.array_equal(first.predict_proba(x), second.predict_proba(x))
    assert card["metrics"]["accuracy"] >= MIN_ACCURACY
    assert card["classes"] == list(SPECIES)


def test_card_carries_its_metadata(model: PenguinModel) -> None:
    card = model.card
    for key in ("name", "version", "sklearn_version", "features", "classes", "metrics", "sha256"):
        assert key in card
    assert card["encoded_features"] == ENCODED_FEATURES


@pytest.mark.parametrize("species", SPECIES)
def test_known_penguins(model: PenguinModel, species: str) -> None:
    prediction = model.predict_one(KNOWN_PENGUINS[species])
    assert prediction.species == species
    assert prediction.probabilities[species] > 0.9
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)


def test_batch_is_one_model_call(model: PenguinModel, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = model.estimator.predict_proba

    def counting(x: Any) -> Any:
        calls.append(len(x))
        return original(x)

    monkeypatch.setattr(model.estimator, "predict_proba", counting)
    predictions = model.predict_many(batch_of(1000)["items"])
    assert calls == [1000]
    assert [p.species for p in predictions] == expected_species_of_batch(1000)


def test_encoding_of_a_missing_sex() -> None:
    row = encode([{**KNOWN_PENGUINS["Adelie"], "sex": None}])[0]
    sex_columns = [i for i, name in enumerate(ENCODED_FEATURES) if name.startswith("sex=")]
    assert row[sex_columns].tolist() == [0.0, 0.0]
    assert row[ENCODED_FEATURES.index("island=Torgersen")] == 1.0


def test_missing_artifact_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="make model"):
        load_model(tmp_path)


def test_corrupted_artifact_is_refused(artifact_copy: Path) -> None:
    estimator_path, _ = artifact_paths(artifact_copy)
    estimator_path.write_bytes(estimator_path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelArtifactError, match=r"Checksum mismatch.*make model"):
        load_model(artifact_copy)


def test_what_is_unpickled_is_what_was_hashed(artifact_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pickle changes on disk right after its checksum was checked: what loads is the checked one."""
    estimator_path, _ = artifact_paths(artifact_copy)
    read_bytes = Path.read_bytes

    def then_swapped(path: Path) -> bytes:
        data = read_bytes(path)
        if path == estimator_path:
            joblib.dump({"not": "the model"}, estimator_path)  # written after the read, before the load
        return data

    monkeypatch.setattr(Path, "read_bytes", then_swapped)
    model = load_model(artifact_copy)
    assert model.predict_one(KNOWN_PENGUINS["Gentoo"]).species == "Gentoo"


def test_artifact_from_another_scikit_learn_is_refused(artifact_copy: Path) -> None:
    _, card_path = artifact_paths(artifact_copy)
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "sklearn_version": "0.24.2"}))
    with pytest.raises(ModelArtifactError, match=r"scikit-learn 0\.24\.2.*make model"):
        load_model(artifact_copy)


def test_saved_artifact_loads(tmp_path: Path) -> None:
    estimator, card = train()
    save(estimator, card, tmp_path)
    assert load_model(tmp_path).predict_one(KNOWN_PENGUINS["Gentoo"]).species == "Gentoo"


def test_settings_from_env() -> None:
    settings = Settings.from_env(
        {"MAX_BODY_BYTES": "2048", "UPSTREAM_URL": "http://127.0.0.1:9/", "DOCS_ENABLED": "false"}
    )
    assert settings.max_body_bytes == 2048
    assert settings.upstream_url == "http://127.0.0.1:9"
    assert settings.docs_enabled is False
    assert Settings.from_env({}) == Settings()


@pytest.mark.parametrize(
    "environ",
    [
        {"MAX_BODY_BYTES": "lots"},
        {"MAX_BODY_BYTES": "0"},
        {"UPSTREAM_TIMEOUT_S": "-1"},
        {"DOCS_ENABLED": "maybe"},
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str]) -> None:
    (name,) = environ
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(environ)


def test_error_vocabulary() -> None:
    assert is_json_media_type("Application/JSON; charset=utf-8")
    assert not is_json_media_type("application/jsonp")
    assert not is_json_media_type(None)
