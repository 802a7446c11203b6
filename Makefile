# docker acrtrust: build, install, test and docs.
#
#   make build        bin/docker-acrtrust
#   make install      into $DOCKER_CONFIG/cli-plugins (default ~/.docker/cli-plugins)
#   make test         unit and integration tests, with the race detector
#   make test-short   unit tests only (-short skips the in-process sandbox)
#   make e2e          end-to-end: real docker CLI + dockerd (needs root) + sandbox, through docker v29 and 28
#   make docker-cli   bin/docker-cli/docker-VERSION: docker CLI v29 built from go.mod's docker/cli (for e2e)
#   make lint         gofmt and go vet
#   make docs         regenerate docs/reference from the commands
#   make docs-check   fail if docs/reference is out of date
#   make fuzz         each fuzz target for a fixed number of inputs (FUZZTIME=30s for a time): references, pins files, backup archives, escaping
#   make bench        Go benchmarks against the in-process sandbox (signing 100 tags, warm resolution, audit, Notation signing, copy)
#   make bench-e2e    Go benchmarks through the real docker CLI and a private dockerd (run --rm; needs root)
#   make bench-peers  docker acrtrust vs the notary CLI and docker trust on one sandbox (scripts/bench-peers.sh)
#   make sandbox      bin/acrtrust-sandbox
#   make demo         signed push and trusted pull against the sandbox

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.Version=$(VERSION)
DOCKER_CONFIG_DIR := $(if $(DOCKER_CONFIG),$(DOCKER_CONFIG),$(HOME)/.docker)
PLUGIN_DIR  := $(DOCKER_CONFIG_DIR)/cli-plugins

.PHONY: all build install test test-short e2e test-e2e docker-cli fuzz bench bench-e2e bench-peers lint docs docs-check sandbox demo clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/docker-acrtrust ./cmd/docker-acrtrust

install: build
	install -d -m 0755 "$(PLUGIN_DIR)"
	install -m 0755 bin/docker-acrtrust "$(PLUGIN_DIR)/docker-acrtrust"
	@echo "installed $(PLUGIN_DIR)/docker-acrtrust; try: docker acrtrust version"

sandbox:
	CGO_ENABLED=0 $(GO) build -o bin/acrtrust-sandbox ./cmd/acrtrust-sandbox

test:
	$(GO) test -race ./...

test-short:
	$(GO) test -short ./...

# The e2e suite runs once per docker CLI in E2E_CLIS driving the plugin:
# v29 (what users have; built by scripts/build-docker-cli.sh) and dct, the
# newest docker older than v29 (28 here), which is also the content trust
# peer of the interop tests in both runs. A failed run does not stop the next.
E2E_CLIS ?= v29 dct
e2e:
	@status=0; for cli in $(E2E_CLIS); do \
		echo "e2e: E2E_DOCKER_CLI=$$cli drives the plugin (v29: docker v29; dct: the content trust peer, docker 28)"; \
		E2E_DOCKER_CLI=$$cli $(GO) test -tags e2e -count=1 -timeout 20m ./e2e/... || status=1; \
	done; exit $$status

docker-cli:
	./scripts/build-docker-cli.sh

test-e2e: e2e

# Go runs one fuzz target per invocation. Each runs a number of inputs (about
# 10 s each here), not a time: with a duration, Go 1.26's fuzz coordinator can
# report "context deadline exceeded" as a failure when the time is up under
# load (go.dev/issue/75804, fixed in Go 1.27). FUZZTIME=30s (or 1000000x)
# sets one budget for all. Minimisation is bounded so that a new finding does
# not eat the whole budget.
FUZZTIME ?=
FUZZ_TARGETS := trust:FuzzParseRef:50000x trust:FuzzParsePins:12000x keystore:FuzzRestore:8000x internal/safetext:FuzzEscape:200000x
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
		[ -z "$(FUZZTIME)" ] || budget="$(FUZZTIME)"; \
		echo "fuzz $$name ($$budget)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget -fuzzminimizetime 200x ./$$pkg/; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchtime 10x ./plugin/ ./notationbridge/
	$(GO) test -run '^$$' -bench ParsePins -benchtime 1x ./trust/

bench-e2e:
	$(GO) test -tags e2e -run '^$$' -bench . -benchtime 10x ./e2e/

bench-peers: build sandbox
	./scripts/bench-peers.sh

lint:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	@if command -v golangci-lint >/dev/null 2>&1; then golangci-lint run ./...; fi

docs:
	$(GO) run ./cmd/docs-gen -dir docs/reference

docs-check:
	$(GO) run ./cmd/docs-gen -dir docs/reference -check

demo: build sandbox
	./scripts/demo.sh

clean:
	rm -rf bin
