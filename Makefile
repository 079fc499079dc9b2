# Integration Hub — the two commands a newcomer runs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
PKGS := github.com/stella-ops/inthub/...
STATICCHECK_VERSION ?= v0.8.2
GOBIN := $(shell $(GO) env GOPATH)/bin

.PHONY: run test test-deps unit fuzz walkthrough lint fmt vet staticcheck standalone lint-contracts bench chaos chaos-analyzer build docs schemas nats-auth clean

## run: the whole hub in one process (embedded NATS JetStream, ingress on :8080).
## scripts/run.sh builds bin/devstack with progress (first build ~3-4 min on 2
## cores), then execs it: Ctrl-C stops the hub, which exits 0.
run:
	@GO="$(GO)" scripts/run.sh

## test: install what the tests need, then lint (Go and the contracts), the
## whole suite, short fuzz runs and the README walk-through. scripts/test-phases.sh
## announces each phase with its usual duration and ends with a table of the
## phases' durations (also on failure, naming the phase that failed).
test:
	@MAKE="$(MAKE)" scripts/test-phases.sh

## test-deps: the Debian servers the tests start (scripts/test-deps.sh) and the contract linters (npm ci)
test-deps:
	@scripts/test-deps.sh
	@scripts/contract-lint/install.sh

## unit: the whole suite under the race detector. vet is off here because
## `make vet` runs every analyzer over the same files already. The test
## binaries are linked without DWARF and the ELF symbol table (-s -w): a
## race-built link is about a quarter faster so (6.7 -> 5.1 s for the
## devstack tests), and race reports, panics and stack traces read the same
## (they use the Go symbol table, which stays).
unit:
	$(GO) test -race -vet=off -count=1 -ldflags='-s -w' -timeout 20m $(PKGS)

## fuzz: budgets in executions, not seconds: with a time budget Go 1.26's
## fuzzing coordinator can report "context deadline exceeded" as a failure
## when its deadline races a worker's last call (go.dev/issue/75804, fixed
## in Go 1.27; it failed a make test run here once). Each budget is some
## 5-10 s of fuzzing on 2 cores.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseRef$$' -fuzztime 300000x -timeout 5m ./shared/credentials
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 200000x -timeout 5m ./services/ingress/internal/strictjson
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 300000x -timeout 5m ./shared/bus/internal/puback

## walkthrough: the README's marked examples against `make run` and a demo registry (a few seconds)
walkthrough:
	@scripts/readme-walkthrough.sh

## chaos-analyzer: `make chaos`'s kill-metrics-analyzer scenario alone (kill -9 the analyzer mid-run under load)
chaos-analyzer:
	$(MAKE) chaos CHAOS_FLAGS='-scenarios kill-metrics-analyzer'

lint: fmt vet staticcheck standalone lint-contracts

## lint-contracts: the ecosystems' own linters, pinned in scripts/contract-lint/package.json:
## the official AsyncAPI parser on schemas/asyncapi.yaml and Redocly CLI on
## schemas/openapi.json (rules and the reason for each one turned off in
## scripts/contract-lint/redocly.yaml); any error or warning fails
lint-contracts:
	@scripts/contract-lint/lint.sh

fmt:
	@out=$$(gofmt -l shared services schemas deployments); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## vet: with -race, so the dependencies it compiles are the ones `make unit`
## links (one cold compile of the tree instead of two; same analyzers).
vet:
	$(GO) vet -race $(PKGS)

## standalone: no file cites a document outside the repository
standalone:
	@scripts/check-standalone.sh

## staticcheck: GOFLAGS=-race makes the go list -export it runs reuse the
## race build `make vet` compiled (without it, a cold tree is compiled once more).
staticcheck:
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	GOFLAGS=-race $(GOBIN)/staticcheck $(PKGS)

## bench: figures for the README (bus, health checks, discovery, ingress and
## memory). Each comparison prints a "README row" line for the README's
## Benchmarks summary table (hub, its peer on the same run, ratio) with the
## load average.
bench:
	$(GO) run ./shared/cmd/busbench
	$(GO) run ./services/devstack/cmd/discobench
	$(GO) run ./services/devstack/cmd/ingressbench
	$(GO) run ./services/health-scheduler/cmd/schedbench
	$(GO) run ./services/health-scheduler/cmd/schedbench -n 1000 -endpoint registry -blackbox -scale 6 -warmup 15s -duration 60s

## chaos: the services as separate processes against their own nats-server and
## Redis, killed and restarted under load; prints the audit table, exits 1 when
## anything is lost (not part of `make test`). CHAOS_FLAGS=-list shows the
## scenarios; e.g. CHAOS_FLAGS='-scenarios kill-manager -rate 30'.
CHAOS_FLAGS ?=
chaos: test-deps
	$(GO) run ./services/devstack/cmd/chaos $(CHAOS_FLAGS)

build:
	@mkdir -p bin
	@for s in ingress manager health-scheduler discovery-worker notifier metrics-analyzer pipeline-runner devstack stella; do \
		main=./services/$$s/cmd/$$s; [ -d $$main ] || main=./services/$$s; \
		echo "build $$s"; $(GO) build -o bin/$$s $$main || exit 1; done

## docs: regenerate docs/providers/*.md, the README's provider index and connectors/all's list from the provider specs
docs:
	$(GO) generate ./shared/connectors/specs ./shared/connectors/all

## nats-auth: regenerate deployments/nats/auth.conf (each service's NATS user) from the route tables and buckets
nats-auth:
	$(GO) generate ./services/devstack

## schemas: refresh openapi.json's component copies after editing a schema file
schemas:
	cd schemas && $(GO) generate ./...

clean:
	rm -rf bin .data
