# walcast: the two commands are `make run` and `make test` (see README.md).
# Both install what is missing (scripts/install-deps.sh), build, then run.

JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: run test bench deps release debug tsan tsan-test tsan-all fuzz-build fuzz lint tidy format-check install clean format

# What each job needs: running installs no test tools (GoogleTest, Chromium, test npm packages).
deps:
	@./scripts/install-deps.sh

release:
	@./scripts/install-deps.sh run
	@cmake --preset release -DWALCAST_TESTS=OFF -DWALCAST_BENCH=OFF >/dev/null
	@cmake --build --preset release -j $(JOBS)

# Without a compiler cache (CI, a fresh machine) the debug build compiles src/ as unity batches
# (WALCAST_UNITY, as the tsan preset does): it is built once, from scratch, and a batch parses
# the Boost headers once. With CMAKE_CXX_COMPILER_LAUNCHER set (ccache), one unit per file, so
# that a change recompiles one file.
DEBUG_UNITY = $(if $(CMAKE_CXX_COMPILER_LAUNCHER),OFF,ON)

debug:
	@./scripts/install-deps.sh test
	@cmake --preset debug -DWALCAST_UNITY=$(DEBUG_UNITY) >/dev/null
	@cmake --build --preset debug -j $(JOBS)

## ThreadSanitizer build (build/tsan): the server, unit and integration tests.
tsan:
	@./scripts/install-deps.sh test
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)

## libFuzzer targets (build/fuzz: clang, ASan+UBSan), tests/fuzz/README.md.
fuzz-build:
	@./scripts/install-deps.sh test
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)

## Runs every fuzz target for FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/<target>);
## new inputs are kept in build/fuzz/fuzz/corpus/<target>, crashes in build/fuzz/fuzz/artifacts.
FUZZ_SECONDS ?= 60
fuzz: fuzz-build
	@for t in $$(ls tests/fuzz/corpus); do \
	  tests/fuzz/run.sh run build/fuzz/tests/fuzz/fuzz_$$t tests/fuzz/corpus/$$t build/fuzz/fuzz \
	    $(FUZZ_SECONDS) || exit 1; \
	done

## Static checks, both failing on any finding: clang-tidy (the curated checks of .clang-tidy)
## on src/ with the debug build's compile commands, and clang-format (.clang-format).
lint: tidy format-check

## TIDY_BASE=<commit>: only the src/ .cpp files changed since that commit, and those whose
## header (same name, .hpp) changed; unset (by hand) or unresolvable: every src/ .cpp file.
TIDY_BASE ?=
TIDY_FILES = scripts/tidy-files.sh $(TIDY_BASE)
tidy:
	@test -f build/debug/compile_commands.json || cmake --preset debug >/dev/null
	@bash -o pipefail -c "$(TIDY_FILES) \
	  | xargs -r -P $(JOBS) -n 4 clang-tidy -p build/debug --quiet 2>&1 \
	  | sed '/warnings\{0,1\} generated\.$$/d'" \
	  || { echo "clang-tidy: fix the findings above (checks: .clang-tidy)"; exit 1; }
	@echo "clang-tidy: $$($(TIDY_FILES) | wc -l) files clean$(if $(TIDY_BASE), (changed since $(TIDY_BASE)))"

format-check:
	@$(CPP_FILES) | xargs clang-format --dry-run --Werror \
	  || { echo "clang-format: run 'make format' to format the files above"; exit 1; }
	@echo "clang-format: $$($(CPP_FILES) | wc -l) files formatted"

## Build (release) and start the server. With no database configured it starts its own
## throwaway Postgres under .walcast/pgdata. Pass flags with ARGS="--port 4100".
run: release
	./build/release/walcast serve $(ARGS)

## Build and run every test (README.md, "What make test runs"): the clang-format check; the
## debug build (ASan+UBSan) with unit, integration, compat and e2e suites, while the fuzz and
## TSan builds run one after the other at low priority; then the fuzz targets (each corpus
## replayed, then a bounded run) and the C++ suites (unit, integration) under TSan. Not in
## make test yet, by hand: `make tidy` (clang-tidy), `make tsan-all` (every suite under TSan).
test: debug
	@./scripts/test-suites.sh \
	  "format=$(MAKE) --no-print-directory format-check" \
	  "builds&=nice -n 10 $(MAKE) --no-print-directory fuzz-build && nice -n 10 $(MAKE) --no-print-directory tsan" \
	  "debug=ctest --preset debug -j $(JOBS)" \
	  "fuzz=ctest --preset fuzz -j $(JOBS)" \
	  "tsan=ctest --preset tsan -j $(JOBS)"

## The C++ suites (unit, integration) against the TSan build.
tsan-test: tsan
	@ctest --preset tsan -j $(JOBS)

## Every test (also the Node and browser suites) against the TSan build.
tsan-all: tsan
	@ctest --preset tsan-all -j $(JOBS)

## Install the release build: $(PREFIX)/bin/walcast, the systemd unit in
## $(PREFIX)/lib/systemd/system, the help text and an env file example in
## $(PREFIX)/share/doc/walcast. DESTDIR is honoured (packaging).
PREFIX ?= /usr/local
install: release
	cmake --install build/release --prefix $(PREFIX)

## Benchmarks (release build); results are written up in bench/README.md.
bench:
	@./scripts/install-deps.sh bench
	@cmake --preset release -DWALCAST_TESTS=OFF -DWALCAST_BENCH=ON >/dev/null
	@cmake --build --preset release -j $(JOBS)
	./bench/run-all.sh

CPP_FILES = git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp'
format:
	@clang-format -i $$($(CPP_FILES))

clean:
	rm -rf build
