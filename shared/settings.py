"""Settings read from environment variables, with the defaults the Makefile documents."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The models `make model` trains (shared/train.py), cheapest first; MODEL_NAME picks the one served. The
# first, a logistic regression, is the default: the one every published figure is for.
MODEL_NAMES = ("penguin-species", "hist-gradient-boosting", "random-forest-100", "random-forest-500")


class SettingsError(ValueError):
    """An environment variable holds a value the services cannot use."""


def positive_int_from_env(name: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    raw = environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SettingsError(f"{name} must be a positive integer, got {raw!r}")
    return value


def positive_float_from_env(name: str, default: float, environ: Mapping[str, str] = os.environ) -> float:
    raw = environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise SettingsError(f"{name} must be a positive number, got {raw!r}")
    return value


def bool_from_env(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    model_dir: Path = REPO_ROOT / "models"
    max_body_bytes: int = 1 << 20
    upstream_url: str = "http://127.0.0.1:8003"
    upstream_timeout_s: float = 1.0
    docs_enabled: bool = True
    model_name: str = MODEL_NAMES[0]
    # A scikit-learn pipeline of one's own, with its card beside it (examples/own_model.py), served instead.
    model_path: Path | None = None

    def __post_init__(self) -> None:
        if self.model_name not in MODEL_NAMES:
            raise SettingsError(
                f"MODEL_NAME must be one of {', '.join(MODEL_NAMES)}; got {self.model_name!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        defaults = cls()
        if environ.get("MODEL_NAME") and environ.get("MODEL_PATH"):
            raise SettingsError(
                "MODEL_NAME and MODEL_PATH are both set: set one, to say which model to serve"
            )
        return cls(
            model_dir=Path(environ.get("MODEL_DIR", str(defaults.model_dir))),
            max_body_bytes=positive_int_from_env("MAX_BODY_BYTES", defaults.max_body_bytes, environ),
            upstream_url=environ.get("UPSTREAM_URL", defaults.upstream_url).rstrip("/"),
            upstream_timeout_s=positive_float_from_env(
                "UPSTREAM_TIMEOUT_S", defaults.upstream_timeout_s, environ
            ),
            docs_enabled=bool_from_env("DOCS_ENABLED", defaults.docs_enabled, environ),
            model_name=environ.get("MODEL_NAME") or defaults.model_name,
            model_path=Path(path) if (path := environ.get("MODEL_PATH")) else None,
        )
