# Gatehouse — the two commands a new user needs are `make run` and `make test`.
# The host and every plugin are built by one toolchain with identical flags:
# Go plugins refuse to load otherwise.

SHELL        := /bin/bash
GO           ?= go
BUILD_DIR    ?= $(CURDIR)/build
PLUGIN_DIR   := $(BUILD_DIR)/plugins
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO_FLAGS     := -trimpath
# -s -w strip the symbol tables: about 30% smaller artifacts; stack traces keep
# their function names.
LDFLAGS      := -s -w -X main.version=$(VERSION)
REQUIRED     := mcp-server
# How long `make test` fuzzes the gateway engine's framing (make fuzz).
FUZZTIME     ?= 45s
# Every folder under plugins/ is a plugin, except plugins/internal (code the
# plugins share).
PLUGINS      := $(filter-out internal,$(notdir $(patsubst %/,%,$(wildcard plugins/*/))))
export CGO_ENABLED := 1

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: console host plugins ## build build/gatehouse, build/plugins/*.so and manifest.json (and the console when Node.js is present)

.PHONY: host
host:
	$(GO) build $(GO_FLAGS) -ldflags "$(LDFLAGS)" -o $(BUILD_DIR)/gatehouse ./server/cmd/gatehouse

.PHONY: plugins
plugins: host ## build every plugins/<name> into build/plugins/<name>.so and write the manifest
	@mkdir -p $(PLUGIN_DIR)
	@rm -f $(PLUGIN_DIR)/*.so $(PLUGIN_DIR)/manifest.json
	@for p in $(PLUGINS); do \
		echo "plugin $$p"; \
		$(GO) build $(GO_FLAGS) -ldflags "$(LDFLAGS)" -buildmode=plugin -o $(PLUGIN_DIR)/$$p.so ./plugins/$$p || exit 1; \
	done
	$(BUILD_DIR)/gatehouse plugins manifest --dir $(PLUGIN_DIR) --required $(REQUIRED)

.PHONY: console
console: ## build the web console into web/dist (skipped with a note when Node.js is missing)
	@if command -v npm >/dev/null 2>&1; then \
		cd web && { [ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build; \
	else \
		echo "note: Node.js/npm not found — the console will show a 'not built' page (install Node.js 20+ to build it)"; \
	fi

.PHONY: run
run: build ## build and start gatehouse on the defaults (gateway :8080, console :8001)
	$(BUILD_DIR)/gatehouse serve --plugin-dir $(PLUGIN_DIR)

.PHONY: test
test: build deps-test ## run the whole suite: Go unit, integration and end-to-end tests (end to end on both gateway engines), fuzzing for FUZZTIME, console tests
	GATEHOUSE_BUILD_DIR=$(BUILD_DIR) $(GO) test -race -count=1 -timeout 20m ./...
	@echo "the gateway's and the end-to-end tests again on the fast gateway engine (GATEHOUSE_GATEWAY_ENGINE=fast)"
	GATEHOUSE_GATEWAY_ENGINE=fast GATEHOUSE_BUILD_DIR=$(BUILD_DIR) $(GO) test -count=1 -timeout 10m ./server/internal/gateway/ ./server/e2e/
	@$(MAKE) -s fuzz
	@if command -v npm >/dev/null 2>&1; then \
		cd web && npm test && GATEHOUSE_BUILD_DIR=$(BUILD_DIR) npm run e2e; \
	else \
		echo "note: Node.js/npm not found — the console's unit and browser tests were not run"; \
	fi

.PHONY: fuzz
fuzz: ## fuzz the fast engine's request framing against net/http's, and its direct path against its ordinary one, for FUZZTIME each (default 45s); a failing input lands in the package's testdata/fuzz/<target>: commit it
	$(GO) test -run '^$$' -fuzz '^FuzzFraming$$' -fuzztime $(FUZZTIME) -timeout 5m ./server/internal/h1server/
	$(GO) test -run '^$$' -fuzz '^FuzzDirectMatchesForward$$' -fuzztime $(FUZZTIME) -timeout 5m ./server/internal/gateway/

.PHONY: smoke
smoke: ## build the all-in-one layout without Docker and check it as docker compose would run it
	@bash scripts/smoke-allinone.sh

.PHONY: deps-test
deps-test: ## install what the tests need (redis-server) when missing
	@bash scripts/install-test-deps.sh

.PHONY: lint
lint: ## go vet, gofmt, and golangci-lint when installed
	$(GO) vet ./...
	@test -z "$$(gofmt -l server plugins scripts)" || { gofmt -l server plugins scripts; echo "run gofmt -w"; exit 1; }
	@if command -v golangci-lint >/dev/null 2>&1; then golangci-lint run; else echo "note: golangci-lint not installed; ran go vet and gofmt only"; fi
	@if [ -d web/node_modules ]; then cd web && npm run lint; fi

.PHONY: clean
clean: ## remove build outputs and the local data directory
	rm -rf $(BUILD_DIR) data
