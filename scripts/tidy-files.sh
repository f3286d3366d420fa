#!/usr/bin/env bash
# The src/ .cpp files `make tidy` checks (Makefile): with no argument, or a base that does not
# resolve (a shallow clone), every tracked src/*.cpp; with a base commit, those changed since
# it and those whose header of the same name (.hpp) changed, that still exist. One per line.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-}
if [ -z "$base" ] || ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
  git ls-files 'src/*.cpp'
  exit 0
fi
git diff --name-only "$base" -- 'src/*.cpp' 'src/*.hpp' \
  | sed 's/\.hpp$/.cpp/' | sort -u \
  | while read -r f; do [ -f "$f" ] && git ls-files --error-unmatch "$f" >/dev/null 2>&1 && echo "$f"; done
exit 0
