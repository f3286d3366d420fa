#!/usr/bin/env bash
# Runs every benchmark (`make bench` calls this after building the release binary). Each
# script prints its own results; bench/README.md records measured figures and how to read them.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "### Slot ingest (bench/ingest.sh)"
bench/ingest.sh

echo "### Fan-out and idle connections (bench/fanout.sh)"
bench/fanout.sh

echo "### Row-level security, batched vs per-subscriber (bench/rls.sh)"
bench/rls.sh

echo "### Broadcast: encoded once and shared vs per member (bench/broadcast_encode.cpp)"
"${WALCAST_BENCH_DIR:-build/release/bench}/broadcast_encode" 1000 2000 7 200

echo "### Live queries at scale (bench/livequery.mjs)"
(ulimit -n 20000 && WALCAST_BIN=build/release/walcast node bench/livequery.mjs)

echo "### Live queries: the schema-change check (bench/livequery_catalog.mjs)"
WALCAST_BIN=build/release/walcast TABLES=1000 node bench/livequery_catalog.mjs

echo "### GraphQL subscriptions at scale vs a 1 s poll (bench/graphql_subscriptions.mjs)"
WALCAST_BIN=build/release/walcast node bench/graphql_subscriptions.mjs

echo "### GraphQL nesting: correlated sub-selects vs LATERAL on 1 M orders (bench/graphql_nesting.mjs)"
WALCAST_BIN=build/release/walcast node bench/graphql_nesting.mjs
