# Shared by bench/fanout.sh and bench/rls.sh (sourced, not run): the binaries under test, a
# scratch directory, and a release `walcast serve` with its embedded Postgres.
#
# bench_init <name> [BUILD_DIR]: sets root, bindir, walcast, loadgen, psql, threads, fsync, tmp
# (a fresh /tmp/walcast-bench-<name>-* removed on exit), out (OUT or $tmp/results) and secret
# (a random JWT_SECRET); exits 1 when the release binaries are not built.
bench_init() {
    local name=$1
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    bindir=$(cd "${2:-$root/build/release}" && pwd)
    walcast=$bindir/walcast
    loadgen=$bindir/bench/loadgen
    threads=${LOAD_THREADS:-1}
    fsync=${PG_FSYNC:-off}
    psql=${PSQL:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql}
    for b in "$walcast" "$loadgen"; do
        [ -x "$b" ] || { echo "no $b: build the release preset first (make release)" >&2; exit 1; }
    done
    tmp=$(mktemp -d "/tmp/walcast-bench-$name-XXXXXX")
    chmod 755 "$tmp" # Postgres runs as the postgres user when we are root
    out=${OUT:-$tmp/results}
    secret=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')
    server_pid=
    trap 'stop_server; rm -rf "$tmp"' EXIT
}

stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=
}

# start_server <dir> [ENV=value …]: walcast serve on a free port with its cluster in
# <dir>/pgdata (created by the first start in <dir>, reused by later ones); Postgres's fsync set
# to $fsync. Sets server_pid, ws_url, db_url, pg_data.
start_server() {
    local dir=$1
    shift
    mkdir -p "$dir"
    chmod 755 "$dir"
    : >"$dir/stdout"
    # 10,000 clients need as many descriptors in walcast as in the load tool.
    (ulimit -n 20000 && exec env JWT_SECRET="$secret" PORT=0 LOG_LEVEL=warn "$@" \
        "$walcast" serve --data-dir "$dir/pgdata" >"$dir/stdout" 2>>"$dir/stderr") &
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

# The machine, the binary under test and the load before a run, one line each.
machine_info() {
    echo "machine: $(nproc) cores, $(sed -n 's/model name\s*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; $(uname -sr)"
    echo "walcast: $walcast built $(stat -c %y "$walcast" | cut -d. -f1); tree at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo ' with uncommitted changes in src/')"
    echo "load before: $(uptime | sed 's/.*load average/load average/')"
}
