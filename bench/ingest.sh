#!/usr/bin/env bash
# Slot ingest benchmark: how fast walcast decodes a logical replication slot compared with
# pg_recvlogical reading an identical slot with the same pgoutput options.
#
# A throwaway cluster (initdb in /tmp, run as the postgres user when we are root) gets slots
# created before the workload, all at the same point; then ROW_CHANGES row changes (inserts,
# updates, deletes over a 7-column table) are written, so everything is already in the WAL.
# Each consumer then reads its own slot up to the same end LSN: pg_recvlogical (pgoutput,
# proto_version 1, the same publication, output to /dev/null, fsync off) and `walcast tail`
# (decode + JSON rendering, output to /dev/null). ROUNDS rounds alternate the order. Wall time,
# CPU time and peak RSS come from /usr/bin/time -v.
#
# Usage: bench/ingest.sh            (uses build/release/walcast; `make bench` builds it)
#        WALCAST_BIN=path ROUNDS=3 INSERTS=1000000 bench/ingest.sh
#        PRIORITY=-10 bench/ingest.sh  (root: runs Postgres and both consumers at that nice
#                                       level, to keep other work on a shared machine from
#                                       skewing one consumer's run more than the other's)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
walcast=${WALCAST_BIN:-$root/build/release/walcast}
rounds=${ROUNDS:-2}   # sequential rounds, order alternating
pairs=${PAIRS:-1}     # rounds with both consumers running at the same time
inserts=${INSERTS:-1000000}   # rows inserted (1000 per transaction) …
updates=${UPDATES:-200000}    # … of which this many are updated (1000 per transaction) …
deletes=${DELETES:-100000}    # … and this many deleted (1000 per transaction)
batch=1000
row_changes=$((inserts + updates + deletes))
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
recvlogical=$bindir/pg_recvlogical

[ -x "$walcast" ] || { echo "no walcast binary at $walcast: run \`make release\` or set WALCAST_BIN" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing: apt-get install time" >&2; exit 1; }

tmp=$(mktemp -d /tmp/walcast-bench-ingest-XXXXXX)
chmod 755 "$tmp"
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres "$tmp"
cleanup() {
    as_pg "$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "== cluster in $tmp (PostgreSQL $("$bindir/postgres" --version | awk '{print $3}'))"
as_pg "$bindir/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >/dev/null
as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w -o "-c listen_addresses='' \
    -c unix_socket_directories=$tmp -c wal_level=logical -c max_replication_slots=20 \
    -c max_wal_senders=20 -c fsync=off -c synchronous_commit=off -c max_wal_size=8GB \
    -c shared_buffers=256MB" start >/dev/null

priority=${PRIORITY:-}
nice_cmd=()
if [ -n "$priority" ]; then
    # Walsenders are forked by the postmaster and inherit its nice level.
    renice -n "$priority" -p "$(head -1 "$tmp/data/postmaster.pid")" >/dev/null
    nice_cmd=(nice -n "$priority")
fi

conninfo="host=$tmp user=postgres dbname=postgres"
psql_() { "$bindir/psql" -h "$tmp" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

psql_ -c "CREATE TABLE bench_rows (id int PRIMARY KEY, name text, qty int, price numeric(12,2),
            created timestamptz, tags text[], attrs jsonb);
          CREATE PUBLICATION bench_pub FOR TABLE bench_rows;"
for run in $(seq -f "seq%g" 1 "$rounds") $(seq -f "pair%g" 1 "$pairs"); do
    psql_ -At -c "SELECT pg_create_logical_replication_slot('${run}_recvlogical', 'pgoutput'),
                         pg_create_logical_replication_slot('${run}_walcast', 'pgoutput')" >/dev/null
done

echo "== workload: $inserts inserts, $updates updates, $deletes deletes ($row_changes row changes)"
{
    for ((i = 0; i < inserts; i += batch)); do
        echo "INSERT INTO bench_rows SELECT g, 'name ' || g, g % 100, g * 0.25,
              '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second',
              ARRAY['t' || (g % 7), 'all'], jsonb_build_object('g', g, 'even', g % 2 = 0)
              FROM generate_series($((i + 1)), $((i + batch))) g;"
    done
    for ((i = 0; i < updates; i += batch)); do
        echo "UPDATE bench_rows SET qty = qty + 1, name = name || '!'
              WHERE id BETWEEN $((i + 1)) AND $((i + batch));"
    done
    for ((i = 0; i < deletes; i += batch)); do
        echo "DELETE FROM bench_rows WHERE id BETWEEN $((inserts - i - batch + 1)) AND $((inserts - i));"
    done
} >"$tmp/workload.sql"
start=$(date +%s.%N)
psql_ -f "$tmp/workload.sql" >/dev/null
# The insert position: with synchronous_commit off the write position may lag behind it.
end_lsn=$(psql_ -At -c "SELECT pg_current_wal_insert_lsn()")
wal_bytes=$(psql_ -At -c "SELECT pg_wal_lsn_diff('$end_lsn', min(restart_lsn)) FROM pg_replication_slots")
echo "   written in $(echo "$(date +%s.%N) - $start" | bc) s; end LSN $end_lsn; $((wal_bytes / 1048576)) MiB of WAL to decode"

# CPU seconds of the postmaster's exited children (field 16 cutime + 17 cstime of its stat): a
# walsender's CPU time lands there once it has exited and been reaped.
server_cpu() {
    local pm
    pm=$(head -1 "$tmp/data/postmaster.pid")
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($16 + $17) / hz }' "/proc/$pm/stat"
}

# measure <slot> <command…>: runs it under /usr/bin/time -v, then waits for the slot's walsender
# to exit; appends "slot wall_s rss_kb client_cpu_s walsender_cpu_s" to results (walsender CPU
# "-" when another consumer ran at the same time).
measure() {
    local slot=$1
    shift
    local cpu_before
    cpu_before=$(server_cpu)
    "${nice_cmd[@]}" /usr/bin/time -v -o "$tmp/time.$slot" "$@"
    while [ "$(psql_ -At -c "SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'")" != f ]; do
        sleep 0.05
    done
    sleep 0.2 # the postmaster reaps the exited walsender
    local wall rss user sys server=-
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time.$slot" |
        awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.$slot")
    user=$(awk -F': ' '/User time/ {print $2}' "$tmp/time.$slot")
    sys=$(awk -F': ' '/System time/ {print $2}' "$tmp/time.$slot")
    [[ $slot == seq* ]] && server=$(awk -v a="$(server_cpu)" -v b="$cpu_before" 'BEGIN { printf "%.2f", a - b }')
    echo "$slot $wall $rss $(echo "$user + $sys" | bc) $server" >>"$tmp/results"
}

run_recvlogical() { # <run>
    measure "$1_recvlogical" "$recvlogical" -h "$tmp" -U postgres -d postgres \
        --slot "$1_recvlogical" --start --no-loop -F 0 -o proto_version=1 \
        -o publication_names=bench_pub -E "$end_lsn" -f /dev/null
}
run_walcast() { # <run>
    DATABASE_URL="$conninfo" SLOT_NAME="$1_walcast" PUBLICATION=bench_pub LOG_LEVEL=info \
        measure "$1_walcast" "$walcast" tail --until-lsn "$end_lsn" >/dev/null 2>"$tmp/$1_walcast.log"
    grep -q "printed $row_changes changes" "$tmp/$1_walcast.log" || {
        echo "walcast printed the wrong number of changes:" >&2
        cat "$tmp/$1_walcast.log" >&2
        exit 1
    }
}

: >"$tmp/results"
echo "== reading: load average before $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)${priority:+, nice $priority}"
for r in $(seq 1 "$rounds"); do
    if ((r % 2)); then
        run_recvlogical "seq$r"
        run_walcast "seq$r"
    else
        run_walcast "seq$r"
        run_recvlogical "seq$r"
    fi
done
for p in $(seq 1 "$pairs"); do
    run_recvlogical "pair$p" &
    run_walcast "pair$p" &
    wait
done
echo "   load average after $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== results ($row_changes row changes per run; seqN: one consumer at a time, order"
echo "   alternating; pairN: both at once, so background load hits both alike)"
printf "%-18s %8s %10s %14s %16s %14s\n" slot "wall s" "rows/s" "client CPU s" "walsender CPU s" \
    "peak RSS MiB"
sort -t_ -k1.1,1.3r -k1V "$tmp/results" | while read -r slot wall rss cpu server; do
    printf "%-18s %8.2f %10.0f %14.2f %16s %14.1f\n" "$slot" "$wall" \
        "$(echo "$row_changes / $wall" | bc -l)" "$cpu" "$server" "$(echo "$rss / 1024" | bc -l)"
done
# Per run, ratio = walcast rows/s ÷ pg_recvlogical rows/s = recvlogical wall ÷ walcast wall.
ratios=$(awk '{ split($1, a, "_"); if (a[2] == "recvlogical") r[a[1]] = $2; else w[a[1]] = $2 }
              END { for (run in r) printf "%s %.2f\n", substr(run, 1, 3), r[run] / w[run] }' \
    "$tmp/results" | sort -k1,1 -k2,2n)
seq_ratios=$(awk '$1 == "seq" { print $2 }' <<<"$ratios" | xargs)
pair_ratios=$(awk '$1 == "pai" { print $2 }' <<<"$ratios" | xargs)
median=$(awk '$1 == "seq" { v[++n] = $2 } END { if (n) print v[int((n + 1) / 2)] }' <<<"$ratios")
peak_rss=$(awk '$1 ~ /walcast/ && $3 > m { m = $3 } END { printf "%.1f", m / 1024 }' "$tmp/results")
echo "ratio walcast/pg_recvlogical: sequential median ${median:-n/a} (all: ${seq_ratios:-none})," \
    "concurrent ${pair_ratios:-not run}; target >= 0.90. walcast peak RSS $peak_rss MiB"
