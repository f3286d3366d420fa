#!/usr/bin/env bash
# Row-level security benchmark (issues 4 and 10), run with bench/loadgen against a release
# `walcast serve`: 1,000 subscribers on one table whose policy reads the JWT claims
# (`org = auth.jwt() ->> 'org'`), with 1, 100 and 1,000 distinct identities (distinct `sub`
# claims, clients assigned round-robin). Strategies (RLS_STRATEGY), side by side:
#   batched         walcast's default: each row version decided by the identity's policies,
#                   evaluated over the change's values (issue 10)
#   live-row        the previous method: the live row probed by primary key once the change's
#                   transaction is visible, batched the same way (issue 4)
#   per-subscriber  the reference's method: one probe per subscriber per change, in sequence
# Every HIDDEN_EVERY-th row belongs to another org: nobody may receive it (the load tool
# counts any that arrives as a leak).
#
# Runs are interleaved (for each identity count, each strategy in turn), each with a freshly
# started walcast on the same cluster, so that changing background load hits all of them.
#
# Usage: bench/rls.sh [BUILD_DIR]             (default build/release, what `make bench` builds)
#   CLIENTS=1000  IDENTITIES="1 100 1000"  STRATEGIES="batched live-row"
#   RATES_BATCHED=35,100,250,400  RATES_LIVE_ROW=35,100,250,400  RATES_PER_SUBSCRIBER=3,10,20
#   DURATION=15  HIDDEN_EVERY=10  LOAD_THREADS=1  PG_FSYNC=off  OUT=results-file
set -euo pipefail

source "$(dirname "$0")/lib/server.sh"
bench_init rls "${1:-}"
clients=${CLIENTS:-1000}
identities=${IDENTITIES:-1 100 1000}
strategies=${STRATEGIES:-batched live-row}
rates_batched=${RATES_BATCHED:-35,100,250,400}
rates_live_row=${RATES_LIVE_ROW:-35,100,250,400}
rates_per_subscriber=${RATES_PER_SUBSCRIBER:-3,10,20}
duration=${DURATION:-15}
drain=${DRAIN_TIMEOUT:-60}
hidden_every=${HIDDEN_EVERY:-10}

echo "== walcast RLS benchmark ($bindir), results also in $out"
{
    machine_info
    echo "$clients subscribers; identities: $identities; strategies: $strategies; ${duration} s per rate; every ${hidden_every}th row hidden; fsync=$fsync"
} | tee -a "$out"

for k in $identities; do
    for strategy in $strategies; do
        case $strategy in
        batched) rates=$rates_batched ;;
        live-row) rates=$rates_live_row ;;
        per-subscriber) rates=$rates_per_subscriber ;;
        *) echo "unknown strategy $strategy (batched, live-row, per-subscriber)" >&2; exit 1 ;;
        esac
        echo "== RLS $strategy, $k identities, rates $rates changes/s" | tee -a "$out"
        start_server "$tmp/cluster" RLS_STRATEGY="$strategy"
        "$loadgen" --url "$ws_url" --db "$db_url" --jwt-secret "$secret" --setup --rls \
            --table bench_rls --hidden-every "$hidden_every" --clients "$clients" \
            --identities "$k" --rates "$rates" --duration "$duration" --drain-timeout "$drain" \
            --threads "$threads" --server-pid "$server_pid" --pg-data-dir "$pg_data" \
            --label "rls-$strategy-$k" | tee -a "$out" ||
            echo "!! rls-$strategy-$k: loadgen reported problems (exit $?)" | tee -a "$out"
        stop_server
    done
done
echo "load after: $(uptime | sed 's/.*load average/load average/')" | tee -a "$out"

# The RESULT lines as the markdown table of bench/README.md.
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }
echo
echo "| strategy | identities | changes/s | offered msg/s | delivered msg/s | p50 ms | p99 ms | p99.9 ms | missing (clients short) | leaked | CPU % load tool / walcast / Postgres / rest of machine | Postgres µs CPU per change |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|:--:|---:|:--:|---:|"
grep '^RESULT .*"mode":"stream"' "$out" | while read -r line; do
    label=$(field label "$line")
    strategy=${label#rls-}
    strategy=${strategy%-*}
    echo "| $strategy | $(field identities "$line") | $(field rate "$line") | $(field offered_per_s "$line") | $(field delivered_per_s "$line") | $(field p50_ms "$line") | $(field p99_ms "$line") | $(field p999_ms "$line") | $(field missing "$line") ($(field clients_short "$line")) | $(field leaked "$line") | $(field cpu_loadgen_pct "$line") / $(field cpu_walcast_pct "$line") / $(field cpu_postgres_pct "$line") / $(field cpu_other_pct "$line") | $(field postgres_cpu_us_per_change "$line") |"
done
