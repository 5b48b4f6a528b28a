# Developer entry points. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Dependencies are (re)installed when node_modules is missing or older than the lockfile.
INSTALL_STAMP := node_modules/.install-stamp
LOCKFILE := $(firstword $(wildcard package-lock.json) package.json)
TEST_SERVICES := scripts/test-services.sh

.PHONY: help install dev stop-dev build run-api run-scheduler migrate lint test test-ha soak bench up down clean

help:
	@echo "make install        install dependencies (npm ci) when node_modules is missing or stale"
	@echo "make dev            migrate and start the API with hot reload (SQLite unless MYSQL_DSN is set)"
	@echo "make stop-dev       stop what 'make dev' started"
	@echo "make build          compile to dist/"
	@echo "make run-api        build and run dist/cmd/api/main.js"
	@echo "make run-scheduler  build and run dist/cmd/scheduler/main.js"
	@echo "make migrate        apply migrations (MYSQL_DSN, else data/vigil.db)"
	@echo "make lint           type-check, the layer rules of DESIGN §5 and import cycles (dependency-cruiser), and redocly-lint the OpenAPI document"
	@echo "make test           lint, then the test suite against MySQL/MariaDB and Redis"
	@echo "make test-ha        the Redis Cluster and Sentinel tests (burn-down, failover, slot migration) on a local cluster and sentinel set"
	@echo "make soak           a few minutes of chaos (kills, pauses, cut links, poison) against three schedulers, then every guarantee checked; SOAK_SECONDS sets how long"
	@echo "make bench          run the benchmark against MySQL/MariaDB and Redis"
	@echo "make up / down      start / stop the full stack with docker compose"
	@echo "make clean          remove dist/"

install: $(INSTALL_STAMP)

$(INSTALL_STAMP): $(LOCKFILE)
	@if [ -f package-lock.json ]; then npm ci; else npm install; fi
	@touch $@

dev: install
	scripts/dev.sh

stop-dev:
	scripts/stop-dev.sh

build: install
	npm run build

run-api: build
	node dist/cmd/api/main.js

run-scheduler: build
	node dist/cmd/scheduler/main.js

migrate: install
	npx tsx cmd/migrate/main.ts up

lint: install
	npm run lint

test: install
	npm run lint
	$(TEST_SERVICES) run -- npx vitest run

# Starts a Redis Cluster (3 masters, 1 replica each) and a Sentinel set from the local redis-server, runs the tests
# that kill their masters, and tears them down. A few minutes; .ci/run runs it after `make test`.
test-ha: install
	$(TEST_SERVICES) ha -- npx vitest run --config vitest.ha.config.ts

soak: install
	$(TEST_SERVICES) run -- npx vitest run --config vitest.soak.config.ts

bench: install
	$(TEST_SERVICES) run -- npx tsx bench/run.ts

up:
	docker compose up -d --build

down:
	docker compose down

clean:
	rm -rf dist
