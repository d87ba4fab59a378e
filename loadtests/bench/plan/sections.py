"""Which report sections a profile's plan produces: the report's headings (render/report.py writes these very
strings), each with what a profile must measure for it. The docs name sections and profiles; a test holds
them to this table (tests/test_docs_plan.py), so that a page cannot point to a section a profile no longer
writes. Pure data."""

from collections.abc import Callable

from loadtests.bench.plan.config import NGINX_PAIR, Profile

VERDICT = "Verdict"
PAIR_RATIOS = "Pair ratios"
BEHIND_NGINX = "As deployed in production: behind nginx"
WORKER_COUNTS = "Worker counts"
LATENCY = "Latency against load"  # one per curve scenario: "Latency against load: predict"
CROSSCHECK = "Cross-check: Locust and wrk"
MACHINE = "The machine"
TIME_GOES = "Where the time goes"
CROSSOVER = "The crossover"
VERIFICATION = "Verification"


def measured(profile: Profile) -> set[str]:
    """Every variant key the profile's plan compares on some scenario, its worker sweep's included."""
    return {key for keys in profile.variants.values() for key in keys} | set(profile.sweep)


SECTIONS: dict[str, Callable[[Profile], bool]] = {
    VERDICT: lambda p: True,
    PAIR_RATIOS: lambda p: True,
    BEHIND_NGINX: lambda p: set(NGINX_PAIR) <= measured(p),
    WORKER_COUNTS: lambda p: bool(p.sweep),
    LATENCY: lambda p: bool(p.curve_scenarios),
    CROSSCHECK: lambda p: bool(p.wrk_scenarios),
    MACHINE: lambda p: True,
    TIME_GOES: lambda p: True,
    CROSSOVER: lambda p: bool(p.models),
    VERIFICATION: lambda p: True,
}


def writes(profile: Profile, section: str) -> bool:
    """Whether a run of the profile writes the section (a curve's heading adds its scenario after a colon)."""
    known = section if section in SECTIONS else section.split(":")[0]
    return known in SECTIONS and SECTIONS[known](profile)
