# distlings: the two commands a newcomer needs are `make grade` and `make test`.

GO ?= go
# The race detector needs cgo (a C compiler). Without one, tests run without it.
RACE := $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && echo -race)
LAB ?=

.PHONY: grade setup test unit verify vet fmt bench lab ship student-release help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/' | expand -t 12

grade: ## the grader: where you stand, what to do next
	@$(GO) run ./cmd/grader $(ARGS)

setup: ## build every lab once, so that the first grader test takes seconds
	@$(GO) run ./cmd/grader setup

lab: ## run one lab through the grader: make lab LAB=01
	@$(GO) run ./cmd/grader test $(LAB)

test: vet unit verify stack ## the project's own tests: vet, unit tests, grader verify

unit: ## unit tests of the grader, the command and the lab kits
	GORACE=atexit_sleep_ms=0 $(GO) test $(RACE) -count=1 ./grader/... ./cmd/... ./labs/internal/... ./labs/watch/...

verify: ## every part fails on its stub, passes on its solution, catches its wrong solutions
	@if [ -d solutions ]; then $(GO) run ./cmd/grader verify $(LAB); \
	else echo "verify: skipped: this copy has no solutions/ (a student release)"; fi

vet: ## go vet and gofmt must be clean
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

bench: ## benchmarks of the grader and the kits
	$(GO) test -run '^$$' -bench . -benchmem ./grader/... ./labs/internal/...

ship: ## maintainers: record the labs' files as shipped, after changing a lab
	$(GO) run ./cmd/grader ship $(LAB)

student-release: ## maintainers: a copy without solutions for a course: make student-release DEST=../course-copy
	@test -n "$(DEST)" || { echo "make student-release DEST=DIR: name the folder"; exit 2; }
	$(GO) run ./cmd/grader release $(DEST)

# The observability stack of lab 06 (docs/stack.md). Docker-less: deploy/local/run.sh.
.PHONY: up down stack

up: ## lab 06's demo with etcd, Prometheus, Jaeger and Grafana, in Docker
	docker compose up -d --build
	@echo "checkout    http://localhost:8080"
	@echo "Prometheus  http://localhost:9090"
	@echo "Jaeger UI   http://localhost:16686"
	@echo "Grafana     http://localhost:3000   (the RED dashboard)"

down: ## stop the Docker stack and delete its data
	docker compose down -v

stack: ## check docker-compose.yml and deploy/ against each other, without Docker
	cd tools && $(GO) vet ./... && $(GO) test -count=1 ./...
