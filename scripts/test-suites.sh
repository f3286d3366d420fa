#!/usr/bin/env bash
# The runner behind `make test`: runs each suite given as NAME=COMMAND in order, shows its
# output and keeps it in build/logs/NAME.log, and ends with one line per suite and a total.
# A ctest suite's counts come from its closing line; any other suite counts as one test.
# Every suite runs even after one fails; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/logs
summary=() passed=0 failed=0 status=0
for suite in "$@"; do
  name=${suite%%=*} cmd=${suite#*=}
  echo "== $name: $cmd"
  start=$SECONDS
  bash -c "$cmd" 2>&1 | tee "build/logs/$name.log"
  rc=${PIPESTATUS[0]}
  secs=$((SECONDS - start))
  tally=$(sed -n 's/^[0-9]*% tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\)$/\1 \2/p' \
            "build/logs/$name.log" | tail -1)
  if [ -n "$tally" ]; then
    read -r f n <<<"$tally"
  else
    n=1 f=$((rc != 0))
  fi
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1 # a suite that failed without failing a test
  passed=$((passed + n - f)) failed=$((failed + f))
  [ "$rc" -eq 0 ] && result=ok || { result="FAILED (exit $rc)"; status=1; }
  summary+=("$(printf '  %-8s %4d passed, %d failed, %4d s  %s' "$name" $((n - f)) "$f" "$secs" "$result")")
done
echo "== make test summary"
printf '%s\n' "${summary[@]}"
echo "total: $passed passed, $failed failed"
exit $status
