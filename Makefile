# Tribe: `make run` serves the whole stack, `make test` runs every check. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# PostgreSQL and Redis for a command: DATABASE_URL / REDIS_URL when set, else started from wheels.
STACK := $(BIN)/python -m devtools.stack exec
WEB_PORT ?= 8000
STRIPE_EMULATOR_PORT ?= 8420
SITE_URL ?= http://127.0.0.1:$(WEB_PORT)
# The Celery queues (config/settings/base.py BROKER_QUEUES) `make worker` consumes.
QUEUES ?= celery,money,clicks,notifications
export WEB_PORT STRIPE_EMULATOR_PORT SITE_URL

.DEFAULT_GOAL := help
.PHONY: help install run cluster migrate seed worker beat stripe-emulator otp test lint typecheck \
        migrations-check pytest services fmt bench lock clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## Create the virtualenv and install the locked dependencies

lock: ## Re-pin constraints.txt from the current virtualenv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

var:
	@mkdir -p var/static

migrate: install var ## Apply migrations (to the local PostgreSQL in var/ unless DATABASE_URL is set)
	DJANGO_SETTINGS_MODULE=config.settings.local $(STACK) -- $(BIN)/python manage.py migrate --noinput

seed: install var ## Apply migrations and seed the demo data (idempotent)
	DJANGO_SETTINGS_MODULE=config.settings.local $(STACK) -- bash -c \
	  '$(BIN)/python manage.py migrate --noinput && $(BIN)/python manage.py seed_demo'

run: install var ## Run everything: PostgreSQL + Redis (in var/), web, worker, beat, Stripe emulator
	@echo "Ctrl-C stops everything started here."
	@rm -rf var/prometheus && mkdir -p var/prometheus
	PATH="$(CURDIR)/$(BIN):$$PATH" DJANGO_SETTINGS_MODULE=config.settings.local \
	  PROMETHEUS_MULTIPROC_DIR="$(CURDIR)/var/prometheus" METRICS_TOKEN="$${METRICS_TOKEN:-local-metrics-token}" \
	  STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_EMULATOR_PORT) \
	  STRIPE_JS_URL=http://127.0.0.1:$(STRIPE_EMULATOR_PORT)/js.stripe.com/v3/ \
	  $(STACK) -- bash -c 'python manage.py migrate --noinput && python manage.py seed_demo \
	    && exec honcho -f Procfile.dev start'

worker: install var ## Run a Celery worker on every queue (QUEUES=money for one) against DATABASE_URL and REDIS_URL
	$(BIN)/celery -A config worker --loglevel=INFO -Q $(QUEUES)

beat: install var ## Run Celery beat (a standby while another beat holds the lock) against DATABASE_URL and REDIS_URL
	$(BIN)/celery -A config beat --loglevel=INFO

stripe-emulator: install ## Run the local Stripe emulator on 127.0.0.1:$(STRIPE_EMULATOR_PORT)
	$(BIN)/python -m devtools.stripe_emulator --port $(STRIPE_EMULATOR_PORT)

services: install ## Start PostgreSQL and Redis in var/ from wheels, until Ctrl-C
	$(STACK) -- bash -c 'echo "DATABASE_URL=$$DATABASE_URL REDIS_URL=$$REDIS_URL"; exec sleep infinity'

cluster: install var ## Several nodes on one machine: PostgreSQL + replica, Redis + Sentinel, 2 web, 2 workers, 2 beats
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m devtools.cluster --port $(WEB_PORT)

otp: install ## Print a demo staff account's current sign-in code while `make run` runs: make otp EMAIL=...
	@test -n "$(EMAIL)" || { echo "usage: make otp EMAIL=<a demo staff account>" >&2; exit 2; }
	@DJANGO_SETTINGS_MODULE=config.settings.local \
	  DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:$${EMBEDDED_POSTGRES_PORT:-55432}/tribe}" \
	  $(BIN)/python manage.py demo_otp_code "$(EMAIL)"

lint: install ## ruff lint and format check, and the import contracts (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install ## mypy
	$(BIN)/mypy .

migrations-check: install var ## Fail if models changed without a migration
	DJANGO_SETTINGS_MODULE=config.settings.test $(STACK) --data var/test-stack --prefer-system \
	  --ephemeral-redis -- $(BIN)/python manage.py makemigrations --check --dry-run

pytest: install var ## Only the test suite (PostgreSQL, Redis, a real Celery worker, Chromium)
	@bash devtools/install_chromium.sh
	$(STACK) --data var/test-stack --prefer-system --ephemeral-redis -- $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck migrations-check pytest ## Everything CI runs: lint, types, migrations, tests

fmt: install ## Format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## Run the benchmarks in bench/ (writes bench/results/)
	@command -v wrk >/dev/null || { echo "wrk is missing; installing it with apt-get..."; \
	  { apt-cache show wrk >/dev/null 2>&1 || apt-get update -qq; } && apt-get install -y -qq wrk; } \
	  || { echo "Install wrk (Debian: apt-get install wrk) and run again." >&2; exit 1; }
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

clean: ## Remove var/ (the local PostgreSQL and Redis data) and the caches
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
