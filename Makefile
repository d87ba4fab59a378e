# The project's interface: `make help` lists the targets. Every target creates the environment it needs.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock
MODEL := models/penguin-species.json
export PYTHONPATH := $(CURDIR)

# Server settings, read by both services (docs/running.md, "Settings").
HOST ?= 127.0.0.1
WORKERS ?= 1
export HOST WORKERS

# Benchmark knobs (docs/bench/method.md). Empty: the profile's choice. WORKERS left unset means one per CPU
# given to the servers.
PROFILE ?= default
SCENARIOS ?=
VARIANTS ?=
ROUNDS ?=
BUDGET_S ?=
MODELS ?=
DURATION ?=
WARMUP ?=
USERS ?= 32
RATES ?= auto
SLO_MS ?= 50
RESULTS_DIR ?= results
# Locust processes: above 1, a master and that many workers (Locust's --processes), all on Locust's CPUs.
LOCUST_PROCESSES ?= 1
# The upstream's delay in the io scenario (the bench starts its own upstream with it).
UPSTREAM_LATENCY_MS ?= 50
BENCH_WORKERS = $(if $(filter file,$(origin WORKERS)),auto,$(WORKERS))
# make fuzz: test cases per API operation, and the seed to replay a run (default: a new one, printed).
MAX_EXAMPLES ?= 500
SEED ?=
# make test: pytest-xdist's workers (auto: one per CPU). The tests of the live services stay on one worker,
# which starts them once (tests/conftest.py).
TEST_WORKERS ?= auto
# make soak: how long, and the requests/s each service is sent.
SOAK_DURATION ?= 180
SOAK_RATE ?= 50
# make locust: which service the web UI targets first (its form lets you change it), and the UI's port.
TARGET ?= fastapi
TARGET_PORT = $(if $(filter flask,$(TARGET)),8001,$(if $(filter flask-openapi,$(TARGET)),8004,8002))
LOCUST_WEB_PORT ?= 8089
# make crash: the load each service is sent while a worker of each is killed (docs/reliability.md).
CRASH_RATE ?= 20
# The workshop (docs/workshop/): make diff TOPIC=<topic>, make lab N=<number>.
TOPIC ?=
N ?=
UNDO ?=
# WHEELHOUSE=<folder of wheels> (from make wheelhouse): make venv installs from it, without the index.
WHEELHOUSE ?=
WHEELHOUSE_OUT := $(or $(WHEELHOUSE),wheelhouse)
WHEELHOUSE_PYTHON ?=
WHEELHOUSE_PLATFORMS ?=
PIP_SOURCE = $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE))

.PHONY: help venv model run-flask run-fastapi run-flask-openapi run-nginx run-upstream test test-fast compose-check \
	fuzz soak crash lint format lock clean bench bench-quick bench-tail locust

help: ## List the targets and their knobs
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Knobs (make VAR=value): WORKERS=$(WORKERS) HOST=$(HOST) PORT= (run-flask, run-fastapi, run-flask-openapi,"
	@echo "  run-upstream); make run-nginx: FLASK_PORT, FASTAPI_PORT, FLASK_OPENAPI_PORT (the servers) and"
	@echo "  FLASK_NGINX_PORT, FASTAPI_NGINX_PORT, FLASK_OPENAPI_NGINX_PORT (nginx); 0: a free port. Every target"
	@echo "  stops all it started on Ctrl-C, SIGTERM or SIGHUP (docs/running.md)."
	@echo "  Services also read MAX_BODY_BYTES, MAX_BATCH_SIZE, MODEL_DIR, UPSTREAM_URL, UPSTREAM_TIMEOUT_S,"
	@echo "  DOCS_ENABLED, ACCESS_LOG, GC_TUNING (1: the collector tuned, docs/deployment.md; default: the"
	@echo "  interpreter's, as the bench's headline), and MODEL_NAME"
	@echo "  (penguin-species, the default; hist-gradient-boosting, random-forest-100, random-forest-500) or"
	@echo "  MODEL_PATH (a pipeline of your own with its card: examples/own_model.py)."
	@echo "Bench knobs (empty: the profile's): PROFILE=$(PROFILE) (quick: about a minute; default: Flask beside"
	@echo "  both FastAPI forms, the collector's tuning on batch, pairs added until precise, at most 6 min on 2"
	@echo "  cores; latency: the latency curve and the capacity at the objective, about 4 min; servers: the"
	@echo "  Granian and nginx pairs and the worker sweep, about 11 min; full: every scenario and variant, about"
	@echo "  an hour; crossover: each model, does the framework still matter, at most 20 min on 2 cores)"
	@echo "  MODELS=$(MODELS) (crossover: comma list of models; empty: every one) BUDGET_S=$(BUDGET_S) (seconds"
	@echo "  the run may take while the precision rule adds pairs; 0: the rounds only) SCENARIOS=$(SCENARIOS) (comma list of"
	@echo "  health,predict,batch,invalid,mixed,io, or all) VARIANTS=$(VARIANTS) (server variants, e.g."
	@echo "  flask-gunicorn-sync,fastapi-uvicorn,flask-granian,fastapi-granian,flask-gunicorn-gthread,"
	@echo "  fastapi-async-def, flask_openapi-gunicorn-sync) ROUNDS=$(ROUNDS) (pairs per scenario)"
	@echo "  DURATION=$(DURATION) (measured s per slice)"
	@echo "  WARMUP=$(WARMUP) USERS=$(USERS) RATES=$(RATES) (the curve's offered requests/s: auto or r1,r2,...)"
	@echo "  SLO_MS=$(SLO_MS) (latency objective: corrected p99) WORKERS=$(BENCH_WORKERS) (auto: as each"
	@echo "  server's docs advise: 2 x CPUs + 1 for gunicorn's sync worker, one per CPU for the others)"
	@echo "  RESULTS_DIR=$(RESULTS_DIR) LOCUST_PROCESSES=$(LOCUST_PROCESSES) (>1: a Locust master and N"
	@echo "  workers) UPSTREAM_LATENCY_MS=$(UPSTREAM_LATENCY_MS) (io: the upstream's delay)."
	@echo "  Publishable: make bench PROFILE=full, on a quiet machine."
	@echo "  make locust TARGET=flask|fastapi|flask-openapi (default $(TARGET)) LOCUST_WEB_PORT=$(LOCUST_WEB_PORT)."
	@echo "  make soak, make fuzz and make bench-tail write under RESULTS_DIR=$(RESULTS_DIR) too."
	@echo "Workshop: make diff TOPIC=<topic> (TOPIC=list names them), make lab N=<number> (none: the list),"
	@echo "  WHEELHOUSE=<folder> (make venv, and so every target, installs from it offline; make wheelhouse"
	@echo "  fills it, for another laptop with WHEELHOUSE_PYTHON=3.12 WHEELHOUSE_PLATFORMS=<pip platform tags>)."
	@echo "Deployment: make run-nginx needs nginx (sudo apt-get install nginx); its configuration is"
	@echo "  deploy/nginx.conf.template (docs/deployment.md). Services also read FORWARDED_ALLOW_IPS (who may set"
	@echo "  X-Forwarded-For: nginx's address; default 127.0.0.1,::1)."

venv: $(STAMP) ## Create .venv from requirements.lock (hash-checked)

# Two targets started at once in a fresh clone (run-flask and run-fastapi in two terminals) would both build
# .venv and the model: under the lock the second waits, then finds them built and skips (tools/locked.py).
LOCKED = $(PYTHON) tools/locked.py .build.lock

$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version)); set PYTHON=python3.x"; exit 1; }
	$(LOCKED) --target $@ --sources requirements.lock -- $(SHELL) -ec '\
		test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes $(PIP_SOURCE) \
			-r requirements.lock; \
		touch $@'

model: $(MODEL) ## Train the models, each with its card (deterministic; rebuilt when the code or environment changes)

# All the models (MODEL_NAMES in shared/settings.py); the default's card, written last, is the target.
MODEL_SOURCES := $(addprefix shared/,train.py features.py limits.py model.py settings.py examples.py)
$(MODEL): $(STAMP) $(MODEL_SOURCES)
	$(LOCKED) --target $@ --sources $^ -- $(BIN)/python -m shared.train

run-flask: $(MODEL) ## Serve the Flask app with gunicorn on 127.0.0.1:8001
	$(BIN)/python -m flask_service.server

run-fastapi: $(MODEL) ## Serve the FastAPI app with uvicorn on 127.0.0.1:8002
	$(BIN)/python -m fastapi_service.server

run-flask-openapi: $(MODEL) ## Serve the Flask + flask-openapi3 (pydantic) app with gunicorn on 127.0.0.1:8004
	$(BIN)/python -m flask_openapi_service.server

run-nginx: $(MODEL) ## The services behind nginx, as deployed: Flask on :8081, FastAPI on :8082, Flask-OpenAPI3 on :8084
	$(BIN)/python -m deploy.run

run-upstream: $(STAMP) ## Serve the upstream observation service on 127.0.0.1:8003
	$(BIN)/python -m upstream.server

bench: $(MODEL) ## Verify every server live, measure them in pairs until precise, write results/latest/report.md
	BENCH_INVOCATION="make bench $(strip $(MAKEOVERRIDES))" \
	$(BIN)/python -m loadtests.bench run --profile "$(PROFILE)" --scenarios "$(SCENARIOS)" \
		--variants "$(VARIANTS)" --rounds "$(ROUNDS)" --budget "$(BUDGET_S)" --models "$(MODELS)" --duration "$(DURATION)" --warmup "$(WARMUP)" \
		--users $(USERS) --rates "$(RATES)" --slo-ms $(SLO_MS) --workers "$(BENCH_WORKERS)" \
		--results-dir "$(RESULTS_DIR)" --locust-processes $(LOCUST_PROCESSES) \
		--upstream-latency-ms $(UPSTREAM_LATENCY_MS)

bench-quick: ## A smoke bench in about a minute: predict, three pairs and a three-rate curve
	$(MAKE) bench PROFILE=quick

bench-tail: $(MODEL) ## The tail experiments, one cause of a slow p99 at a time (about 10 min): docs/bench/tail.md
	$(BIN)/python -m loadtests.bench.tail --docs --results-dir "$(RESULTS_DIR)"

locust: $(STAMP) ## Locust's web UI on 127.0.0.1:8089 (LOCUST_WEB_PORT) against a running service (make run-flask...)
	@echo "Target: http://$(HOST):$(TARGET_PORT) ($(TARGET)); start it with 'make run-$(TARGET)' in another terminal."
	@echo "Pick a scenario (user class) and change Host in the form to try the other service."
	$(BIN)/locust -f loadtests/locustfile.py --class-picker --web-host 127.0.0.1 --web-port $(LOCUST_WEB_PORT) \
		--host http://$(HOST):$(TARGET_PORT)

.PHONY: diff diff-html lab lab-solution doctor wheelhouse

diff: $(STAMP) ## The two services side by side, a topic at a time: make diff TOPIC=validation
	@$(BIN)/python -m workshop diff $(TOPIC)

diff-html: $(STAMP) ## Every topic side by side, highlighted, on one offline page: build/workshop-diff.html
	@$(BIN)/python -m workshop diff-html

lab: $(MODEL) ## Check a workshop lab on both services: make lab N=1 (N=all: every lab)
	@$(BIN)/python -m workshop lab $(N)

lab-solution: $(STAMP) ## Apply a lab's solution to the working tree: make lab-solution N=1 (UNDO=1: take it out)
	@$(BIN)/python -m workshop solution $(N) $(if $(UNDO),--undo)

doctor: ## Ready for the workshop? Python, .venv, the model, ports 8001-8004 and 8089 free
	@$(PYTHON) -m workshop.doctor

# The environment that downloads the wheels comes from the index, never from the wheelhouse being made.
wheelhouse: override WHEELHOUSE :=
wheelhouse: $(STAMP) ## Download every wheel of requirements.lock into WHEELHOUSE (default wheelhouse/)
	$(BIN)/python -m workshop.wheelhouse $(WHEELHOUSE_OUT) $(if $(WHEELHOUSE_PYTHON),--python $(WHEELHOUSE_PYTHON)) \
		$(foreach tag,$(WHEELHOUSE_PLATFORMS),--platform $(tag))

test: $(MODEL) lint ## Lint, then run every test (behaviour, specs, live servers), TEST_WORKERS at once
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

fuzz: $(MODEL) ## Schemathesis against every live service from its spec (MAX_EXAMPLES per operation, SEED)
	$(BIN)/python -m tests.fuzz --max-examples $(MAX_EXAMPLES) $(if $(SEED),--seed $(SEED)) --results-dir "$(RESULTS_DIR)"

soak: $(MODEL) ## Both services at a fixed rate for SOAK_DURATION s: requests, failures, memory start to end
	$(BIN)/python -m loadtests.soak --duration $(SOAK_DURATION) --rate $(SOAK_RATE) --results-dir "$(RESULTS_DIR)"

crash: $(MODEL) ## A worker of each server killed under load behind nginx: failures, recovery (docs/reliability.md)
	$(BIN)/python -m loadtests.crash --rate $(CRASH_RATE) --docs

test-fast: $(MODEL) ## Run the tests that start no server
	$(BIN)/python -m pytest -m "not live"

compose-check: $(MODEL) ## Check docker-compose.yml and the Dockerfiles, no Docker engine needed (make test does too)
	$(BIN)/docker-compose -f docker-compose.yml --profile bench config --quiet
	$(BIN)/hadolint flask_service/Dockerfile fastapi_service/Dockerfile flask_openapi_service/Dockerfile upstream/Dockerfile \
		loadtests/Dockerfile
	$(BIN)/python -m pytest -q tests/test_docker.py

lint: $(STAMP) ## ruff format --check, ruff check, mypy
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

format: $(STAMP) ## Format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: ## Re-resolve requirements.lock, and the container images' subsets of it, from pyproject.toml (needs uv)
	uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
		--generate-hashes --no-header -o requirements.lock
	@# The images install only what they run, at the versions and hashes of requirements.lock (-c).
	uv pip compile pyproject.toml -c requirements.lock --universal --python-version 3.11 \
		--generate-hashes --no-header -o requirements-serve.lock
	uv pip compile pyproject.toml --extra bench -c requirements.lock --universal --python-version 3.11 \
		--generate-hashes --no-header -o requirements-bench.lock

clean: ## Remove the environment, the model and the results
	rm -rf $(VENV) models results .mypy_cache .ruff_cache .pytest_cache
