#!/usr/bin/env bash
# Fan-out benchmarks of issue 3, run with bench/loadgen against a release `walcast serve`:
#   fanout  1,000 clients on one table (no RLS), change rate rising step by step until
#           saturation: delivered messages/s, commit → receive p50/p99/p999, CPU of the load
#           tool / walcast / Postgres / the rest of the machine.
#   floor   the same clients and rates against loadgen's in-process "floor server" instead of
#           walcast: one writev() of a ready frame per client per change from 2 threads, no
#           Postgres. What this machine's loopback TCP and scheduler allow at best; walcast's
#           latency and CPU per message are to be read against it.
#   idle    10,000 joined idle clients: walcast RSS per connection.
# Each scenario starts its own walcast with its embedded Postgres in a fresh /tmp directory
# (Postgres runs as the postgres user when we are root) and stops it afterwards.
#
# Usage: bench/fanout.sh [BUILD_DIR]          (default build/release, what `make bench` builds)
#   SCENARIOS="fanout floor idle"  CLIENTS=1000  RATES=50,100,200,300,500,750,1000  DURATION=20
#   IDLE_CLIENTS=10000  HOLD=10  LOAD_THREADS=1  PG_FSYNC=off  OUT=results-file
# PG_FSYNC=off (the default, as in bench/ingest.sh) keeps the VM's disk flush out of the
# commit → receive latency; PG_FSYNC=on measures with durable commits.
set -euo pipefail

source "$(dirname "$0")/lib/server.sh"
bench_init fanout "${1:-}"
scenarios=${SCENARIOS:-fanout floor idle}
clients=${CLIENTS:-1000}
rates=${RATES:-50,100,200,300,500,750,1000}
duration=${DURATION:-20}
idle_clients=${IDLE_CLIENTS:-10000}
hold=${HOLD:-10}

echo "== walcast fan-out benchmarks ($bindir), results also in $out"
machine_info | tee -a "$out"

for scenario in $scenarios; do
    case $scenario in
    fanout)
        echo "== fanout: $clients clients on one table, rates $rates changes/s, ${duration} s each, fsync=$fsync" | tee -a "$out"
        start_server "$tmp/fanout"
        "$loadgen" --url "$ws_url" --db "$db_url" --jwt-secret "$secret" --setup \
            --table bench_fanout --clients "$clients" --rates "$rates" --duration "$duration" \
            --threads "$threads" --server-pid "$server_pid" --pg-data-dir "$pg_data" \
            --label fanout | tee -a "$out" || echo "!! fanout: loadgen reported problems (exit $?)" | tee -a "$out"
        stop_server
        ;;
    floor)
        echo "== floor: $clients clients, the in-process floor server, rates $rates changes/s, ${duration} s each" | tee -a "$out"
        "$loadgen" --floor --floor-threads 2 --jwt-secret "$secret" --clients "$clients" \
            --rates "$rates" --duration "$duration" --threads "$threads" \
            --label floor | tee -a "$out" || echo "!! floor: loadgen reported problems (exit $?)" | tee -a "$out"
        ;;
    idle)
        echo "== idle: $idle_clients joined idle clients, held $hold s" | tee -a "$out"
        start_server "$tmp/idle"
        "$loadgen" --url "$ws_url" --db "$db_url" --jwt-secret "$secret" --setup \
            --table bench_idle --clients "$idle_clients" --idle --hold "$hold" \
            --threads "$threads" --server-pid "$server_pid" --pg-data-dir "$pg_data" \
            --label idle | tee -a "$out" || echo "!! idle: loadgen reported problems (exit $?)" | tee -a "$out"
        stop_server
        ;;
    *) echo "unknown scenario $scenario (fanout, floor, idle)" >&2; exit 1 ;;
    esac
done
echo "load after: $(uptime | sed 's/.*load average/load average/')" | tee -a "$out"

# The RESULT lines as the markdown tables of bench/README.md.
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }
if grep -q '^RESULT .*"mode":"stream"' "$out"; then
    echo
    echo "| server | changes/s | offered msg/s | delivered msg/s | p50 ms | p99 ms | p99.9 ms | max ms | missing / dup / out of order | CPU % load tool / server / Postgres / rest of machine | server µs CPU per msg | load tool µs per msg |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|:--:|:--:|---:|---:|"
    grep '^RESULT .*"mode":"stream"' "$out" | while read -r line; do
        echo "| $(field label "$line") | $(field rate "$line") | $(field offered_per_s "$line") | $(field delivered_per_s "$line") | $(field p50_ms "$line") | $(field p99_ms "$line") | $(field p999_ms "$line") | $(field max_ms "$line") | $(field missing "$line") / $(field duplicates "$line") / $(field out_of_order "$line") | $(field cpu_loadgen_pct "$line") / $(field cpu_walcast_pct "$line") / $(field cpu_postgres_pct "$line") / $(field cpu_other_pct "$line") | $(field walcast_cpu_us_per_msg "$line") | $(field loadgen_cpu_us_per_msg "$line") |"
    done
fi
if grep -q '^RESULT .*"mode":"idle"' "$out"; then
    echo
    echo "| idle clients | walcast RSS before KiB | after upgrade KiB | after join KiB | bytes per joined idle connection | bytes per upgraded socket |"
    echo "|---:|---:|---:|---:|---:|---:|"
    grep '^RESULT .*"mode":"idle"' "$out" | while read -r line; do
        echo "| $(field joined "$line") | $(field rss_before_kib "$line") | $(field rss_connected_kib "$line") | $(field rss_after_kib "$line") | $(field bytes_per_connection "$line") | $(field bytes_per_upgraded_socket "$line") |"
    done
fi
