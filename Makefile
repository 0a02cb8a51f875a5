# aalscert — `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
DATA ?= .data
PKGS := ./...

.PHONY: help run test stripe-mock lint fmt fuzz bench migrate build db-up db-down

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## Start PostgreSQL if needed, migrate, seed and serve the API with its workers.
	@bash scripts/run.sh

STRIPE_MOCK_VERSION := v0.203.0

test: stripe-mock ## Run the whole suite (race detector on) against a throwaway PostgreSQL.
	@bash scripts/with-test-db.sh $(GO) test -race -count=1 $(PKGS)

stripe-mock: # Install the Stripe API mock the payment tests run against, if missing.
	@command -v stripe-mock >/dev/null || test -x "$$($(GO) env GOPATH)/bin/stripe-mock" || \
		$(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

build: ## Build bin/aalscert.
	CGO_ENABLED=0 $(GO) build -o bin/aalscert ./cmd/aalscert

lint: ## go vet, gofmt check and staticcheck.
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 $(PKGS)

fmt: ## gofmt every Go file.
	gofmt -w $$(git ls-files '*.go')

fuzz: ## Fuzz the parsers of outside input, 20 s each (FUZZTIME=…).
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime $${FUZZTIME:-20s} ./authtoken
	$(GO) test -run '^$$' -fuzz FuzzParseSMTPURL -fuzztime $${FUZZTIME:-20s} ./mail
	$(GO) test -run '^$$' -fuzz FuzzVerifyEvent -fuzztime $${FUZZTIME:-20s} ./billing
	@bash scripts/with-test-db.sh $(GO) test -run '^$$' -fuzz FuzzHandleWebhookBody -fuzztime $${FUZZTIME:-20s} ./api
	@bash scripts/with-test-db.sh $(GO) test -run '^$$' -fuzz FuzzImportCSV -fuzztime $${FUZZTIME:-20s} ./api
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime $${FUZZTIME:-20s} ./credential

bench: ## Run the benchmarks in bench/ against a throwaway PostgreSQL.
	@bash scripts/with-test-db.sh $(GO) test -run '^$$' -bench . -benchmem ./bench/...

migrate: ## Apply migrations to DATABASE_URL (or the local cluster).
	@bash scripts/run.sh migrate

db-up: ## Start the project-local PostgreSQL in .data/pg and print its URL.
	@bash scripts/pg.sh start $(DATA)/pg && bash scripts/pg.sh url $(DATA)/pg

db-down: ## Stop the project-local PostgreSQL.
	@bash scripts/pg.sh stop $(DATA)/pg
