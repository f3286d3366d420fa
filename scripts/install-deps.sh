#!/usr/bin/env bash
# Installs the Debian and npm packages walcast builds, tests and runs with. Idempotent: only what
# is missing is installed, so `make run` / `make test` can call it every time at little cost.
#   install-deps.sh run    what building and running the server needs (`make run`)
#   install-deps.sh test   that plus the test-only packages: GoogleTest, Google Benchmark (the
#                          debug build compiles bench/), Chromium, the test suites' npm packages
#   install-deps.sh bench  run plus Google Benchmark
#   install-deps.sh        everything (test + bench)
set -euo pipefail

mode=${1:-all}
case "$mode" in run|test|bench|all) ;; *)
  echo "usage: $0 [run|test|bench]" >&2; exit 2 ;;
esac

# Debian packages (bookworm). Boost 1.81 rather than the default 1.74 because Boost.JSON and
# Boost.URL are needed; postgresql-15 for the embedded/test clusters and pg_recvlogical.
debs=(
  g++ cmake make pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libpq-dev libssl-dev libjwt-dev libspdlog-dev libfmt-dev libcli11-dev libre2-dev
  postgresql-15 postgresql-client-15 locales
)
[ "$mode" = run ] || debs+=(libbenchmark-dev)
if [ "$mode" = test ] || [ "$mode" = all ]; then debs+=(googletest libgtest-dev); fi
# clang and its runtimes (libFuzzer, sanitizers) build the fuzz targets of make test (tests/fuzz).
if [ "$mode" = test ] || [ "$mode" = all ]; then debs+=(clang libclang-rt-14-dev); fi
# make lint (run by make test): clang-tidy with .clang-tidy, clang-format with .clang-format.
if [ "$mode" = test ] || [ "$mode" = all ]; then debs+=(clang-tidy clang-format); fi
# Node.js builds the inspector page's bundle (web/) and runs the realtime-js compatibility
# tests; Chromium runs the inspector's browser test.
command -v node >/dev/null 2>&1 || debs+=(nodejs)
command -v npm >/dev/null 2>&1 || debs+=(npm)
if { [ "$mode" = test ] || [ "$mode" = all ]; } && [ "${WALCAST_SKIP_BROWSER:-0}" != 1 ]; then
  debs+=(chromium)
fi

missing=()
for p in "${debs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The Debian postgresql package starts a system cluster on 5432; walcast never uses it, and
  # on a CI machine it only costs memory, so stop it when we were the ones who installed it.
  if printf '%s\n' "${missing[@]}" | grep -qx postgresql-15; then
    $sudo pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
  fi
fi

# npm packages: pinned by the lock files, installed only when node_modules is missing or stale.
top=$(cd "$(dirname "$0")/.." && pwd)
npm_dirs=("$top/web")
if [ "$mode" = test ] || [ "$mode" = all ]; then
  npm_dirs+=("$top/tests/compat" "$top/tests/e2e" "$top/tests/graphql-xcheck" "$top/tests/readme" "$top/tests/graphql")
fi
for dir in "${npm_dirs[@]}"; do
  [ -f "$dir/package.json" ] || continue
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci in ${dir#$top/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
