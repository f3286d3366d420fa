#!/usr/bin/env bash
# Fan-out benchmarks of issue 3, run with bench/loadgen against a release `walcast serve`:
#   fanout  1,000 clients on one table (no RLS), change rate rising step by step until
#           saturation: delivered messages/s, commit → receive p50/p99/p999, CPU of the load
#           tool / walcast / Postgres / the rest of the machine.
#   idle    10,000 joined idle clients: walcast RSS per connection.
# Each scenario starts its own walcast with its embedded Postgres in a fresh /tmp directory
# (Postgres runs as the postgres user when we are root) and stops it afterwards.
#
# Usage: bench/fanout.sh [BUILD_DIR]          (default build/release, what `make bench` builds)
#   SCENARIOS="fanout idle"  CLIENTS=1000  RATES=50,100,200,300,500,750,1000  DURATION=20
#   IDLE_CLIENTS=10000  HOLD=10  LOAD_THREADS=1  PG_FSYNC=off  OUT=results-file
# PG_FSYNC=off (the default, as in bench/ingest.sh) keeps the VM's disk flush out of the
# commit → receive latency; PG_FSYNC=on measures with durable commits.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bindir=$(cd "${1:-$root/build/release}" && pwd)
walcast=$bindir/walcast
loadgen=$bindir/bench/loadgen
scenarios=${SCENARIOS:-fanout idle}
clients=${CLIENTS:-1000}
rates=${RATES:-50,100,200,300,500,750,1000}
duration=${DURATION:-20}
idle_clients=${IDLE_CLIENTS:-10000}
hold=${HOLD:-10}
threads=${LOAD_THREADS:-1}
fsync=${PG_FSYNC:-off}
psql=${PSQL:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql}

for b in "$walcast" "$loadgen"; do
    [ -x "$b" ] || { echo "no $b: build the release preset first (make release)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/walcast-bench-fanout-XXXXXX)
chmod 755 "$tmp"
out=${OUT:-$tmp/results}
secret=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')
server_pid=
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=
}
trap 'stop_server; rm -rf "$tmp"' EXIT

# start_server <name> [ENV=value …]: walcast serve on a free port with its own cluster in
# $tmp/<name>; sets server_pid, ws_url, db_url, pg_data.
start_server() {
    local name=$1
    shift
    local dir=$tmp/$name
    mkdir -p "$dir"
    chmod 755 "$dir"
    # 10,000 clients need as many descriptors in walcast as in the load tool.
    (ulimit -n 20000 && exec env JWT_SECRET="$secret" PORT=0 LOG_LEVEL=warn "$@" \
        "$walcast" serve --data-dir "$dir/pgdata" >"$dir/stdout" 2>"$dir/stderr") &
    server_pid=$!
    for _ in $(seq 1 1200); do
        grep -q "Press Ctrl+C" "$dir/stdout" 2>/dev/null && break
        kill -0 "$server_pid" 2>/dev/null || { cat "$dir/stderr" >&2; exit 1; }
        sleep 0.1
    done
    ws_url=$(sed -n 's/.*WebSocket: *\(ws:[^ ]*\).*/\1/p' "$dir/stdout")
    db_url=$(sed -n 's/.*psql: *psql "\([^"]*\)".*/\1/p' "$dir/stdout")
    pg_data=$dir/pgdata
    [ -n "$ws_url" ] && [ -n "$db_url" ] || { echo "walcast did not start:" >&2; cat "$dir/stderr" >&2; exit 1; }
    "$psql" "$db_url" -Xq -c "ALTER SYSTEM SET fsync = $fsync" -c "SELECT pg_reload_conf()" >/dev/null
}

machine() {
    echo "machine: $(nproc) cores, $(sed -n 's/model name\s*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; $(uname -sr)"
    echo "load before: $(uptime | sed 's/.*load average/load average/')"
}

echo "== walcast fan-out benchmarks ($bindir), results also in $out"
machine | tee -a "$out"

for scenario in $scenarios; do
    case $scenario in
    fanout)
        echo "== fanout: $clients clients on one table, rates $rates changes/s, ${duration} s each, fsync=$fsync" | tee -a "$out"
        start_server fanout
        "$loadgen" --url "$ws_url" --db "$db_url" --jwt-secret "$secret" --setup \
            --table bench_fanout --clients "$clients" --rates "$rates" --duration "$duration" \
            --threads "$threads" --server-pid "$server_pid" --pg-data-dir "$pg_data" \
            --label fanout | tee -a "$out" || echo "!! fanout: loadgen reported problems (exit $?)" | tee -a "$out"
        stop_server
        ;;
    idle)
        echo "== idle: $idle_clients joined idle clients, held $hold s" | tee -a "$out"
        start_server idle
        "$loadgen" --url "$ws_url" --db "$db_url" --jwt-secret "$secret" --setup \
            --table bench_idle --clients "$idle_clients" --idle --hold "$hold" \
            --threads "$threads" --server-pid "$server_pid" --pg-data-dir "$pg_data" \
            --label idle | tee -a "$out" || echo "!! idle: loadgen reported problems (exit $?)" | tee -a "$out"
        stop_server
        ;;
    *) echo "unknown scenario $scenario (fanout, idle)" >&2; exit 1 ;;
    esac
done
echo "load after: $(uptime | sed 's/.*load average/load average/')" | tee -a "$out"
