# verdict — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

MODULE   := github.com/verdict-dev/verdict
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X $(MODULE)/pkg/version.Version=$(VERSION) -X $(MODULE)/pkg/version.Commit=$(COMMIT) -X $(MODULE)/pkg/version.Date=$(DATE)
GO       ?= go
BIN      := bin/verdict
FUZZTIME ?= 200000x
# Executions per fuzz target inside `make test` (a smoke run; `make fuzz` runs longer). Counts, not
# durations: a timed -fuzztime can end in a spurious "context deadline exceeded" (golang/go#75804).
TEST_FUZZTIME ?= 2000x
# The packages whose tests define -update (go test fails in one that does not).
# GOLDEN_RUN narrows the tests (CI checks the target with '^$$': every package takes -update).
GOLDEN_RUN ?= .
# pkg/eval is left out: its -update re-pins the classifier's figures, which must
# be a decision, never a side effect of refreshing golden files.
GOLDEN_PKGS = $(filter-out ./pkg/eval,$(sort $(patsubst %/,./%,$(dir $(shell grep -rl --include='*_test.go' 'flag.Bool."update"' pkg cmd)))))
FEEDS    := samples/feeds
ALERTS   := $(wildcard samples/alerts/*)

export CGO_ENABLED ?= 0

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/verdict (trimpath, version stamped)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/verdict

.PHONY: install
install: ## go install verdict with the version stamped
	$(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/verdict

.PHONY: demo
demo: build ## build verdict and triage the bundled samples offline with the bundled feeds into reports/
	$(BIN) enrich --offline --feeds $(FEEDS) -o reports $(ALERTS)

.PHONY: samples
samples: demo ## alias of demo

.PHONY: test
test: ## run every test: unit, golden, end-to-end, browser (if chromium is installed) with -race, then each fuzz target briefly
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

.PHONY: unit
unit: ## run the tests without the race detector and without fuzzing (fast)
	$(GO) test -count=1 ./...

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME executions (default 200000x; a duration such as 60s works too)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) $$pkg > /tmp/verdict-fuzz.log 2>&1 || { cat /tmp/verdict-fuzz.log; exit 1; }; \
	  done; \
	done

.PHONY: cover
cover: ## coverage profile and summary
	$(GO) test -count=1 -coverprofile=coverage.out ./...
	$(GO) tool cover -func=coverage.out | tail -1

.PHONY: bench
bench: build ## Go benchmarks, then enrich generated alert files offline: alerts/s, peak RSS and ratio to jq against issue 13's goals (BENCH_PPROF=DIR for profiles, BENCH_REPEAT=N)
	$(GO) test -run='^$$' -bench=. -benchmem ./pkg/...
	@# The JSON walker against encoding/json/v2 too, which Go keeps behind an experiment.
	GOEXPERIMENT=jsonv2 $(GO) test -run='^$$' -bench='^BenchmarkWalkVersus$$' -benchmem ./pkg/alert
	.ci/bench.sh

.PHONY: eval
eval: build ## measure the classifier on the labelled set samples/eval: the heuristic offline, and Gemini too when GEMINI_API_KEY is set
	$(GO) run ./cmd/eval -verdict $(BIN) -set samples/eval -feeds $(FEEDS)

.PHONY: cross
cross: ## go build ./... for Windows and macOS (as CI does)
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=darwin GOARCH=arm64 $(GO) build ./...

.PHONY: lint
lint: ## go vet, gofmt, and golangci-lint when installed
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@if command -v golangci-lint >/dev/null; then golangci-lint run; fi

.PHONY: fmt
fmt: ## gofmt every Go file
	gofmt -w $$(git ls-files '*.go')

.PHONY: tidy
tidy: ## go mod tidy (CI fails if this leaves a diff)
	$(GO) mod tidy

.PHONY: update-golden
update-golden: ## rewrite golden files (and samples/verdict.example.yaml) after reviewing the change
	$(GO) test -count=1 -run '$(GOLDEN_RUN)' $(GOLDEN_PKGS) -update

.PHONY: example
example: build ## regenerate reports/example/ (the committed sample report) with a fixed clock
	SOURCE_DATE_EPOCH=1795305600 $(BIN) enrich --offline --no-cache --feeds $(FEEDS) -o reports/example --output-name sample -f json,txt,html,md,csv $(ALERTS)

.PHONY: snapshot
snapshot: ## goreleaser snapshot build into dist/
	goreleaser release --snapshot --clean

.PHONY: clean
clean: ## remove bin/, dist/ and generated reports
	rm -rf bin dist bench-out coverage.out
	find reports -maxdepth 1 -type f ! -name .gitkeep -delete
