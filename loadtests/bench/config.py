"""The bench's knobs (make variables) and the choices derived from them, such as the equal-load rate."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from loadtests.bench.servers import IO_VARIANTS, VARIANTS, ServerVariant
from loadtests.scenarios import SCENARIOS, UPSTREAM, Scenario
from shared.settings import REPO_ROOT

AUTO_RATE_SHARE = 0.5  # the equal-load rate, as a share of the slower variant's capacity


@dataclass(frozen=True)
class BenchConfig:
    scenarios: tuple[Scenario, ...]
    duration_s: int = 8  # measured seconds per run
    warmup_s: int = 2  # seconds before each run's window, not counted
    users: int = 32
    rate: dict[str, float] | None = None  # scenario -> requests/s; None: derived from the capacities
    repeats: int = 1
    workers: int | None = None  # None: one per CPU given to the servers
    results_root: Path = REPO_ROOT / "results"
    variants: tuple[ServerVariant, ...] = VARIANTS  # the default deployments, in every scenario
    extra_variants: tuple[ServerVariant, ...] = IO_VARIANTS  # those only some scenarios list (io)
    locust_processes: int = 1  # > 1: Locust's --processes, a master and this many workers
    upstream_latency_ms: float = 50.0  # the upstream's delay, for the scenarios that have one (io)

    @property
    def spawn_rate(self) -> float:
        """Every user within the first second, well inside the warm-up."""
        return float(self.users)

    def variants_for(self, scenario: Scenario) -> list[ServerVariant]:
        """The variants a scenario compares, in catalogue order (the defaults first)."""
        return [v for v in (*self.variants, *self.extra_variants) if v.key in scenario.variants]

    @property
    def needed_variants(self) -> list[ServerVariant]:
        """Every variant some selected scenario compares: the servers the bench starts."""
        keys = {v.key for scenario in self.scenarios for v in self.variants_for(scenario)}
        return [v for v in (*self.variants, *self.extra_variants) if v.key in keys]

    @property
    def needs_upstream(self) -> bool:
        return any(UPSTREAM in scenario.auxiliaries for scenario in self.scenarios)

    @property
    def run_count(self) -> int:
        return sum(
            len(self.variants_for(s)) * self.repeats * (2 if s.equal_load else 1) for s in self.scenarios
        )


def parse_scenarios(text: str) -> tuple[Scenario, ...]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or names == ["all"]:
        return tuple(SCENARIOS.values())
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    return tuple(SCENARIOS[name] for name in dict.fromkeys(names))


def parse_rate(text: str, scenarios: tuple[Scenario, ...]) -> dict[str, float] | None:
    """ "" or "auto": derived; "500": every scenario; "predict=500,batch=40": those, the others derived."""
    text = text.strip()
    if text in {"", "auto"}:
        return None
    if "=" not in text:
        return {scenario.name: positive(text) for scenario in scenarios}
    rates = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in SCENARIOS:
            raise ValueError(f"RATE names an unknown scenario: {name.strip()!r}")
        rates[name.strip()] = positive(value)
    return rates


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise ValueError(f"expected a positive number, got {text!r}")
    return value


def round_down(value: float, digits: int = 2) -> float:
    """To `digits` significant digits, rounding down: 1234 -> 1200, 37.9 -> 37."""
    if value <= 0:
        return 0.0
    scale = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return round(math.floor(value / scale) * scale, 10)


def equal_load_rate(
    scenario: str, capacities: Mapping[str, float | None], fixed: dict[str, float] | None
) -> tuple[float, str] | None:
    """The rate every variant gets for a scenario's equal-load run, and where it comes from."""
    if fixed and scenario in fixed:
        return fixed[scenario], "RATE"
    measured = {key: value for key, value in capacities.items() if value}
    if not measured:
        return None
    slower = min(measured, key=lambda key: measured[key])
    rate = max(1.0, round_down(AUTO_RATE_SHARE * measured[slower]))
    return rate, f"{AUTO_RATE_SHARE:.0%} of the slower capacity ({slower}, {measured[slower]:.0f} rps)"
