# Lindung: `make run` starts the whole suite with its stack; `make test` runs every test
# against a real PostgreSQL and Kafka. Both set everything up on a fresh machine.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# deploy/local/devsystems: the development civil registry, SMS and push gateways (never deployed).
PROJECTS := shared $(patsubst %/pyproject.toml,%,$(wildcard services/*/pyproject.toml)) \
	deploy/local/devsystems
PYPROJECTS := $(addsuffix /pyproject.toml,$(PROJECTS)) requirements-dev.txt
WITH_STACK := deploy/local/with-stack.sh
PYTEST_ARGS ?=
# uv trusts the operating system's certificate store (where a site's own CA is installed).
export UV_NATIVE_TLS := 1

.PHONY: run test lint stop stack bootstrap venv bench demo clean format browser fonts lighthouse chaos fuzz

$(BIN)/.installed: $(PYPROJECTS)
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) on PATH" >&2; exit 1; }
	@# The interpreter's own venv (works on an "externally managed" system Python too), then
	@# uv inside it for the fast, resolved install.
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m uv --version >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet uv
	$(BIN)/python -m uv pip install --quiet --python $(BIN)/python \
		$(addprefix -e ,$(PROJECTS)) -r requirements-dev.txt
	@touch $@

venv: $(BIN)/.installed

## run: the whole suite (stack, migrations, every API and worker) in the foreground
run: venv fonts
	@$(WITH_STACK) deploy/local/run-suite.sh

## fonts: Debian's fonts-noto-cjk for the posters' CJK names (installed when missing)
fonts:
	@deploy/local/fonts.sh >/dev/null

## browser: Debian's chromium for the browser tests (installed when missing)
browser:
	@deploy/local/browser.sh >/dev/null

## test: the full test suite against a real PostgreSQL and Kafka (started and stopped here)
test: venv browser fonts
	@$(WITH_STACK) bash -c 'source deploy/local/activate.sh && lindung bootstrap && \
		pytest $(PYTEST_ARGS)'

## chaos: the fault suite in full (tests/faults): brokers killed and restarted three times, a
## private three-broker KRaft cluster, every API and worker instance killed -9, PostgreSQL
## restarted, under load (its bounded part runs in `make test`)
chaos: venv fonts
	@$(WITH_STACK) bash -c 'source deploy/local/activate.sh && lindung bootstrap && \
		LINDUNG_CHAOS_BROKER_RESTARTS=3 LINDUNG_CHAOS_FULL=1 pytest tests/faults $(PYTEST_ARGS)'

## fuzz: schemathesis over the four APIs, every role, 10 minutes per service (make test: 45 s)
fuzz: venv
	@$(WITH_STACK) bash -c 'source deploy/local/activate.sh && lindung bootstrap && \
		LINDUNG_FUZZ_SECONDS=$${LINDUNG_FUZZ_SECONDS:-600} pytest -s --timeout 0 \
		tests/hostile/test_fuzz.py $(PYTEST_ARGS)'

## lint: ruff and mypy, clean
lint: venv
	$(BIN)/ruff check shared services tests bench deploy/local/devsystems
	$(BIN)/mypy $(addprefix -p ,$(notdir $(filter-out %.egg-info,$(wildcard shared/src/lindung_* services/*/src/lindung_* deploy/local/devsystems/src/lindung_*))))

format: venv
	$(BIN)/ruff check --fix shared services tests bench deploy/local/devsystems
	$(BIN)/ruff format shared services tests bench deploy/local/devsystems

## stack: start PostgreSQL, Kafka and the dev external systems in the background (left
## running; `make stop` ends them)
stack: venv
	@deploy/local/stack.sh up

bootstrap: venv stack
	@source deploy/local/activate.sh && lindung bootstrap

## stop: stop the local stack
stop:
	@deploy/local/stack.sh down

## bench: the benchmarks with the whole suite running (see docs/benchmarks.md)
bench: venv fonts
	@$(BIN)/python -m uv pip install --quiet --python $(BIN)/python -r bench/requirements.txt
	@$(WITH_STACK) bash -c 'source deploy/local/activate.sh && lindung bootstrap && \
		python -m bench.run $(BENCH_ARGS)'

## demo: the whole story, narrated, against a running suite (`make run` in another terminal)
demo: venv
	@source deploy/local/activate.sh && python -m bench.demo $(DEMO_ARGS)

## lighthouse: the citizen app's screenshots and Lighthouse scores (PWA, performance,
## accessibility) in docs/citizen-app/, against a running suite (`make run` in another terminal);
## installs npm's lighthouse@11 into .stack/lighthouse on first use
lighthouse: venv browser
	@source deploy/local/activate.sh && python -m bench.citizen_app $(LIGHTHOUSE_ARGS)

clean: stop
	rm -rf $(VENV) .stack
