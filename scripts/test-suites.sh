#!/usr/bin/env bash
# The runner behind `make test`: runs each suite given as NAME=COMMAND in order, shows its
# output and keeps it in build/logs/NAME.log, and ends with one line per suite and a total.
# A suite written NAME&=COMMAND runs in the background (its output only in its log) alongside
# the next foreground suite; the runner waits for it before the foreground suite after that.
# `make test` uses this to build the TSan and fuzz trees while the debug suite runs.
# A ctest suite's counts come from its closing line; any other suite counts as one test.
# Every suite runs even after one fails; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/logs
summary=() passed=0 failed=0 status=0
declare -A bg_pid=() bg_start=()
pending=() # background suites overlapping the current foreground suite

record() { # record NAME RC SECONDS
  local name=$1 rc=$2 secs=$3 tally f n result
  tally=$(sed -n 's/^[0-9]*% tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\)$/\1 \2/p' \
            "build/logs/$name.log" | tail -1)
  if [ -n "$tally" ]; then
    read -r f n <<<"$tally"
  else
    n=1 f=$((rc != 0))
  fi
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1 # a suite that failed without failing a test
  passed=$((passed + n - f)) failed=$((failed + f))
  [ "$rc" -eq 0 ] && result=ok || { result="FAILED (exit $rc; build/logs/$name.log)"; status=1; }
  summary+=("$(printf '  %-8s %4d passed, %d failed, %4d s  %s' "$name" $((n - f)) "$f" "$secs" "$result")")
}

wait_background() {
  local name rc
  for name in "${pending[@]}"; do
    echo "== waiting for $name (background)"
    wait "${bg_pid[$name]}"
    rc=$?
    [ "$rc" -ne 0 ] && tail -n 40 "build/logs/$name.log"
    record "$name" "$rc" $((SECONDS - bg_start[$name]))
  done
  pending=()
}

overlapping=() # background suites started since the last foreground suite
for suite in "$@"; do
  name=${suite%%=*} cmd=${suite#*=}
  if [ "${name%&}" != "$name" ]; then
    name=${name%&}
    echo "== $name (background, log build/logs/$name.log): $cmd"
    bg_start[$name]=$SECONDS
    bash -c "$cmd" >"build/logs/$name.log" 2>&1 &
    bg_pid[$name]=$!
    overlapping+=("$name")
    continue
  fi
  pending+=("${overlapping[@]}")
  overlapping=()
  echo "== $name: $cmd"
  start=$SECONDS
  bash -c "$cmd" 2>&1 | tee "build/logs/$name.log"
  rc=${PIPESTATUS[0]}
  record "$name" "$rc" $((SECONDS - start))
  wait_background
done
pending+=("${overlapping[@]}")
wait_background
echo "== make test summary"
printf '%s\n' "${summary[@]}"
echo "total: $passed passed, $failed failed, $SECONDS s"
exit $status
