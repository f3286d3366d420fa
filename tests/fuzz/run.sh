#!/usr/bin/env bash
# Runs one libFuzzer target (tests/fuzz/CMakeLists.txt, `make fuzz`).
#   run.sh replay <binary> <corpus> <outdir>            every corpus input once
#   run.sh run    <binary> <corpus> <outdir> <seconds>  fuzz for <seconds> from the corpus
# A dictionary dict/<target>.dict beside this script, if present, steers the mutations.
# New inputs go to <outdir>/corpus/<target>/ (the checked-in corpus is only read); a crashing
# input is written to <outdir>/artifacts/<target>-crash-<sha1> and the exit status is non-zero.
# The last line says how many inputs were executed.
set -euo pipefail
mode=$1 bin=$2 corpus=$3 out=$4 seconds=${5:-}
name=$(basename "$bin")
name=${name#fuzz_}
mkdir -p "$out/corpus/$name" "$out/artifacts" "$out/logs"
log=$out/logs/$name.$mode.log
common=(-artifact_prefix="$out/artifacts/$name-" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1)
dict=$(dirname "$0")/dict/$name.dict
[ -f "$dict" ] && common+=(-dict="$dict")
status=0
case $mode in
replay) "$bin" "${common[@]}" -runs=0 "$corpus" >"$log" 2>&1 || status=$? ;;
run) "$bin" "${common[@]}" -max_total_time="$seconds" "$out/corpus/$name" "$corpus" \
       >"$log" 2>&1 || status=$? ;;
*) echo "usage: run.sh replay|run <binary> <corpus> <outdir> [seconds]" >&2; exit 2 ;;
esac
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz $name $mode: FAILED (exit $status) after ${execs:-?} executions; log $log"
  ls "$out/artifacts/$name-"* 2>/dev/null | sed 's/^/  input: /' || true
  exit "$status"
fi
inputs=$(ls "$corpus" | wc -l)
echo "fuzz $name $mode: ok, ${execs:-?} executions ($inputs seed inputs${seconds:+, $seconds s})"
