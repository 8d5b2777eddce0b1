# gatehouse — build, test, benchmark, fuzz, lint.
GO          ?= go
BIN         ?= bin/gatehouse
OPA_VERSION ?= v1.22.3
FUZZTIME    ?= 20000x

.PHONY: all build test test-go policy-test bench fuzz lint services clean

all: build test

# The commit is stamped by hand: builds here run with -buildvcs=false.
COMMIT      ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)

build:
	$(GO) build -ldflags "-X main.commit=$(COMMIT)" -o $(BIN) ./cmd/gatehouse

# The whole suite: services the tests need, Go tests, then Rego tests with
# both gatehouse and the opa CLI.
test: services test-go policy-test

services:
	scripts/test-setup.sh

test-go:
	. scripts/test-env.sh && $(GO) test ./...

bin/opa:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/open-policy-agent/opa@$(OPA_VERSION)

policy-test: build bin/opa
	$(BIN) policy test policies
	bin/opa test policies

bench: build bin/opa
	scripts/bench.sh

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

lint: bin/opa
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	bin/opa check --v1-compatible policies

clean:
	rm -rf bin
