#!/usr/bin/env bash
# Regenerates the captured pgoutput messages in this directory (used by
# tests/unit/pg/pgoutput_decoder_test.cpp). Each <scenario>.hex holds the messages one SQL
# workload produced, one per line: "<lsn>\t<hex of the message bytes>", exactly as the
# walsender would send them in XLogData (pg_logical_slot_get_binary_changes returns the same
# pgoutput output, proto_version 1, publication walcast_test, messages on).
#
# Usage: tests/data/pgoutput/capture.sh   (needs the PostgreSQL server binaries; run as root
# or as a user that may run initdb). A throwaway cluster lives in /tmp for the duration.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
tmp=$(mktemp -d /tmp/walcast-pgoutput-capture-XXXXXX)
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

as_pg "$bindir/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >/dev/null
as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories=$tmp -c wal_level=logical -c fsync=off" \
    start >/dev/null

psql_() {
    "$bindir/psql" -h "$tmp" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 \
        -c "SET TimeZone = 'UTC'" -c "SET DateStyle = ISO" "$@"
}

# capture <name> <sql>: creates a slot, runs the SQL, writes every message since into <name>.hex
capture() {
    local name=$1 sql=$2
    psql_ -c "SELECT pg_create_logical_replication_slot('s_$name', 'pgoutput')" >/dev/null
    psql_ -c "$sql" >/dev/null
    psql_ -At -F $'\t' -c "SELECT lsn, encode(data, 'hex') FROM pg_logical_slot_get_binary_changes(
            's_$name', NULL, NULL, 'proto_version', '1', 'publication_names', 'walcast_test',
            'messages', 'true')" >"$here/$name.hex"
    echo "$name.hex: $(wc -l <"$here/$name.hex") messages"
}

psql_ -c "
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), tags text[]);
CREATE TABLE notes (id bigint PRIMARY KEY, body text, feeling mood);
CREATE TABLE full_rows (id int PRIMARY KEY, a text, big text);
ALTER TABLE full_rows REPLICA IDENTITY FULL;
ALTER TABLE full_rows ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE toasty (id int PRIMARY KEY, a text, big text);
ALTER TABLE toasty ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE PUBLICATION walcast_test FOR ALL TABLES;
SELECT pg_replication_origin_create('upstream');" >/dev/null

# One transaction each: insert (with NULL and an array), update without and with a key change,
# delete, truncate of two tables with CASCADE and RESTART IDENTITY.
capture basic "
BEGIN;
INSERT INTO items VALUES (1, 'apple', 1.50, '{red,\"big one\"}'), (2, NULL, NULL, NULL);
COMMIT;
UPDATE items SET name = 'pear' WHERE id = 1;
UPDATE items SET id = 3 WHERE id = 2;
DELETE FROM items WHERE id = 3;
TRUNCATE items, notes RESTART IDENTITY CASCADE;"

# A user-defined type (Type message before the Relation), REPLICA IDENTITY FULL old tuples
# ('O') and an unchanged TOAST value ('u') with and without FULL.
capture types_toast "
INSERT INTO notes VALUES (10, 'hello', 'happy');
INSERT INTO full_rows VALUES (1, 'x', repeat('f', 3000));
UPDATE full_rows SET a = 'y' WHERE id = 1;
DELETE FROM full_rows WHERE id = 1;
INSERT INTO toasty VALUES (1, 'x', repeat('t', 3000));
UPDATE toasty SET a = 'y' WHERE id = 1;"

# A logical message inside a transaction and a transaction with a replication origin.
capture message_origin "
BEGIN;
SELECT pg_logical_emit_message(true, 'walcast', 'payload bytes');
INSERT INTO items VALUES (5, 'msg', 0, '{}');
COMMIT;
SELECT pg_replication_origin_session_setup('upstream');
BEGIN;
SELECT pg_replication_origin_xact_setup('0/ABCDEF', now());
INSERT INTO items VALUES (6, 'from upstream', 0, NULL);
COMMIT;"
