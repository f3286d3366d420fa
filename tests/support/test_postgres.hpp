// Test fixtures around a throwaway Postgres: one cluster per test binary (a GoogleTest
// environment), SQL helpers, and waiting on conditions with deadlines instead of sleeps.
#pragma once

#include "pg/connection.hpp"
#include "pg/embedded_cluster.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

namespace walcast::testing {

/// The binary's cluster, started on first use (initdb in /tmp, wal_level=logical, free port)
/// and stopped when the process exits.
pg::EmbeddedCluster& test_cluster();

/// A new superuser connection to the test cluster's `postgres` database; fails the test on
/// error.
pg::Connection connect_test_db();

/// Runs SQL (one or more statements) on conn; fails the test with the server message on error.
void sql(const pg::Connection& conn, const std::string& statements);

/// First column of the first row as text ("" for NULL); fails the test on error or no rows.
std::string sql_value(const pg::Connection& conn, const std::string& query);

/// Polls cond every few ms until it holds or the deadline passes; returns whether it held.
bool wait_until(const std::function<bool()>& cond,
                std::chrono::milliseconds deadline = std::chrono::seconds(20));

} // namespace walcast::testing
