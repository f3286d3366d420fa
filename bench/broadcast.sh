#!/usr/bin/env bash
# Broadcast and Presence load benchmarks (issue 15), run with bench/loadgen against a release
# `walcast serve` (embedded Postgres, which these paths do not use):
#   broadcast  CLIENTS members of one topic (vsn 2.0.0, self false) and one more socket that
#              sends V2 binary user broadcasts (kind 3, what realtime-js 2.x sends) at each of
#              RATES broadcasts/s; every member must receive every broadcast once and in order
#              (kind 4); send → receive p50/p99 (the payload carries the send time) and
#              delivered msg/s, rising until saturation.
#   floor      the same clients, sender and rates against loadgen's in-process floor server:
#              it turns each kind 3 push into the kind 4 frame once and writes it to every
#              member with one send() per member from 2 threads — the unavoidable part of a
#              relay on this machine, to read walcast's figures against.
#   presence   CLIENTS clients join one presence topic (each its own key), then all track at
#              once: time until every client's presence state holds all CLIENTS keys (what
#              realtime-js' presenceState() shows), and the presence messages received against
#              the CLIENTS × CLIENTS diffs of a server that sends one diff per track.
# broadcast and floor alternate ROUNDS times so that changing background load hits both; each
# walcast scenario starts its own walcast. The tenant limits are off (TENANT_MAX_EVENTS_PER_
# SECOND=0, TENANT_MAX_PRESENCE_EVENTS_PER_SECOND=0): their defaults (100 and 1,000 events/s,
# counting every delivery) trip at once with 1,000 members.
#
# Usage: bench/broadcast.sh [BUILD_DIR]       (default build/release, what `make bench` builds)
#   SCENARIOS="broadcast floor presence"  CLIENTS=1000  RATES=100,300,1000  DURATION=10
#   ROUNDS=2  PRESENCE_ROUNDS=3  LOAD_THREADS=1  OUT=results-file
set -euo pipefail

source "$(dirname "$0")/lib/server.sh"
bench_init broadcast "${1:-}"
scenarios=${SCENARIOS:-broadcast floor presence}
clients=${CLIENTS:-1000}
rates=${RATES:-100,300,1000}
duration=${DURATION:-10}
rounds=${ROUNDS:-2}
presence_rounds=${PRESENCE_ROUNDS:-3}
limits=(TENANT_MAX_EVENTS_PER_SECOND=0 TENANT_MAX_PRESENCE_EVENTS_PER_SECOND=0)

echo "== walcast Broadcast and Presence benchmarks ($bindir), results also in $out"
machine_info | tee -a "$out"

has() { [[ " $scenarios " == *" $1 "* ]]; }
for round in $(seq 1 "$rounds"); do
    if has broadcast; then
        echo "== broadcast (round $round): $clients members + 1 sender, rates $rates broadcasts/s, ${duration} s each" | tee -a "$out"
        start_server "$tmp/broadcast" "${limits[@]}"
        "$loadgen" --broadcast --url "$ws_url" --jwt-secret "$secret" --clients "$clients" \
            --rates "$rates" --duration "$duration" --threads "$threads" \
            --server-pid "$server_pid" --label "walcast-$round" | tee -a "$out" ||
            echo "!! broadcast: loadgen reported problems (exit $?)" | tee -a "$out"
        stop_server
    fi
    if has floor; then
        echo "== floor (round $round): $clients members + 1 sender, the in-process floor server, rates $rates broadcasts/s" | tee -a "$out"
        "$loadgen" --broadcast --floor --floor-threads 2 --jwt-secret "$secret" \
            --clients "$clients" --rates "$rates" --duration "$duration" --threads "$threads" \
            --label "floor-$round" | tee -a "$out" ||
            echo "!! floor: loadgen reported problems (exit $?)" | tee -a "$out"
    fi
done
if has presence; then
    for round in $(seq 1 "$presence_rounds"); do
        echo "== presence (round $round): $clients clients join one presence topic, then all track" | tee -a "$out"
        start_server "$tmp/presence" "${limits[@]}"
        "$loadgen" --presence --url "$ws_url" --jwt-secret "$secret" --clients "$clients" \
            --threads "$threads" --server-pid "$server_pid" --label "presence-$round" |
            tee -a "$out" || echo "!! presence: loadgen reported problems (exit $?)" | tee -a "$out"
        stop_server
    done
fi
echo "load after: $(uptime | sed 's/.*load average/load average/')" | tee -a "$out"

# The RESULT lines as the markdown tables of bench/README.md.
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }
if grep -q '^RESULT .*"mode":"broadcast"' "$out"; then
    echo
    echo "| server | broadcasts/s | offered msg/s | delivered msg/s | p50 ms | p99 ms | p99.9 ms | max ms | missing / dup / out of order | CPU % load tool / server / rest of machine | server µs CPU per msg |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|:--:|:--:|---:|"
    grep '^RESULT .*"mode":"broadcast"' "$out" | while read -r line; do
        echo "| $(field label "$line") | $(field rate "$line") | $(field offered_per_s "$line") | $(field delivered_per_s "$line") | $(field p50_ms "$line") | $(field p99_ms "$line") | $(field p999_ms "$line") | $(field max_ms "$line") | $(field missing "$line") / $(field duplicates "$line") / $(field out_of_order "$line") | $(field cpu_loadgen_pct "$line") / $(field cpu_walcast_pct "$line") / $(field cpu_other_pct "$line") | $(field walcast_cpu_us_per_msg "$line") |"
    done
fi
if grep -q '^RESULT .*"mode":"presence"' "$out"; then
    echo
    echo "| run | clients | every state full ms | client p50 / p99 ms | messages | uncoalesced | ratio | walcast CPU % | load tool CPU % |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    grep '^RESULT .*"mode":"presence"' "$out" | while read -r line; do
        m=$(field messages "$line")
        u=$(field uncoalesced "$line")
        echo "| $(field label "$line") | $(field clients "$line") | $(field full_ms "$line") | $(field full_p50_ms "$line") / $(field full_p99_ms "$line") | $m | $u | $(awk -v m="$m" -v u="$u" 'BEGIN { printf "%.4f", m / u }') | $(field cpu_walcast_pct "$line") | $(field cpu_loadgen_pct "$line") |"
    done
fi
