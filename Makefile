# Targets a Go developer expects. `make help` lists them. CI (.ci/run) runs
# the same commands; the README's Development section explains each.

GO        ?= go
BIN       ?= bin/coredns
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
COUNT     ?= 8

# Native fuzz targets, as package:target.
FUZZ_TARGETS = .:FuzzHandler .:FuzzParse .:FuzzSignedAbsence ./tokens:FuzzRewrite ./tokens:FuzzClassify ./tokens:FuzzAbsence ./cluster:FuzzDecode ./decoy:FuzzDecoy

# The container image make image builds (deploy/Dockerfile), the engine it
# builds it with (docker if its daemon answers, else podman, else buildah),
# and the image of the stage that gives the binary its capability.
IMAGE       ?= coredns-veil:v1.15.0
ENGINE      ?= $(shell if docker info >/dev/null 2>&1; then echo docker; elif command -v podman >/dev/null; then echo podman; else echo buildah; fi)
BUILD_IMAGE ?= docker.io/library/debian:stable-slim

.PHONY: help build run test e2e enum mimic bench bench-record bench-ab bench-dnsperf bench-dnsperf-short fuzz lint vet fmt ci clean image

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 22

build: ## build CoreDNS with veil compiled in, to bin/coredns
	$(GO) build -o $(BIN) ./cmd/coredns

run: ## serve the example zone on 127.0.0.1:1053 (metrics on :9153)
	$(GO) run ./cmd/coredns -conf example/Corefile

test: ## unit and integration tests, with the race detector
	$(GO) test -race -count=1 ./...

e2e: ## end-to-end tests with real tools (dig, kdig, dnsrecon, nmap, promtool); needs root
	$(GO) test -tags e2e -count=1 -timeout 30m -p 1 -v ./test/...

enum: ## the limiter's acceptance test: dnsrecon, fierce, dnsenum, nmap, ldns-walk, scans relayed through named (~3 min)
	$(GO) test -tags e2e,enum -count=1 -timeout 30m -run 'TestEnumE2E|TestEnumRelayedScan|TestEnumRelayedBruteForce' -v ./test/enum/

mimic: ## the resolver-mimicking scanner for MINUTES minutes (default 10), names learned per minute
	VEIL_MIMIC_MINUTES=$${MINUTES:-10} $(GO) test -tags e2e,enum -count=1 -timeout 60m -run TestEnumMimicScanner -v ./test/enum/

bench: ## Go benchmarks: veil against the plain chain, the limiter, the token matcher
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(COUNT) . ./ratelimit/ ./tokens/ ./cluster/

bench-record: ## VeilAdded and the limiter's benchmarks, with the stamp line docs/performance.md puts above a table
	@echo "Measured at commit $$(git rev-parse --short HEAD)$$(git diff --quiet || echo '+changes') on $$(date -u +%F), $$(nproc) CPUs ($$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $$($(GO) version | cut -d' ' -f3): \`make bench-record COUNT=$(COUNT)\`"
	@$(GO) test -run '^$$' -bench 'VeilAdded' -benchmem -count $(COUNT) . | grep -E '^(Benchmark|goos|cpu)'
	@$(GO) test -run '^$$' -bench . -benchmem -count $(COUNT) ./ratelimit/ | grep -E '^Benchmark'

bench-dnsperf: ## throughput against stock CoreDNS with dnsperf (several minutes)
	test/bench/dnsperf.sh

bench-dnsperf-short: ## the same on a short setting, as CI runs it
	test/bench/dnsperf.sh --short

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s -parallel 1 $$pkg; \
	done

vet: ## go vet with every build tag
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...
	$(GO) vet -tags e2e,enum ./test/...

fmt: ## gofmt the tree
	gofmt -w .

lint: vet ## gofmt check, go vet and golangci-lint (v2, config in .golangci.yml)
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	golangci-lint run ./...
	golangci-lint run --build-tags e2e,enum ./test/...

ci: ## what CI runs on a fresh machine (installs packages; needs root or sudo)
	.ci/run

clean: ## remove built binaries
	rm -rf bin

image: ## the container image IMAGE (deploy/Dockerfile: static, non-root, cap_net_bind_service) with docker, podman or buildah
	mkdir -p bin/image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/image/coredns ./cmd/coredns
	$(ENGINE) build --build-arg BUILD_IMAGE=$(BUILD_IMAGE) -f deploy/Dockerfile -t $(IMAGE) bin/image

bench-ab: ## concurrent A/B of stock CoreDNS and veil on one core (needs a kept dnsperf.sh work dir)
	@W=$$(BENCH_KEEP=1 BENCH_ROUNDS=1 BENCH_SECONDS=1 BENCH_SOURCES=0 BENCH_MIXES=positive test/bench/dnsperf.sh 2>&1 | grep -o '/tmp/veil-bench\.[A-Za-z0-9]*' | head -1); \
		test/bench/concurrent.sh "$$W"; rm -rf "$$W"
