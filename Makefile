# Two commands matter: `make run` (the local stack) and `make test` (every test). See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

STAGE ?= dev
# The CDK CLI, pinned in package-lock.json.
CDK := node_modules/.bin/cdk

.PHONY: venv run test lint unit package bench load lock requirements clean synth deploy diff destroy smoke

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: venv
	$(BIN)/hotspot run --campaign-now

test: venv lint
	$(BIN)/python -m pytest -q

# ruff for style, mypy for types (each app apart, since every service's module is called `app`), import-linter for
# the boundaries between the service packages of `shared` (contracts in pyproject.toml), bandit's security checks
# (suppressions carry their reason where they are made) and pip-audit over the lock (infra/audit.py).
lint: venv
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared infra bench
	for service in services/*/app.py; do $(BIN)/mypy $$service || exit 1; done
	$(BIN)/bandit -q -c pyproject.toml -r shared infra services
	$(BIN)/python -m infra.audit

unit: venv
	$(BIN)/python -m pytest -q tests/unit

package: synth

$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(CDK)

# A stage's CloudFormation templates and zips under build/cdk.out/<stage>/; no credentials needed.
synth: venv $(CDK)
	$(CDK) synth --quiet --app "$(BIN)/python -m infra.cdk.app" -c stage=$(STAGE) --output build/cdk.out/$(STAGE)

# These check the AWS credentials for the stage's region first (infra/deploy.py).
deploy diff destroy smoke: venv $(CDK)
	$(BIN)/python -m infra.deploy $@ $(STAGE)

bench: venv
	$(BIN)/python -m bench

# Thousands of complaints over every channel at 40 concurrent clients against a local stack of its own (loopback,
# bounded), then the invariants: LOAD_REQUESTS, LOAD_USERS, LOAD_SECONDS, DRAIN_SECONDS.
load: venv
	$(BIN)/python -m bench.load

# Re-resolve the pins after editing pyproject.toml, then derive each service's requirements.txt.
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/pip install --quiet --upgrade pip
	build/lock-venv/bin/pip install --quiet '.[dev]'
	build/lock-venv/bin/pip freeze --exclude-editable | grep -v '^hotspot-tracker' > requirements.lock
	$(MAKE) requirements

requirements: venv
	$(BIN)/python -m infra.requirements

clean:
	rm -rf build $(VENV) services/*/vendor node_modules
