# Makefile — shortcuts; scripts/test is the source of truth for checks.
.POSIX:
.PHONY: all test e2e build demo bench clean

VERSION != git describe --tags --always --dirty 2>/dev/null || echo devel
LDFLAGS  = -X github.com/gitcourse/edge/cli.Version=$(VERSION)

all: build

# gofmt, go vet, staticcheck, go test -race ./..., fuzz (FUZZTIME=20s).
test:
	./scripts/test

# Only the end-to-end tests on the real binary.
e2e:
	go test -count=1 ./e2e

# ./edge, stamped with the git version.
build:
	go build -ldflags '$(LDFLAGS)' -o edge ./cmd/edge

# Zero-setup demo on http://localhost:8080 and https://localhost:8443.
demo: build
	./edge demo

# edge vs nginx vs Caddy with wrk (see bench/README.md).
bench:
	bash bench/run.sh

clean:
	rm -f edge
