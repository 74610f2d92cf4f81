# callhouse — every target installs what it needs itself.
SHELL := /bin/bash
GO ?= go
export GOFLAGS ?= -buildvcs=false

BUILD_DIR := $(CURDIR)/build
TOOLS_DIR := $(BUILD_DIR)/tools

.PHONY: test unit fuzz generate

## test: every test (unit, integration against the embedded ClickHouse, end to end).
test: unit fuzz

unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

## fuzz: a short run of every fuzz target (seed corpora run in `unit` too).
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzMap$$' -fuzztime $(FUZZTIME) ./internal/callmap

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
