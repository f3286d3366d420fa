# walcast: the two commands are `make run` and `make test` (see README.md).
# Both install what is missing (scripts/install-deps.sh), build, then run.

JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: run test bench deps release debug tsan fuzz-build fuzz install clean format

# What each job needs: running installs no test tools (GoogleTest, Chromium, test npm packages).
deps:
	@./scripts/install-deps.sh

release:
	@./scripts/install-deps.sh run
	@cmake --preset release -DWALCAST_TESTS=OFF -DWALCAST_BENCH=OFF >/dev/null
	@cmake --build --preset release -j $(JOBS)

debug:
	@./scripts/install-deps.sh test
	@cmake --preset debug >/dev/null
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

## Build (release) and start the server. With no database configured it starts its own
## throwaway Postgres under .walcast/pgdata. Pass flags with ARGS="--port 4100".
run: release
	./build/release/walcast serve $(ARGS)

## Build and run every test (README.md, "What make test runs"): the debug build (ASan+UBSan)
## with unit, integration, compat and e2e suites, the same tests against the TSan build, then
## the fuzz targets (each corpus replayed, then a bounded run).
test: debug tsan fuzz-build
	@./scripts/test-suites.sh \
	  "debug=ctest --preset debug -j $(JOBS)" \
	  "tsan=ctest --preset tsan -j $(JOBS)" \
	  "fuzz=ctest --preset fuzz -j $(JOBS)"

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

format:
	@clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp')

clean:
	rm -rf build
