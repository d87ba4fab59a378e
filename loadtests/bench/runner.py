"""One bench run, phase by phase: the model and the split in-process on the servers' CPUs before any server
starts (inprocess/pinned.py); the upstream if a scenario needs it (io), on the generator's CPUs; then per
scenario, or per group of scenarios run together (per model, in the crossover), the capacity rounds
(plan/slices.py), the precision rule's rounds, and the latency curves at rates taken from them; then the raw
records written and the summary and report made from them (render/output.py).

The precision rule (Bench.refine): after the profile's rounds, while a comparison the verdict leads with has
a requests/s interval wider than PRECISION of its figure (results/precision.py), one more round of the
variants it needs, until every one is precise or the run's budget is spent; the budget left is shared
evenly among the groups still to run, and a figure that reached it is named in the verdict.

One path for both ways of running it: `make bench` starts each server variant when its turn comes, pinned
to the servers' CPUs (targets/pool.py, StartedServers); the compose bench attaches to running services
(loadtests/external.py, AttachedServers). The command line is cli.py.
"""

import os
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests.bench.inprocess.pinned import InProcessFigures, measure_in_process, split_scenarios
from loadtests.bench.load import wrk
from loadtests.bench.load.locust import LoadPlan, Placement, run_load
from loadtests.bench.load.sampling import drain
from loadtests.bench.load.setting import setting_record
from loadtests.bench.machine.environment import git_revision
from loadtests.bench.machine.speed import probe_us
from loadtests.bench.plan import slices as plan
from loadtests.bench.plan.config import BenchConfig, curve_rates
from loadtests.bench.plan.crossover import crossover_slices, describe_crossover
from loadtests.bench.plan.slices import CAPACITY_PHASE, LOCUST, WRK
from loadtests.bench.plan.sweep import (
    SWEEP_PHASE,
    describe_sweep,
    sweep_p99_slices,
    sweep_rounds,
    whole_sweep,
)
from loadtests.bench.plan.variants import CATALOGUE
from loadtests.bench.render.output import write_results
from loadtests.bench.render.progress import progress_line, refining_line
from loadtests.bench.results import precision
from loadtests.bench.results.crossover import cards_as_timed
from loadtests.bench.results.pairs import CONFIDENCE, MIN_PAIRS, PRECISION
from loadtests.bench.results.records import Measurement, append_measurement, save_measurements
from loadtests.bench.results.state import COMPLETE, FAILED, RUNNING, ended, ended_by, how_far, write_state
from loadtests.bench.results.summary import build_summary
from loadtests.bench.results.trust import keeps_up, median
from loadtests.bench.targets import processes
from loadtests.bench.targets.pool import ServerPool
from loadtests.bench.targets.servers import RunningServer
from loadtests.scenarios import SCENARIOS, UPSTREAM, Scenario
from shared.model import card_of, model_label
from shared.settings import Settings

# Held back from the budget for what follows the last slice: the records, the summary, the report, its charts.
REPORT_S = 15.0


def say(message: str) -> None:
    print(message, flush=True)


def minutes(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


class Bench:
    """One bench run: the plan executed against a pool of servers, the records written, the report made."""

    def __init__(
        self,
        config: BenchConfig,
        pool: ServerPool,
        placement: Placement,
        results_dir: Path,
        setting_note: str,
        upstream: RunningServer | None = None,
        attached_cpus: tuple[int, ...] | None = None,
        deployment: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        # Against running services: how many CPUs each may use (not their ids), and how they were deployed.
        self.attached_cpus = attached_cpus
        self.deployment = dict(deployment or {})
        self.pool = pool
        self.placement = placement
        self.results_dir = results_dir
        self.setting_note = setting_note
        self.upstream = upstream
        self.in_process = InProcessFigures()
        self.measurements: list[Measurement] = []
        self.notes: list[str] = []
        self.clock = time.time  # the run's clock (a test's own, to run the precision rule without load)
        self.started = self.clock()
        # The code that runs is the code at the start: a commit made meanwhile is not what was measured.
        self.git_at_start = git_revision()
        self.crossover = bool(config.profile.models)
        self.sweep = whole_sweep(config)
        self.planned = (crossover_slices(config) if self.crossover else plan.whole_plan(config)) + self.sweep
        self.in_process_s = plan.in_process_s(config, len(split_scenarios(config)))
        self.estimate_left = plan.estimate_s(config, self.planned) + self.in_process_s
        self.estimate_done = 0.0
        self.last_server: tuple[str, str] | None = None
        self.started_servers: set[tuple[str, str]] = set()
        self.wrk = wrk.available()
        # The precision rule's account: the rounds each group ran, the comparisons that reached the budget.
        self.rounds_run: dict[str, int] = {}
        self.reached_budget: list[dict[str, Any]] = []
        self.end = (COMPLETE, "")  # the run's state once it ends, and why (results/state.py)

    def run(self) -> Path:
        processes.pin_self(self.placement.generator_cpus)
        say(
            f"make bench ({self.config.profile.name} profile): results in {self.results_dir}\n"
            f"  {self.setting_note}"
        )
        describe = describe_crossover if self.crossover else plan.describe
        say(describe(self.config, [s for s in self.planned if s not in self.sweep], self.in_process_s))
        if sweep := describe_sweep(self.config, self.sweep):
            say(sweep)
        if not self.wrk and any(self.config.wrk_for(s) for s in self.config.scenarios):
            self.notes.append("wrk is not installed, so there is no cross-check: apt-get install wrk")
            say(f"  {self.notes[-1]}")
        self.keep_state(RUNNING)
        try:
            self.measure_model()
            if self.crossover:  # per model, cheapest first (plan/crossover.py)
                models = self.config.profile.models
                for position, model in enumerate(models):
                    rounds = [s for s in self.planned if s.model == model]
                    self.prestart(rounds)
                    self.execute(rounds)
                    self.refine(self.config.scenarios, len(models) - position, model)
            else:
                groups = plan.scenario_groups(self.config)
                for position, group in enumerate(groups):
                    self.measure_group(group, len(groups) - position)
                self.measure_sweep()
        except BaseException as exc:  # a signal (shared/lifecycle.py) or an error: what was measured stays
            self.end = ended_by(exc)
            say(f"{self.end[0]} ({self.end[1]}): stopping every process and writing what was measured")
            raise
        finally:
            self.pool.release()
            processes.stop_all()
            self.write()
        return self.results_dir

    def measure_model(self) -> None:
        """The in-process phase, before any server starts (inprocess/pinned.py)."""
        profile = self.config.profile
        scenarios = split_scenarios(self.config) if profile.split else []
        say(
            "in-process, on the servers' CPU: the model"
            + (f", each app's layers ({', '.join(scenarios)})" if scenarios else "")
            + (f", the contract's price ({profile.glue_pairs} pairs)" if profile.glue_pairs else "")
            + " ..."
        )
        self.in_process = measure_in_process(
            self.config, scenarios, self.placement.server_cpus, self.results_dir
        )
        self.estimate_done += self.in_process_s
        self.estimate_left -= self.in_process_s
        say("  " + ", ".join(f"{name} {m['cpu_us']:.0f} us CPU" for name, m in self.in_process.model.items()))

    def measure_group(self, group: Sequence[Scenario], groups_left: int) -> None:
        """Scenarios measured together: their capacity rounds (plan/slices.py, capacity_rounds) and the
        precision rule's, then each one's latency curve at rates taken from them."""
        runnable = []
        for scenario in group:
            if UPSTREAM in scenario.auxiliaries and self.upstream is None:
                self.notes.append(f"{scenario.name}: not measured, its upstream is not running")
                say(f"  {self.notes[-1]}")
                self.drop_planned(scenario.name)
                continue
            say(f"{scenario.name}: {scenario.description}")
            runnable.append(scenario)
        if not runnable:
            return
        rounds = plan.capacity_rounds(self.config, runnable)
        self.prestart(rounds)
        self.execute(rounds)
        self.refine(runnable, groups_left)
        self.measure_curves(runnable)

    def refine(self, scenarios: Sequence[Scenario], groups_left: int, model: str = "") -> None:
        """The precision rule: one more round of the variants whose lead comparisons are not yet precise,
        until none is left or the next round would overrun this group's share of the budget left."""
        lead = self.config.profile.lead
        names = {scenario.name for scenario in scenarios}
        index = self.config.rounds
        cpus = len(self.placement.server_cpus) or 1
        while self.config.budget_s and lead:
            own = [m for m in self.measurements if m.model == model and m.scenario in names]
            if not own:  # nothing measured (no server started): nothing to refine, nor to call precise
                break
            found = precision.imprecise(own, lead, cpus)
            if not found:
                where = f" ({model_label(model)})" if model else ""
                say(f"  precise: every lead comparison within ±{PRECISION:.0%}{where}, round {index}")
                break
            chosen = precision.next_round(found)
            extra = plan.refinement_round(self.config, precision.slices_wanted(chosen), index + 1, model)
            cost = sum(plan.slice_seconds(self.config, s.generator, s.duration_s) for s in extra)
            if cost * self.pace() > self.spare_s(groups_left):
                self.reached_budget += [{**vars(entry), "model": model} for entry in found]
                say(f"  budget reached, still wider than ±{PRECISION:.0%}: {refining_line(found, model)}")
                break
            index += 1
            say(f"  precision rule, round {index}: {refining_line(chosen, model)}")
            self.estimate_left += cost
            self.execute(extra)
        self.rounds_run[model] = index

    def pace(self) -> float:
        """How long the run has taken per second the plan estimated, so far."""
        return (self.clock() - self.started) / self.estimate_done if self.estimate_done else 1.0

    def spare_s(self, groups_left: int) -> float:
        """This group's share of the budget left: what remains once the rest of the plan (its estimate, at
        the run's pace) and the report are held back, shared evenly among the groups still to refine."""
        held = self.estimate_left * self.pace() + REPORT_S
        return (self.config.budget_s - (self.clock() - self.started) - held) / max(1, groups_left)

    def capacity_of(
        self, scenario: str, key: str, phase: str = CAPACITY_PHASE, model: str = ""
    ) -> float | None:
        """A variant's median requests/s over its clean Locust capacity slices of the scenario (of a
        phase, serving a model)."""
        return median(
            m.rps
            for m in self.measurements
            if m.scenario == scenario
            and m.phase == phase
            and m.model == model
            and m.generator == LOCUST
            and m.key == key
            and m.requests
            and not m.error
        )

    def measure_sweep(self) -> None:
        """The worker sweep (plan/sweep.py): per model, its rounds, then each variant at half its own
        capacity."""
        scenario = self.config.profile.sweep_scenario
        for model in self.config.profile.sweep_models:
            if not self.sweep:
                return
            say(f"worker sweep on {scenario}, {model or 'the default model'}:")
            rounds = sweep_rounds(self.config, model)
            self.prestart(rounds)
            self.execute(rounds)
            capacities = {
                v.key: capacity
                for v in self.config.sweep_variants()
                if (capacity := self.capacity_of(scenario, v.key, SWEEP_PHASE, model))
            }
            guessed = [s for s in self.sweep if s.model == model and s.kind == plan.FIXED]
            slices = sweep_p99_slices(self.config, model, capacities)
            for old, new in ((guessed, -1), (slices, 1)):  # the guesses out, the real rates in
                self.estimate_left += new * sum(
                    plan.slice_seconds(self.config, s.generator, s.duration_s) for s in old
                )
            self.execute(slices)

    def measure_curves(self, scenarios: Sequence[Scenario]) -> None:
        """Each curve variant at the grid's shares of its own capacity, every scenario's rates on one start
        of its server, the server still running first."""
        rates: dict[str, dict[str, list[float]]] = {}
        for scenario in scenarios:
            keys = plan.curve_variants([variant.key for variant in self.config.variants_for(scenario)])
            if not keys or not plan.curve_points(self.config, scenario):
                continue
            own = {
                key: curve_rates(self.config.profile.grid, capacity, self.config.rates)
                for key in keys
                if (capacity := self.capacity_of(scenario.name, key))
            }
            if not own:
                self.notes.append(f"{scenario.name}: no capacity measured, so no latency curve")
                say(f"  {self.notes[-1]}")
                self.drop_planned(scenario.name, plan.CURVE_PHASE)
                continue
            described = "; ".join(f"{key} {', '.join(f'{r:g}' for r in own[key])}" for key in own)
            say(f"  {scenario.name} curve, requests/s offered: {described}")
            rates[scenario.name] = own
        if not rates:
            return
        slices = [
            s
            for scenario in scenarios
            if scenario.name in rates
            for s in plan.curve_slices(self.config, scenario, rates[scenario.name])
        ]
        running = self.last_server[0] if self.last_server else ""
        order = list(dict.fromkeys([running, *(s.variant for s in slices)]))
        slices.sort(key=lambda s: order.index(s.variant))  # stable: each variant's scenarios, rates in turn
        for name in rates:
            self.drop_planned(name, plan.CURVE_PHASE)
        self.estimate_left += plan.estimate_s(self.config, slices)
        self.execute(slices, curve=True)

    def drop_planned(self, scenario: str, phase: str | None = None) -> None:
        """Take the slices of a scenario (or of one of its phases) that will not run out of the time left."""
        dropped = [s for s in self.planned if s.scenario == scenario and phase in {None, s.phase}]
        self.estimate_left -= plan.estimate_s(self.config, dropped)

    def prestart(self, slices: Sequence[plan.Slice]) -> None:
        """The servers these slices need, started together before the first of them is measured (on every
        CPU, then each moved onto the servers'), rather than one at a time as their turns come."""
        known = {variant.key: variant for variant in (*CATALOGUE, *self.config.deployed.values())}
        for model in dict.fromkeys(s.model for s in slices):
            keys = [key for key in dict.fromkeys(s.variant for s in slices if s.model == model)]
            fresh = [key for key in keys if (key, model) not in self.started_servers]
            if not fresh:
                continue
            say(f"  starting {len(fresh)} server(s) together: {', '.join(fresh)}")
            everywhere = (*self.placement.server_cpus, *self.placement.generator_cpus)
            self.pool.prestart([known[key] for key in fresh], model, everywhere)
            self.started_servers |= {(key, model) for key in fresh}
            self.estimate_done += plan.SERVER_START_S * len(fresh)
            self.estimate_left -= plan.SERVER_START_S * len(fresh)

    def execute(self, slices: Sequence[plan.Slice], curve: bool = False) -> None:
        behind: set[tuple[str, str]] = set()  # (variant, scenario): a curve stops where it fell behind
        known = {variant.key: variant for variant in (*CATALOGUE, *self.config.deployed.values())}
        for s in slices:
            if curve and (s.variant, s.scenario) in behind:
                self.estimate_left -= plan.slice_seconds(self.config, s.generator, s.duration_s)
                continue
            if s.generator == WRK and not self.wrk:
                continue
            cost = plan.slice_seconds(self.config, s.generator, s.duration_s)
            if s.server not in self.started_servers:
                cost += plan.SERVER_START_S
                self.started_servers.add(s.server)
            self.last_server = s.server
            server = self.pool.acquire(known[s.variant], s.model)
            if server is None:
                self.skip(s, cost)
                continue
            m = self.measure(s, server)
            self.estimate_done += cost
            self.estimate_left -= cost
            if curve and not keeps_up(m):
                behind.add((s.variant, s.scenario))
            say(self.progress(m))

    def skip(self, s: plan.Slice, cost: float) -> None:
        verification = self.pool.verification.get(s.variant, {})
        why = verification.get("error") or next(
            (f"{c['name']}: {c['problem']}" for c in verification.get("checks", []) if not c["passed"]), "?"
        )
        note = f"{s.variant}: NOT BENCHMARKED: {str(why).splitlines()[0]}"
        if note not in self.notes:
            self.notes.append(note)
            say(f"  {note}")
        self.estimate_left -= cost

    def load_plan(self, s: plan.Slice) -> LoadPlan:
        c = self.config
        scenario = SCENARIOS[s.scenario]
        return LoadPlan(
            scenario,
            s.kind,
            s.round,
            c.users,
            c.spawn_rate,
            c.warmup_s,
            s.duration_s or c.duration_s,
            s.rate,
            processes=c.locust_processes,
            upstream_latency_ms=c.upstream_latency_ms if UPSTREAM in scenario.auxiliaries else None,
            phase=s.phase,
            batch_size=s.batch_size,
        )

    def measure(self, s: plan.Slice, server: RunningServer) -> Measurement:
        index = len(self.measurements) + 1
        rate = f"-{s.rate:g}rps" if s.rate else ""
        served = (f"-{Path(s.model).stem}" if s.model else "") + (
            f"-{s.batch_size}items" if s.batch_size else ""
        )
        name = f"{index:03d}-{s.scenario}-{s.phase}{rate}-r{s.round}-{s.variant}{served}-{s.generator}"
        load = self.load_plan(s)
        # Attached servers may run anywhere: only CPUs this bench placed them on are probed.
        probed = self.placement.server_cpus if self.attached_cpus is None else ()
        before = probe_us(probed)
        if s.generator == WRK:
            m = wrk.run_wrk(load, server, self.placement, self.results_dir, name)
        else:
            upstream = self.upstream if UPSTREAM in load.scenario.auxiliaries else None
            m = run_load(load, server, self.placement, self.results_dir, name, upstream)
        # The requests its clients gave up on at the window's end, answered before anything else is timed.
        drained = drain(server.process.pid) if self.attached_cpus is None else None
        after = probe_us(probed)
        speeds = [round(t, 1) for t in (before, after) if t is not None]
        m = replace(
            m,
            server_start=server.start_index or self.pool.start_count,
            speed_probe_us=speeds,
            model=s.model,
            drained_s=None if drained is None else round(drained, 2),
        )
        self.measurements.append(m)
        self.keep(m)
        return m

    def keep(self, m: Measurement) -> None:
        """The slice on disk as it ends, with the run's state: a run that dies loses the slice it was on."""
        append_measurement(m, self.results_dir / "measurements.json")
        self.keep_state(RUNNING)

    def keep_state(self, state: str, reason: str = "") -> None:
        record = {
            "environment": self.environment(),
            "verification": self.pool.verification,
            "model": self.in_process.model,
        }
        write_state(self.results_dir, state, len(self.measurements), len(self.planned), record, reason)

    def progress(self, m: Measurement) -> str:
        elapsed = time.time() - self.started
        pace = elapsed / self.estimate_done if self.estimate_done else 1.0
        left = f"~{minutes(self.estimate_left * max(1.0, pace))} left"
        return f"[{len(self.measurements)}, {left}] {progress_line(m)}"

    def environment(self) -> dict[str, Any]:
        example = self.load_plan(plan.Slice("capacity", self.config.scenarios[0].name, "", 1))
        return {
            **setting_record(
                self.config,
                example,
                self.placement,
                self.pool,
                self.upstream,
                self.setting_note,
                self.wrk,
                self.attached_cpus,
                self.deployment,
            ),
            **({"git": self.git_at_start} if self.git_at_start != "unknown" else {}),
            "notes": self.notes,
            "invocation": os.environ.get("BENCH_INVOCATION", "").strip(),
            "command": shlex.join(["python", "-m", "loadtests.bench", *sys.argv[1:]]),
            "started_at": datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds"),
            "elapsed_s": round(time.time() - self.started, 1),
            "precision": {
                "precision": PRECISION,
                "confidence": CONFIDENCE,
                "min_pairs": MIN_PAIRS,
                "budget_s": self.config.budget_s,
                "lead": list(self.config.profile.lead),
                "rounds": self.rounds_run,
                "reached_budget": self.reached_budget,
            },
            "results_dir": str(self.results_dir),
            # The crossover's x axis: each model's card, its cost as this run timed it on the servers' CPU.
            **(
                {"models": cards_as_timed(self.model_cards(), self.in_process.models)}
                if self.crossover
                else {}
            ),
        }

    def model_cards(self) -> dict[str, dict[str, Any]]:
        """The crossover's models' cards: those `make model` trains, and a pipeline of one's own."""
        model_dir = Settings.from_env().model_dir
        return {model: card_of(model_dir, model) for model in self.config.profile.models}

    def write(self) -> None:
        """The records whole, the run's state, the summary and the report: complete, or partial (a run that
        was interrupted or failed, which its report says first)."""
        state, reason = self.end
        if state == COMPLETE and self.planned and not self.measurements:
            # Every server failed to start, say: nothing to report, and results/latest must not move to it.
            state, reason = FAILED, "no slice was measured (the servers' logs are in logs/)"
        save_measurements(self.measurements, self.results_dir / "measurements.json")
        self.keep_state(state, reason)
        ending = ended(state, reason, len(self.measurements), len(self.planned))
        environment = {**self.environment(), **ending}
        summary = build_summary(
            environment,
            self.pool.verification,
            self.in_process.model,
            self.measurements,
            self.in_process.split,
            self.in_process.glue,
            self.in_process.machine,
        )
        report, headline = write_results(self.results_dir, summary)
        say(f"\nreport: {report}\n\n{headline}")
        if state != COMPLETE:
            say(f"partial: {how_far(ending['run'])}; results/latest still names the last complete run")
