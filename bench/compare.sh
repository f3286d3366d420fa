#!/usr/bin/env bash
# A/B comparison of two walcast release builds in one run: the fan-out and RLS scenarios of
# bench/fanout.sh and bench/rls.sh, each side started fresh on its own embedded cluster,
# interleaved round by round (A B, then B A, …) so that changing background load hits both.
# The load tool is the one of the second build for both sides (the same client code measures
# both servers).
#
# Usage: bench/compare.sh BASE_BUILD_DIR NEW_BUILD_DIR
#   ROUNDS=2  CLIENTS=1000  FANOUT_RATES=100,300,1000  RLS_IDENTITIES=100  RLS_RATES=35,150
#   (FANOUT_RATES=none or RLS_RATES=none skips that scenario)
#   BASE_RLS_STRATEGY=batched NEW_RLS_STRATEGY=batched: RLS_STRATEGY of each side's server;
#   NEW_RLS_STRATEGY=live-row runs the new build with the method of builds before 8487cb8
#   (the live row read by key), so that a base from before it is compared like for like
#   DURATION=12  LOAD_THREADS=1  PG_FSYNC=off  OUT=results-file
# Prints one markdown table per scenario: each (round, side, rate) row with delivered msg/s,
# latency, walcast CPU per delivered message and correctness counts.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: bench/compare.sh BASE_BUILD_DIR NEW_BUILD_DIR" >&2; exit 2; }
base_dir=$(cd "$1" && pwd)
new_dir=$(cd "$2" && pwd)
source "$(dirname "$0")/lib/server.sh"
bench_init compare "$new_dir"
for b in "$base_dir/walcast" "$new_dir/walcast"; do
    [ -x "$b" ] || { echo "no $b: build the release preset there first" >&2; exit 1; }
done
rounds=${ROUNDS:-2}
clients=${CLIENTS:-1000}
fanout_rates=${FANOUT_RATES:-100,300,1000}
rls_identities=${RLS_IDENTITIES:-100}
rls_rates=${RLS_RATES:-35,150}
duration=${DURATION:-12}

describe() { # <build dir>
    local src
    src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt" 2>/dev/null || true)
    echo "$1/walcast (tree $(git -C "${src:-$1}" rev-parse --short HEAD 2>/dev/null || echo '?'), built $(stat -c %y "$1/walcast" | cut -d. -f1))"
}
{
    echo "== walcast A/B: base = $(describe "$base_dir")"
    echo "==              new  = $(describe "$new_dir")"
    echo "== load tool $loadgen; $rounds rounds; $clients clients; ${duration} s per rate; fsync=$fsync"
    machine_info | grep -v '^walcast:'
} | tee -a "$out"

run_side() { # <round> <side> <build dir>
    local round=$1 side=$2 dir=$3
    walcast=$dir/walcast
    if [ "$fanout_rates" != none ]; then
    echo "== round $round, $side: fan-out, rates $fanout_rates" | tee -a "$out"
    start_server "$tmp/$side-fanout"
    "$loadgen" --url "$ws_url" --db "$db_url" --jwt-secret "$secret" --setup \
        --table bench_fanout --clients "$clients" --rates "$fanout_rates" --duration "$duration" \
        --threads "$threads" --server-pid "$server_pid" --pg-data-dir "$pg_data" \
        --label "fanout-$side-r$round" | tee -a "$out" ||
        echo "!! fanout-$side-r$round: loadgen reported problems (exit $?)" | tee -a "$out"
    stop_server
    fi
    [ "$rls_rates" != none ] || return 0
    local strategy=${BASE_RLS_STRATEGY:-batched}
    [ "$side" = new ] && strategy=${NEW_RLS_STRATEGY:-batched}
    echo "== round $round, $side: RLS $strategy, $rls_identities identities, rates $rls_rates" | tee -a "$out"
    start_server "$tmp/$side-rls" RLS_STRATEGY="$strategy"
    "$loadgen" --url "$ws_url" --db "$db_url" --jwt-secret "$secret" --setup --rls \
        --table bench_rls --hidden-every 10 --clients "$clients" --identities "$rls_identities" \
        --rates "$rls_rates" --duration "$duration" --drain-timeout 60 \
        --threads "$threads" --server-pid "$server_pid" --pg-data-dir "$pg_data" \
        --label "rls-$side-r$round" | tee -a "$out" ||
        echo "!! rls-$side-r$round: loadgen reported problems (exit $?)" | tee -a "$out"
    stop_server
}

for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then
        run_side "$round" base "$base_dir"
        run_side "$round" new "$new_dir"
    else
        run_side "$round" new "$new_dir"
        run_side "$round" base "$base_dir"
    fi
done
echo "load after: $(uptime | sed 's/.*load average/load average/')" | tee -a "$out"

field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }
for scenario in fanout rls; do
    grep -q "^RESULT .*\"label\":\"$scenario-" "$out" || continue # skipped (=none)
    echo
    echo "| scenario | side | round | changes/s | offered msg/s | delivered msg/s | p50 ms | p99 ms | missing / dup / out of order | leaked | CPU % load tool / walcast / Postgres / rest | walcast µs CPU per msg |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|:--:|---:|:--:|---:|"
    grep "^RESULT .*\"label\":\"$scenario-" "$out" | grep '"mode":"stream"' | while read -r line; do
        label=$(field label "$line")
        rest=${label#"$scenario"-}
        echo "| $scenario | ${rest%-r*} | ${rest##*-r} | $(field rate "$line") | $(field offered_per_s "$line") | $(field delivered_per_s "$line") | $(field p50_ms "$line") | $(field p99_ms "$line") | $(field missing "$line") / $(field duplicates "$line") / $(field out_of_order "$line") | $(field leaked "$line") | $(field cpu_loadgen_pct "$line") / $(field cpu_walcast_pct "$line") / $(field cpu_postgres_pct "$line") / $(field cpu_other_pct "$line") | $(field walcast_cpu_us_per_msg "$line") |"
    done
done
