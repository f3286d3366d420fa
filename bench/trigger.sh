#!/usr/bin/env bash
# Trigger capture benchmarks (issue 12). Every figure is a ratio of two runs made side by side in
# the same script run (interleaved, ROUNDS times, medians reported):
#   writer    pgbench throughput of a writer on a table with walcast's capture triggers ÷ the
#             same table without triggers — single-row transactions (INSERT, UPDATE, DELETE by
#             key) and 1,000-row statements — beside the seed article's pg_notify trigger and
#             beside capture triggers that also NOTIFY once per transaction (the wake-up walcast
#             does not use); 1 and CLIENTS concurrent writers; durable commits unless
#             SYNC_COMMIT=off.
#   idle      what trigger capture's polling costs an idle database: Postgres CPU over IDLE_S
#             seconds with a trigger-mode walcast, beside a logical-mode one (and polls/s).
#   capture   changes/s delivered to one subscriber, trigger mode ÷ logical mode, same walcast
#             build, same workload (bench/loadgen, rates stepping to saturation).
#   latency   commit → client p50/p99 at 1,000 changes/s, both modes.
#   storage   event-table size while 1,000,000 changes are written and consumed (sampled every
#             100,000): bounded by rotation, not growing.
#
# Usage: bench/trigger.sh [BUILD_DIR]     (default build/release)
#   SCENARIOS="writer idle capture latency storage"  ROUNDS=3  SECONDS_PER_RUN=8  CLIENTS=4
#   RATES=2000,5000,10000,20000  LAT_RATE=1000  DURATION=15  SYNC_COMMIT=on  OUT=results-file
set -euo pipefail

source "$(dirname "$0")/lib/server.sh"
bench_init trigger "${1:-}"
scenarios=${SCENARIOS:-writer idle capture latency storage}
rounds=${ROUNDS:-3}
run_s=${SECONDS_PER_RUN:-8}
clients=${CLIENTS:-4}
rates=${RATES:-2000,5000,10000,20000}
lat_rate=${LAT_RATE:-1000}
duration=${DURATION:-15}
sync_commit=${SYNC_COMMIT:-on}
pgbin=$(dirname "$psql")
pgbench=$pgbin/pgbench

echo "== walcast trigger capture benchmarks ($bindir), results also in $out"
machine_info | tee -a "$out"

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A plain cluster for the writer benchmark: initdb in $tmp/wdata, Unix socket in $tmp.
start_cluster() {
    [ "$(id -u)" = 0 ] && chown postgres "$tmp"
    as_pg "$pgbin/initdb" -D "$tmp/wdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >/dev/null
    as_pg "$pgbin/pg_ctl" -D "$tmp/wdata" -l "$tmp/wlog" -w -o "-c listen_addresses='' \
        -c unix_socket_directories=$tmp -c max_connections=50 -c shared_buffers=256MB \
        -c synchronous_commit=$sync_commit -c max_wal_size=4GB" start >/dev/null
    wurl="postgresql://postgres@/postgres?host=$tmp"
}
stop_cluster() {
    as_pg "$pgbin/pg_ctl" -D "$tmp/wdata" -m fast stop >/dev/null 2>&1 || true
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# --- writer -----------------------------------------------------------------------------------
writer() {
    start_cluster
    local p=("$psql" "$wurl" -Xq -v ON_ERROR_STOP=1)
    # Four identical tables: no trigger, walcast's capture triggers, the seed's pg_notify trigger
    # (seed 004: row_to_json(NEW) per row, here on all three operations), and capture triggers
    # plus one NOTIFY per transaction.
    for t in w_plain w_capture w_notify w_capture_notify; do
        "${p[@]}" -c "CREATE TABLE $t (id bigserial PRIMARY KEY, b bigint NOT NULL, v int,
                        name text, at timestamptz DEFAULT now()); CREATE INDEX ON $t (b)"
    done
    "${p[@]}" -c "CREATE PUBLICATION bench_pub FOR TABLE w_capture, w_capture_notify"
    # db init creates the JWT roles; its checklist fails until they may read the tables, so
    # grant, then db check must pass.
    "$walcast" db init --capture trigger --database-url "$wurl" --publication bench_pub >/dev/null || true
    "${p[@]}" -c "GRANT SELECT ON w_capture, w_capture_notify TO anon, authenticated, service_role"
    "$walcast" db check --capture trigger --database-url "$wurl" --publication bench_pub >/dev/null
    "${p[@]}" -c "
      CREATE FUNCTION notify_trigger() RETURNS trigger LANGUAGE plpgsql AS \$\$
      BEGIN PERFORM pg_notify('record_changes', row_to_json(NEW)::text); RETURN NEW; END \$\$;
      CREATE TRIGGER record_changes AFTER INSERT OR UPDATE OR DELETE ON w_notify
        FOR EACH ROW EXECUTE FUNCTION notify_trigger();
      CREATE FUNCTION notify_once() RETURNS trigger LANGUAGE plpgsql AS \$\$
      BEGIN
        IF current_setting('bench.notified', true) IS DISTINCT FROM 'y' THEN
          PERFORM set_config('bench.notified', 'y', true);
          PERFORM pg_notify('walcast', '');
        END IF;
        RETURN NULL;
      END \$\$;
      CREATE TRIGGER wake AFTER INSERT OR UPDATE OR DELETE ON w_capture_notify
        FOR EACH STATEMENT EXECUTE FUNCTION notify_once();"
    cat >"$tmp/single.sql" <<'EOF'
\set b random(1, 1000000000000)
INSERT INTO :t (b, v, name) VALUES (:b, 1, 'row ' || :b);
UPDATE :t SET v = v + 1 WHERE b = :b;
DELETE FROM :t WHERE b = :b;
EOF
    cat >"$tmp/bulk.sql" <<'EOF'
\set b random(1, 1000000000000)
INSERT INTO :t (b, v, name) SELECT :b, g, 'row ' || g FROM generate_series(1, 1000) g;
UPDATE :t SET v = v + 1 WHERE b = :b;
DELETE FROM :t WHERE b = :b;
EOF
    echo "== writer: pgbench ${run_s} s per run, $rounds interleaved rounds, synchronous_commit=$sync_commit" | tee -a "$out"
    echo "   (one script run = INSERT, UPDATE, DELETE by key, each its own transaction; bulk: each a 1,000-row statement)" | tee -a "$out"
    for script in single bulk; do
        for c in 1 "$clients"; do
            declare -A tps=()
            for r in $(seq 1 "$rounds"); do
                for t in w_plain w_capture w_notify w_capture_notify; do
                    # Keep the event tables from growing across runs: consumed or not, the
                    # writer's cost does not depend on them.
                    "${p[@]}" -c "TRUNCATE walcast.event_0, walcast.event_1, walcast.event_2" -c "VACUUM $t" >/dev/null
                    local v
                    v=$("$pgbench" "$wurl" -n -f "$tmp/$script.sql" -D t="$t" -c "$c" -j "$c" \
                        -T "$run_s" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
                    tps[$t]+="$v "
                done
            done
            local plain capture notify cnotify
            plain=$(echo "${tps[w_plain]}" | tr ' ' '\n' | grep . | median)
            capture=$(echo "${tps[w_capture]}" | tr ' ' '\n' | grep . | median)
            notify=$(echo "${tps[w_notify]}" | tr ' ' '\n' | grep . | median)
            cnotify=$(echo "${tps[w_capture_notify]}" | tr ' ' '\n' | grep . | median)
            printf "   %-6s clients %-2s  scripts/s: plain %9.1f  capture %9.1f (%.2f)  seed pg_notify %9.1f (%.2f)  capture+notify/txn %9.1f (%.2f)\n" \
                "$script" "$c" "$plain" "$capture" "$(echo "$capture / $plain" | bc -l)" \
                "$notify" "$(echo "$notify / $plain" | bc -l)" "$cnotify" "$(echo "$cnotify / $plain" | bc -l)" | tee -a "$out"
            echo "RESULT {\"scenario\":\"writer\",\"script\":\"$script\",\"clients\":$c,\"plain\":$plain,\"capture\":$capture,\"seed_notify\":$notify,\"capture_notify_once\":$cnotify,\"runs\":{\"plain\":\"${tps[w_plain]}\",\"capture\":\"${tps[w_capture]}\",\"seed_notify\":\"${tps[w_notify]}\",\"capture_notify_once\":\"${tps[w_capture_notify]}\"}}" >>"$out"
            unset tps
        done
    done
    stop_cluster
    rm -rf "$tmp/wdata"
}

# CPU seconds of every process of the cluster whose data directory is $1 (postmaster children
# included), from /proc.
pg_cpu_s() {
    local pm
    pm=$(head -1 "$1/postmaster.pid")
    local total=0
    for pid in $pm $(pgrep -P "$pm"); do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$total / $(getconf CLK_TCK)" | bc -l
}

# --- idle -------------------------------------------------------------------------------------
http_of() { echo "${1%/socket}" | sed 's|^ws://|http://|'; }

idle() {
    local idle_s=${IDLE_S:-20}
    echo "== idle: Postgres CPU over ${idle_s} s with nothing written, walcast in each capture mode" | tee -a "$out"
    for mode in logical trigger; do
        start_server "$tmp/idle_$mode" CAPTURE="$mode"
        sleep 3
        local polls0 polls1 cpu0 cpu1
        polls0=$(curl -s "$(http_of "$ws_url")/metrics" | awk '/^walcast_trigger_polls /{print $2}')
        cpu0=$(pg_cpu_s "$pg_data")
        sleep "$idle_s"
        cpu1=$(pg_cpu_s "$pg_data")
        polls1=$(curl -s "$(http_of "$ws_url")/metrics" | awk '/^walcast_trigger_polls /{print $2}')
        local pct polls
        pct=$(echo "($cpu1 - $cpu0) / $idle_s * 100" | bc -l)
        polls=$(echo "(${polls1:-0} - ${polls0:-0}) / $idle_s" | bc -l)
        printf "   %-7s Postgres CPU %.2f %% of a core, %.0f polls/s\n" "$mode" "$pct" "$polls" | tee -a "$out"
        echo "RESULT {\"scenario\":\"idle\",\"capture\":\"$mode\",\"seconds\":$idle_s,\"pg_cpu_pct\":$pct,\"polls_per_s\":$polls}" >>"$out"
        stop_server
    done
}

# --- capture / latency ------------------------------------------------------------------------
# loadgen_mode <label> <capture> <rates> <seconds> [loadgen args]: a fresh walcast with its
# embedded Postgres in CAPTURE=<capture>, one subscriber.
loadgen_mode() {
    local label=$1 capture=$2 step_rates=$3 secs=$4
    shift 4
    start_server "$tmp/$label" CAPTURE="$capture"
    "$loadgen" --url "$ws_url" --db "$db_url" --jwt-secret "$secret" --setup \
        --table bench_capture --clients 1 --rates "$step_rates" --duration "$secs" \
        --threads "$threads" --server-pid "$server_pid" --pg-data-dir "$pg_data" \
        --label "$label" "$@" | tee -a "$out" || echo "!! $label: loadgen reported problems (exit $?)" | tee -a "$out"
    stop_server
}

capture() {
    echo "== capture: one subscriber, rates $rates changes/s (up to 100 rows per transaction), ${duration} s each, both modes" | tee -a "$out"
    for r in $(seq 1 "$rounds"); do
        for mode in logical trigger; do
            loadgen_mode "capture_${mode}_$r" "$mode" "$rates" "$duration" --max-rows-per-txn 100
        done
    done
}

latency() {
    echo "== latency: one subscriber at $lat_rate changes/s, ${duration} s, both modes" | tee -a "$out"
    for r in $(seq 1 "$rounds"); do
        for mode in logical trigger; do
            loadgen_mode "latency_${mode}_$r" "$mode" "$lat_rate" "$duration" --max-rows-per-txn 1
        done
    done
}

# --- storage ----------------------------------------------------------------------------------
storage() {
    local total=${STORAGE_CHANGES:-1000000} rotation=${ROTATION_BYTES:-16777216}
    echo "== storage: $total changes (1,000-row transactions) written and consumed by a trigger-mode walcast; rotation_bytes $rotation" | tee -a "$out"
    start_server "$tmp/storage" CAPTURE=trigger
    local p=("$psql" "$db_url" -Xq -v ON_ERROR_STOP=1)
    # The embedded publication is created empty (as Supabase does): add the table to it.
    "${p[@]}" -c "CREATE TABLE bench_store (id bigint PRIMARY KEY, name text, qty int, at timestamptz)" \
        -c "ALTER PUBLICATION supabase_realtime ADD TABLE bench_store"
    "${p[@]}" -c "UPDATE walcast.queue SET rotation_bytes = $rotation"
    local size_sql="SELECT sum(pg_total_relation_size(('walcast.event_' || t)::regclass)) FROM generate_series(0, 2) t"
    local i=0 sizes=""
    while [ $i -lt "$total" ]; do
        "${p[@]}" -c "INSERT INTO bench_store SELECT g, 'name ' || g, g % 100, now() FROM generate_series($((i + 1)), $((i + 1000))) g"
        i=$((i + 1000))
        if [ $((i % 100000)) = 0 ]; then
            local sz
            sz=$("$psql" "$db_url" -XAtq -c "$size_sql")
            sizes+="$sz "
            printf "   after %7d changes: event tables %6.1f MiB\n" "$i" "$(echo "$sz / 1048576" | bc -l)" | tee -a "$out"
        fi
    done
    # Until walcast has read every change (5 min at most), then two maintenance rounds.
    local got=0
    for _ in $(seq 1 3000); do
        got=$(curl -s "$(http_of "$ws_url")/metrics" | awk '/^walcast_changes_received_total /{print $2}')
        [ "${got%.*}" -ge "$total" ] 2>/dev/null && break
        sleep 0.1
    done
    sleep 3
    local end delivered
    end=$("$psql" "$db_url" -XAtq -c "$size_sql")
    delivered=$(curl -s "$(http_of "$ws_url")/metrics" | awk '/^walcast_changes_received_total /{print $2}')
    printf "   at the end: %.1f MiB in the event tables; walcast received %s changes\n" "$(echo "$end / 1048576" | bc -l)" "$delivered" | tee -a "$out"
    echo "RESULT {\"scenario\":\"storage\",\"changes\":$total,\"rotation_bytes\":$rotation,\"sizes\":\"$sizes\",\"end\":$end}" >>"$out"
    stop_server
}

for s in $scenarios; do
    case $s in
    writer) writer ;;
    idle) idle ;;
    capture) capture ;;
    latency) latency ;;
    storage) storage ;;
    *) echo "unknown scenario $s (writer, idle, capture, latency, storage)" >&2; exit 1 ;;
    esac
done
