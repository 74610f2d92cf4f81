# callhouse — every target installs what it needs itself.
SHELL := /bin/bash
GO ?= go
export GOFLAGS ?= -buildvcs=false

BUILD_DIR := $(CURDIR)/build
TOOLS_DIR := $(BUILD_DIR)/tools

# GOAMD64: the amd64 level everything is built for. v3 (AVX2, BMI2, …) when this
# machine's CPU has it — the collector spends a fifth of its CPU in the garbage
# collector, whose bit scans v3 speeds up: 5–7% less CPU per span measured in
# BenchmarkProcessor. A v3 binary refuses to start on an older CPU, so the level is
# probed by running one; set GOAMD64=v1 to build for any amd64 machine.
ifeq ($(origin GOAMD64),undefined)
GOAMD64 := $(shell d=$$(mktemp -d) && printf 'package main\nfunc main() {}\n' > $$d/main.go && \
	GOAMD64=v3 $(GO) run $$d/main.go >/dev/null 2>&1 && echo v3 || echo v1; rm -rf $$d)
endif
export GOAMD64

# PGO: the CPU profile the collector is built with (profile-guided optimization;
# `make pgo` makes it anew). Measured: 3–5% less CPU per span in BenchmarkProcessor.
PGO := $(CURDIR)/config/pgo/default.pgo

.PHONY: test unit fuzz generate

## test: every test (unit, integration against the embedded ClickHouse, end to end).
test: clickhouse collector unit fuzz

unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
# The concurrent parts (weavecall's shards, sweepers and outboxes; the exporter's connection
# pool; callmap's pooled state) once more under the race detector.
	$(GO) test -race -count=1 ./processor/... ./exporter/weaveclickhouseexporter/ ./internal/callmap
# internal/callmap scans strings 32 bytes a step when built for x86-64-v3 (AVX2) and eight
# bytes a step otherwise: on a v3 machine the run above took the first path, this the other.
ifneq ($(filter v3 v4,$(GOAMD64)),)
	GOAMD64=v1 $(GO) vet ./internal/callmap
	GOAMD64=v1 $(GO) test -count=1 ./internal/callmap
endif

## clickhouse: fetch the embedded ClickHouse engine (libchdb.so, once per machine, into
## $CALLHOUSE_CACHE_DIR or ~/.cache/callhouse) and build its launcher build/clickhouse-embedded.
.PHONY: clickhouse
clickhouse:
	CGO_ENABLED=0 $(GO) build -o $(BUILD_DIR)/clickhouse-embedded ./cmd/clickhouse-embedded
	$(BUILD_DIR)/clickhouse-embedded fetch

## fuzz: a short run of every fuzz target (seed corpora run in `unit` too).
## Each target runs a fixed number of inputs, sized to about ten seconds on a
## 2-core machine: a wall-clock -fuzztime races Go 1.26's fuzz coordinator at
## its deadline and fails with a bare "context deadline exceeded" and no
## crasher (golang/go#75804, fixed in Go 1.27). FUZZTIME=5m (say) overrides
## every budget for a longer hunt, race included.
FUZZ_TARGETS := \
	FuzzMap:./internal/callmap:60000x \
	FuzzCompactJSON:./internal/callmap:20000x \
	FuzzPlainRun:./internal/callmap:300000x \
	FuzzAnnotation:./internal/callmap:100000x \
	FuzzAppendCost:./internal/callmap:100000x \
	FuzzAppendFloat:./internal/callmap:100000x \
	FuzzEachNumberMember:./internal/callmap:100000x \
	FuzzParseLiteLLM:./internal/pricing:120000x \
	FuzzDeriveTrace:./processor/weavecallprocessor:100000x \
	FuzzProcessor:./processor/weavecallprocessor:10000x \
	FuzzIdentifiers:./exporter/weaveclickhouseexporter/internal/schema:200000x
# -fuzzminimizetime: the fuzzer shrinks each new interesting input for up to a minute by
# default, with no execs meanwhile (seen: 25 s on a 23 KB price file); a short run has no use
# for small corpus entries, and a crasher is still minimized for up to this long.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; rest=$${t#*:}; pkg=$${rest%%:*}; budget=$${rest#*:}; \
		echo "go test -run '^$$' -fuzz '^$$name$$' -fuzztime $(or $(FUZZTIME),$$budget) -fuzzminimizetime 5s $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(or $(FUZZTIME),$$budget) -fuzzminimizetime 5s $$pkg; \
	done

## generate: regenerate mdatagen code (internal/metadata of each component).
MDATAGEN_VERSION := v0.150.0
$(TOOLS_DIR)/mdatagen:
	@mkdir -p $(TOOLS_DIR)
	# mdatagen's module replaces its siblings by relative path, which `go install pkg@v` refuses;
	# build it from a copy of the module with those replaces removed.
	tmp=$$(mktemp -d) && dir=$$(GOFLAGS=-mod=mod $(GO) mod download -json go.opentelemetry.io/collector/cmd/mdatagen@$(MDATAGEN_VERSION) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') && \
	cp -r $$dir/. $$tmp && chmod -R u+w $$tmp && sed -i '/=> \.\./d' $$tmp/go.mod && \
	(cd $$tmp && GOFLAGS=-mod=mod $(GO) build -o $(TOOLS_DIR)/mdatagen .) && rm -rf $$tmp

generate: $(TOOLS_DIR)/mdatagen
	PATH=$(TOOLS_DIR):$$PATH $(GO) generate ./...

## fixtures: regenerate testdata/<producer>-<case>.otlp.json by running the real instrumentation
## libraries (Vercel AI SDK, OpenInference, Traceloop) from testdata/producers; needs Node 20+ and npm.
## New ids and timestamps each run: refresh the goldens afterwards (see testdata/producers/README.md).
.PHONY: fixtures
fixtures:
	cd testdata/producers && npm ci --no-audit --no-fund && npm run generate

## collector: build the callhouse collector distribution with OCB (build/otelcol-callhouse/).
OCB_VERSION := v0.164.0
OCB := $(TOOLS_DIR)/builder
COLLECTOR := $(BUILD_DIR)/otelcol-callhouse/otelcol-callhouse
$(OCB):
	@mkdir -p $(TOOLS_DIR)
	GOBIN=$(TOOLS_DIR) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

.PHONY: collector run demo bench
# Always run: OCB regenerates the sources and `go build` only recompiles what changed.
collector: $(OCB)
	GOFLAGS="$(GOFLAGS) -pgo=$(PGO)" $(OCB) --config builder-config.yaml

## run: the collector and an embedded ClickHouse in the foreground (Ctrl-C stops both).
## Set CALLHOUSE_CLICKHOUSE_ENDPOINT (and _USERNAME, _PASSWORD, _DATABASE) to use an
## external ClickHouse instead; then no embedded server is started.
# The launcher `make clickhouse` builds.
CLICKHOUSE_LAUNCHER ?= $(BUILD_DIR)/clickhouse-embedded
run: collector $(if $(CALLHOUSE_CLICKHOUSE_ENDPOINT),,clickhouse)
	$(GO) build -o $(BUILD_DIR)/callhouse-run ./cmd/callhouse-run
	$(BUILD_DIR)/callhouse-run -collector $(COLLECTOR) -launcher $(CLICKHOUSE_LAUNCHER) \
		-config config/callhouse.yaml -data $(CURDIR)/.data

## demo: send a realistic agent conversation to a running collector (`make run` first).
demo:
	$(GO) run ./cmd/callhouse-demo

## bench: sustained spans/s and the send-to-query delay, end to end into an embedded ClickHouse.
BENCH_RATE ?= 20000
BENCH_DURATION ?= 30s
bench: collector clickhouse
	$(GO) build -o $(BUILD_DIR)/callhouse-loadgen ./cmd/callhouse-loadgen
	$(BUILD_DIR)/callhouse-loadgen -stack -collector $(COLLECTOR) -launcher $(CLICKHOUSE_LAUNCHER) \
		-config config/callhouse.yaml -rate $(BENCH_RATE) -duration $(BENCH_DURATION)

## pgo: make config/pgo/default.pgo anew from CPU profiles of BenchmarkPipeline (weavecall and
## weaveclickhouse into the embedded ClickHouse) and BenchmarkProcessor; commit it with the code
## it was taken from.
.PHONY: pgo
pgo: clickhouse
	$(GO) test -run '^$$' -bench 'BenchmarkPipeline/^(exporter|weavecall\+exporter)$$' -benchtime 4000x -cpuprofile $(BUILD_DIR)/pgo-pipeline.pprof \
		-o $(BUILD_DIR)/pgo-pipeline.test ./internal/sidebyside/
	$(GO) test -run '^$$' -bench '^BenchmarkProcessor$$' -benchtime 2s -cpuprofile $(BUILD_DIR)/pgo-processor.pprof \
		-o $(BUILD_DIR)/pgo-processor.test ./processor/weavecallprocessor/
	$(GO) tool pprof -proto $(BUILD_DIR)/pgo-pipeline.pprof $(BUILD_DIR)/pgo-processor.pprof > $(PGO)

## sidebyside: the same OTLP load (agent traces) through otelcol-callhouse and through a
## reference collector with contrib's clickhouseexporter, in turn, into one embedded ClickHouse;
## prints each one's sustained spans/s and the ratio (see internal/sidebyside/README.md).
SIDEBYSIDE_SPANS ?= 200000
SIDEBYSIDE_ROUNDS ?= 3
CONTRIB_REF := $(BUILD_DIR)/otelcol-contrib-ref/otelcol-contrib-ref
.PHONY: sidebyside contrib-ref
contrib-ref: $(OCB)
	$(OCB) --config internal/sidebyside/builder-config.yaml
sidebyside: collector contrib-ref clickhouse
	$(GO) build -o $(BUILD_DIR)/sidebyside ./internal/sidebyside/cmd/sidebyside
	$(BUILD_DIR)/sidebyside -launcher $(CLICKHOUSE_LAUNCHER) -callhouse $(COLLECTOR) -contrib $(CONTRIB_REF) \
		-spans $(SIDEBYSIDE_SPANS) -rounds $(SIDEBYSIDE_ROUNDS)
