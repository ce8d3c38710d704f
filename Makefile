# vigil: see README.md. `make demo` and `make test` are the two commands a
# newcomer runs; CI (.ci/run) runs `make test`.
GO            ?= go
BIN           := bin
GOLANGCI_LINT := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
# The demo's "now": fixed, so the demo prints the same numbers everywhere.
DEMO_AT       := 2026-11-29T12:00:00Z
DEMO          := demo
# vigil serve's port during the demo (loopback, a few seconds).
DEMO_PORT     ?= 19464
# go-nvml's header marks some NVML calls deprecated; the warnings are noise.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations
# duckdb-go builds its Arrow interface only with this tag; analyze reads
# percentile values through it (docs/performance.md). Without it (a plain
# go build or go test) percentiles use DuckDB's quantile_cont: same answers.
export GOFLAGS += -tags=duckdb_arrow

# The version both binaries print (vigil version, vigil-agent --version):
# git's description of the checkout (a tag, else the commit; -dirty with
# local changes).
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -X main.Version=$(VERSION)
# make install: PREFIX/bin and PREFIX/lib/systemd/system, under DESTDIR
# when packaging.
PREFIX        ?= /usr/local
DESTDIR       ?=
# make release: archives and SHA256SUMS here.
DIST          ?= dist
PLATFORM      := $(shell $(GO) env GOOS)_$(shell $(GO) env GOARCH)

.PHONY: build test fuzz bench demo lint clean install release

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/vigil ./cmd/vigil
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/vigil-agent ./cmd/vigil-agent

# The binaries, and the systemd units of examples/systemd (the agent, and
# evaluate's service and timer) with their paths under PREFIX; nothing is
# enabled or started.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(BIN)/vigil $(BIN)/vigil-agent $(DESTDIR)$(PREFIX)/bin/
	for u in examples/systemd/*.service examples/systemd/*.timer; do \
		sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' $$u > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u) && \
		chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u) || exit 1; \
	done

# Versioned, stripped binaries for this platform (DuckDB is linked with
# cgo, so each platform is built on its own kind of machine) in
# DIST/vigil_VERSION_OS_ARCH.tar.gz, with the README, LICENSE, docs and
# systemd units, and DIST/SHA256SUMS (check with sha256sum -c SHA256SUMS).
release:
	rm -rf $(DIST)/vigil_$(VERSION)_$(PLATFORM) $(DIST)/vigil_$(VERSION)_$(PLATFORM).tar.gz
	mkdir -p $(DIST)/vigil_$(VERSION)_$(PLATFORM)
	$(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(DIST)/vigil_$(VERSION)_$(PLATFORM)/vigil ./cmd/vigil
	$(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(DIST)/vigil_$(VERSION)_$(PLATFORM)/vigil-agent ./cmd/vigil-agent
	cp -r README.md LICENSE docs examples $(DIST)/vigil_$(VERSION)_$(PLATFORM)/
	tar -C $(DIST) -czf $(DIST)/vigil_$(VERSION)_$(PLATFORM).tar.gz vigil_$(VERSION)_$(PLATFORM)
	rm -rf $(DIST)/vigil_$(VERSION)_$(PLATFORM)
	cd $(DIST) && sha256sum vigil_*.tar.gz > SHA256SUMS
	@echo "$(DIST)/vigil_$(VERSION)_$(PLATFORM).tar.gz and $(DIST)/SHA256SUMS"

# Every package runs under the race detector but cmd/vigil: its CLI scripts
# run the test binary itself as vigil hundreds of times, and race-built that
# costs 5-6 minutes against 1 without (the concurrent delivery they drive is
# raced in alert/notify's own tests).
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/cmd/vigil$$')
	$(GO) test -count=1 ./cmd/vigil/

# Every fuzz target in the repository, found by name (func FuzzXxx in a
# _test.go file, so targets added later run too), each for FUZZTIME. Each
# package's test binary is built once, instrumented for fuzzing, and its
# targets run one after another (go fuzzes one target at a time); the
# corpus each grows is kept where go test keeps it, under GOCACHE. `make
# test` runs every target over its seed corpus already; this explores past
# it. A failure is listed at the end, and its input is written to the
# package's testdata/fuzz/ (commit it with the fix: it then runs in `make
# test` too). Go 1.26's fuzzer may end a run with a bare "context deadline
# exceeded" under CPU contention (go.dev/issue/75804, fixed in Go 1.27):
# without a failing input that is noted, not counted.
FUZZTIME ?= 5s
fuzz:
	@bin=$$(mktemp -d); trap 'rm -rf "$$bin"' EXIT; cache=$$($(GO) env GOCACHE)/fuzz; failed=; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '/testdata/' | xargs -n1 dirname | sort -u); do \
		pkg=$$($(GO) list $$dir); \
		if ! $(GO) test -c -fuzz . -o "$$bin/fuzz.test" $$dir; then failed="$$failed $$dir(build)"; continue; fi; \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
			echo "fuzz $$dir $$t ($(FUZZTIME))"; \
			out=$$(cd $$dir && "$$bin/fuzz.test" -test.run '^$$' -test.fuzz "^$$t\$$" -test.fuzztime $(FUZZTIME) \
				-test.fuzzcachedir "$$cache/$$pkg" 2>&1) && continue; \
			if echo "$$out" | grep -q '^    context deadline exceeded$$' && ! echo "$$out" | grep -q 'Failing input written'; then \
				echo "  (go.dev/issue/75804: Go's fuzz coordinator raced its own deadline; no failing input, not a finding)"; continue; \
			fi; \
			echo "$$out"; failed="$$failed $$dir:$$t"; \
		done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz targets that failed:$$failed"; exit 1; fi

# BENCH_FLAGS picks vigil-bench's sections and sizes, e.g.
# make bench BENCH_FLAGS='-sections import,query -import-big-gb 3'
# or make bench BENCH_FLAGS='-sections replay -replay-span 7d' (a shorter replay)
bench: build
	$(GO) build -o $(BIN)/vigil-bench ./cmd/vigil-bench
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1000000x ./collect/... ./internal/store/
	./$(BIN)/vigil-bench -vigil $(BIN)/vigil -agent $(BIN)/vigil-agent -dir .bench $(BENCH_FLAGS)

demo: build
	@mkdir -p $(DEMO)
	./$(BIN)/vigil store demo --db $(DEMO)/vigil.db --at $(DEMO_AT) --force
	./$(BIN)/vigil query --db $(DEMO)/vigil.db --at $(DEMO_AT) --window 1h \
		'response_time_ms.p95 by (service, endpoint)' | tee $(DEMO)/latency_p95.txt
	./$(BIN)/vigil query --db $(DEMO)/vigil.db --at $(DEMO_AT) --window 1h \
		'http_requests_total{status=~"5.."}.increase by (service) / http_requests_total.increase by (service)' | tee $(DEMO)/error_ratio.txt
	./$(BIN)/vigil query --db $(DEMO)/vigil.db --at $(DEMO_AT) --window 1h -o json \
		'cpu_usage_percent.avg by (host)' > $(DEMO)/cpu_avg.json
	./$(BIN)/vigil query --db $(DEMO)/vigil.db --at $(DEMO_AT) --window 7d -o markdown \
		'response_time_ms.p99 by (service)' > $(DEMO)/latency_p99_7d.md
	rm -f $(DEMO)/prom.db*
	./$(BIN)/vigil import --db $(DEMO)/prom.db testdata/import/sample.om
	./$(BIN)/vigil query --db $(DEMO)/prom.db --at 2026-11-29T10:02:00Z --window 5m \
		'http_requests_total.increase by (method)' | tee $(DEMO)/prom_increase.txt
	SLACK_WEBHOOK_URL=https://hooks.slack.example/demo ./$(BIN)/vigil check \
		--config alert/config/testdata/reference.yaml | tee $(DEMO)/check.txt
	rm -f $(DEMO)/vigil-state.db*
	./$(BIN)/vigil evaluate --config testdata/alerting/demo.yaml --db $(DEMO)/vigil.db \
		--state $(DEMO)/vigil-state.db --at $(DEMO_AT) | tee $(DEMO)/alerts.txt
	SLACK_WEBHOOK_URL=https://hooks.slack.example/services/T0/B0/demo-secret \
	OPS_WEBHOOK_URL=http://127.0.0.1:9093/hooks/demo-secret \
		./$(BIN)/vigil evaluate --config examples/vigil.yaml --db $(DEMO)/vigil.db \
		--state $(DEMO)/example-state.db --at $(DEMO_AT) --dry-run | tee $(DEMO)/dry_run.txt
	./$(BIN)/vigil slo --config examples/vigil.yaml --db $(DEMO)/vigil.db --at $(DEMO_AT) --no-fail | tee $(DEMO)/slo.txt
	./$(BIN)/vigil budget --config examples/vigil.yaml --db $(DEMO)/vigil.db --at $(DEMO_AT) | tee $(DEMO)/budget.txt
	./$(BIN)/vigil report --config examples/vigil.yaml --db $(DEMO)/vigil.db --state $(DEMO)/vigil-state.db \
		--at $(DEMO_AT) --out $(DEMO)/report.md
	# vigil replay (issue 27): the demo config over the week, against one
	# that raises high_error_rate's threshold and misses the api incident.
	# It sends nothing: the channels' secrets are stand-ins (unset, replay
	# would warn and use a placeholder).
	SLACK_WEBHOOK_URL=https://hooks.slack.example/demo OPS_WEBHOOK_URL=http://127.0.0.1:9093/hooks/demo \
	SMTP_PASSWORD=demo GITHUB_TOKEN=demo SENTRY_DSN=https://key@sentry.example/1 \
		./$(BIN)/vigil replay --config examples/vigil.yaml --against testdata/alerting/demo-tighter.yaml \
		--db $(DEMO)/vigil.db --to $(DEMO_AT) --from 7d -o markdown --out $(DEMO)/replay.md
	# vigil serve (issue 28): the demo store as a Prometheus data source for
	# a few seconds, asked by promtool (Prometheus's own client; curl where
	# it is not installed); then Grafana dashboards over it.
	@./$(BIN)/vigil serve --config examples/vigil.yaml --db $(DEMO)/vigil.db --listen 127.0.0.1:$(DEMO_PORT) & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null' EXIT; \
	for i in $$(seq 100); do curl -sf http://127.0.0.1:$(DEMO_PORT)/-/ready >/dev/null 2>&1 && break; sleep 0.1; done; \
	q='sum by (service) (rate(http_requests_total{status=~"5.."}[1h])) / sum by (service) (rate(http_requests_total[1h]))'; \
	echo "vigil serve: $$q at $(DEMO_AT)"; \
	if command -v promtool >/dev/null 2>&1; then promtool query instant --time=$(DEMO_AT) http://127.0.0.1:$(DEMO_PORT) "$$q"; \
	else curl -sf http://127.0.0.1:$(DEMO_PORT)/api/v1/query --data-urlencode "query=$$q" --data-urlencode time=$(DEMO_AT); echo; fi \
		| tee $(DEMO)/serve_query.txt
	SLACK_WEBHOOK_URL=https://hooks.slack.example/demo OPS_WEBHOOK_URL=http://127.0.0.1:9093/hooks/demo \
		./$(BIN)/vigil dashboards --config examples/vigil.yaml --db $(DEMO)/vigil.db --at $(DEMO_AT) --out $(DEMO)/dashboards
	./$(BIN)/vigil-agent --db $(DEMO)/host.db --once --log-level warn
	./$(BIN)/vigil query --db $(DEMO)/host.db --window 1m 'memory_usage_percent.last by (host)' | tee $(DEMO)/host_memory.txt
	@echo
	@echo "demo store: $(DEMO)/vigil.db (its DuckDB cache: $(DEMO)/vigil.db.cache.duckdb)"
	@echo "outputs:    $(DEMO)/latency_p95.txt $(DEMO)/error_ratio.txt $(DEMO)/cpu_avg.json $(DEMO)/latency_p99_7d.md"
	@echo "migrated:   $(DEMO)/prom.db (an OpenMetrics export imported), $(DEMO)/prom_increase.txt"
	@echo "alerting:   $(DEMO)/check.txt (the reference design's alert config, validated)"
	@echo "            $(DEMO)/alerts.txt (testdata/alerting/demo.yaml evaluated; state in $(DEMO)/vigil-state.db)"
	@echo "            $(DEMO)/dry_run.txt (examples/vigil.yaml: the api incident and what would be sent where)"
	@echo "SLOs:       $(DEMO)/slo.txt (api breaches its 99.9%, web meets its 99.5%), $(DEMO)/budget.txt (api's budget overspent and burning: page)"
	@echo "report:     $(DEMO)/report.md (vigil report: SLOs, budgets, alerts, latency and resources for the week)"
	@echo "this host:  $(DEMO)/host.db (one agent round), $(DEMO)/host_memory.txt"
	@echo "serve:      $(DEMO)/serve_query.txt (vigil serve asked by promtool: the error ratio by service)"
	@echo "dashboards: $(DEMO)/dashboards (Grafana: SLO overview, per service, hosts, provisioning files; docs/dashboards.md)"
	@echo "replay:     $(DEMO)/replay.md (the week replayed under examples/vigil.yaml and demo-tighter.yaml: the missed api episode)"

lint:
	$(GO) run $(GOLANGCI_LINT) run ./...

clean:
	rm -rf $(BIN) $(DEMO) .bench $(DIST)
