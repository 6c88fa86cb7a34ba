# cosocial's build, demo and tests. `make demo` and `make test` are the two
# commands a new volunteer needs; the rest are for developers.

SHELL    := /bin/bash
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/cosocial
FUZZTIME ?= 60s

# The Pulumi engine is pinned by engine/go.mod, a module of its own: the
# engine's module pulls in several hundred others (cloud SDKs, gRPC
# gateways, language hosts) that cosocial itself never imports, and keeping
# them out of cosocial's go.mod keeps its dependency list the one a
# reviewer reads. A pulumi already on PATH at this release or newer is
# used as it is, so nobody waits for a build they do not need.
ENGINE_VERSION := $(shell awk '$$1 == "github.com/pulumi/pulumi/pkg/v3" { sub(/^v/, "", $$2); print $$2 }' engine/go.mod)
PATH_ENGINE    := $(shell p=$$(command -v pulumi) && v=$$(PULUMI_SKIP_UPDATE_CHECK=true "$$p" version 2>/dev/null | sed 's/^v//') && [ -n "$$v" ] \
	&& [ "$$(printf '%s\n%s\n' "$(ENGINE_VERSION)" "$$v" | sort -V | head -n1)" = "$(ENGINE_VERSION)" ] && echo "$$p")
ENGINE         := $(if $(PATH_ENGINE),$(PATH_ENGINE),$(CURDIR)/bin/pulumi)

.PHONY: all build engine demo test test-deps lint fuzz bench clean clean-engine

all: build

build: bin/versitygw bin/cosocial-standin engine
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cosocial

# The sandbox's S3 server, pinned by the tool line in go.mod; the binary sits
# beside cosocial, where the sandbox looks for it. (A cosocial without it
# runs the same gateway from inside its own binary: this one serves the
# package tests, whose test binaries cannot.)
bin/versitygw: go.mod
	$(GO) build -o bin/versitygw github.com/versity/versitygw/cmd/versitygw

# The program the sandbox's mirror registry serves as the apps' images
# (Mastodon, Castopod, Redis): static, as it runs in images with nothing
# else in them. It sits beside cosocial, where the sandbox looks for it.
bin/cosocial-standin: $(wildcard cmd/cosocial-standin/*.go)
	CGO_ENABLED=0 $(GO) build -o bin/cosocial-standin ./cmd/cosocial-standin

engine: $(ENGINE)

# Built once: a second make finds it up to date. The version is stamped the
# way Pulumi's own release build does it, so the Automation API can check it.
$(CURDIR)/bin/pulumi: engine/go.mod engine/go.sum
	@echo "== Building the Pulumi engine $(ENGINE_VERSION) into bin/pulumi from its Go module: a one-time build of 5 to 10 minutes"
	@cd engine && $(GO) build -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$(ENGINE_VERSION)" \
		-o $(CURDIR)/bin/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

# The main job on the built-in sandbox: CoSocial's descriptions judged against
# the board's residency policy and its move off DigitalOcean rehearsed; the
# starter co-op stood up on the OVHcloud simulator (real PostgreSQL and S3
# behind it, its Mastodon deployed on the server's machine and answering
# through Caddy over TLS), planned again (nothing to do) and taken down with
# its data; then CoSocial's whole target across OpenStack and OVHcloud the
# same way, Mastodon and Castopod included,
# through the pinned Pulumi engine that `make build` makes once.
DEMO := stacks/starter/cosocial.hcl
TARGET := stacks/cosocial/cosocial-target.hcl
demo: build test-deps
	@echo "== CoSocial today, on DigitalOcean: fails the ownership rule, as the board noted"
	@./$(BIN) residency -f stacks/cosocial/cosocial-today.hcl || true
	@echo
	@echo "== CoSocial's target: VEXXHOST Montreal and OVHcloud Beauharnois, with two waivers"
	@./$(BIN) residency -f stacks/cosocial/cosocial-target.hcl --format markdown || true
	@echo
	@echo "== What the target costs a month, with the sandbox's invented OVHcloud prices (VEXXHOST publishes none)"
	@./$(BIN) cost --sandbox -f stacks/cosocial/cosocial-target.hcl || true
	@echo
	@echo "== Rehearsing the move off DigitalOcean on the sandbox: what moves, how long, what blocks it, and the money"
	@./$(BIN) migrate plan --sandbox -f stacks/cosocial || true
	@echo
	@set -e; export COSOCIAL_PULUMI=$(ENGINE); \
	echo "== Standing the starter up on the sandbox"; \
	./$(BIN) up --sandbox --yes -f $(DEMO); \
	echo; echo "== Planning again: nothing to change"; \
	./$(BIN) plan --sandbox --detailed-exitcode -f $(DEMO); \
	echo; echo "== Taking it down, data included"; \
	./$(BIN) destroy --sandbox --include-data --confirm northwind.example.ca -f $(DEMO); \
	echo; echo "== CoSocial's whole target on the sandbox: servers and media at the Canadian-owned OpenStack cloud, PostgreSQL, MySQL and DNS at OVHcloud; Castopod answers, Mastodon waits, stopped, for the migration's cutover"; \
	./$(BIN) up --sandbox --yes -f $(TARGET); \
	./$(BIN) plan --sandbox --detailed-exitcode -f $(TARGET); \
	./$(BIN) destroy --sandbox --include-data --confirm cosocial.ca -f $(TARGET)

# Everything the tests need that a fresh machine lacks is installed here
# (as root, with Debian's packages).
# PostgreSQL for the databases, MariaDB for the sandbox's MySQL (the server
# and install-db only: no service is set up), a real sshd for the
# migration's cutover, rclone as the object copy's speed anchor (make bench),
# Caddy to validate the proxy config written for each app and to serve it,
# podman with runc and Compose (talking to podman's Docker API) to run the
# apps' containers on this machine playing their server, cloud-init
# to validate the servers' user data, the OpenStack CLI with Designate's
# plugin (its zone and recordset commands), whose everyday commands the
# simulator must answer as a cloud does, and s3cmd, the S3 client a
# volunteer points at the object storage their EC2 credentials reach.
# The plugin is looked for where Debian puts it: the python3 on PATH
# need not be the one the CLI runs on.
test-deps: bin/versitygw bin/cosocial-standin
	@command -v $(GO) >/dev/null || { echo "Go is needed: https://go.dev/dl/"; exit 1; }
	@missing=""; \
	command -v pg_config >/dev/null && [ -x "$$(pg_config --bindir)/initdb" ] || missing="$$missing postgresql"; \
	[ -x /usr/sbin/sshd ] || missing="$$missing openssh-server"; \
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing="$$missing mariadb-server-core"; \
	command -v my_print_defaults >/dev/null || missing="$$missing mariadb-client-core"; \
	command -v rclone >/dev/null || missing="$$missing rclone"; \
	command -v caddy >/dev/null || missing="$$missing caddy"; \
	command -v podman >/dev/null || missing="$$missing podman"; \
	command -v runc >/dev/null || missing="$$missing runc"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v cloud-init >/dev/null || missing="$$missing cloud-init"; \
	command -v pidwait >/dev/null || missing="$$missing procps"; \
	command -v openstack >/dev/null || missing="$$missing python3-openstackclient"; \
	[ -d /usr/lib/python3/dist-packages/designateclient ] || missing="$$missing python3-designateclient"; \
	command -v s3cmd >/dev/null || missing="$$missing s3cmd"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint:
	@unformatted=$$(gofmt -l cmd pkg internal templates); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# Tests run verbosely into .test.log; the screen shows each package's result
# and every skipped test with its reason, and the log's end when something
# fails. The engine tests always run, on the engine picked above.
test: test-deps engine lint
	@echo "== Testing, with the Pulumi engine $(ENGINE)"
	@set -o pipefail; COSOCIAL_PULUMI=$(ENGINE) COSOCIAL_VERSITYGW=$(CURDIR)/bin/versitygw COSOCIAL_STANDIN=$(CURDIR)/bin/cosocial-standin $(GO) test -count=1 -timeout 45m -v ./... 2>&1 | tee .test.log \
		| grep -E --line-buffered '^(ok|FAIL|panic:)|^\s*--- (FAIL|SKIP)|SKIP: ' \
		|| { echo; echo "== the end of .test.log:"; tail -60 .test.log; exit 1; }
	@# Everything the tests need is installed above: a skipped test is a
	@# missing install step or a broken promise, and fails the run.
	@if grep -qE '^\s*--- SKIP' .test.log; then echo; echo "== tests skipped, which make test must not:"; grep -E '^\s*--- SKIP' .test.log; exit 1; fi

# Runs each fuzz target for FUZZTIME; new interesting inputs stay in Go's
# cache, crashers land in testdata/fuzz and fail `make test` until fixed.
fuzz:
	$(GO) test ./pkg/config -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZTIME)

# The benchmarks with a ratio against an anchor measured in the same run:
# validation's growth, the tool's own work, the object copy against rclone
# on the same two S3 servers and the bytes it sends again after ten kills
# against rclone's, the database write freeze of the low-downtime cutover
# against a plain dump and restore, and the whole window's freeze (members'
# downtime, stop-writers to start-target) on a 1 GB database, both modes.
bench: build test-deps
	$(GO) test ./pkg/config -run='^$$' -bench=. -benchmem
	COSOCIAL_PULUMI=$(ENGINE) $(GO) test ./pkg/stack -run='^$$' -bench=BenchmarkToolWork -benchmem
	COSOCIAL_VERSITYGW=$(CURDIR)/bin/versitygw COSOCIAL_STANDIN=$(CURDIR)/bin/cosocial-standin $(GO) test ./pkg/migrate/objects -run='^$$' -bench=CopyVersusRclone -benchtime=4x
	COSOCIAL_VERSITYGW=$(CURDIR)/bin/versitygw COSOCIAL_STANDIN=$(CURDIR)/bin/cosocial-standin $(GO) test ./pkg/migrate/objects -run='^$$' -bench=ResentAfterKills -benchtime=1x
	$(GO) test ./pkg/migrate/pgcopy -run='^$$' -bench=WriteFreeze -benchtime=1x
	COSOCIAL_VERSITYGW=$(CURDIR)/bin/versitygw COSOCIAL_STANDIN=$(CURDIR)/bin/cosocial-standin $(GO) test ./pkg/migrate -run='^$$' -bench=WindowFreeze -benchtime=1x -timeout=60m

# Keeps bin/pulumi: rebuilding the engine takes minutes (make clean-engine).
clean:
	rm -f bin/cosocial bin/versitygw bin/cosocial-standin

clean-engine:
	rm -f bin/pulumi
