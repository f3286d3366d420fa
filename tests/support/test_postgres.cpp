#include "support/test_postgres.hpp"

#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

namespace walcast::testing {

namespace {
std::unique_ptr<pg::EmbeddedCluster> g_cluster;
std::once_flag g_once;
} // namespace

pg::EmbeddedCluster& test_cluster() {
    std::call_once(g_once, [] {
        auto c = pg::EmbeddedCluster::start_temporary();
        if (!c) {
            std::fprintf(stderr, "cannot start the test Postgres: %s\n", c.error().message.c_str());
            std::abort();
        }
        g_cluster = std::move(c).value();
        std::atexit([] { g_cluster.reset(); });
    });
    return *g_cluster;
}

pg::Connection connect_test_db() {
    auto c = pg::Connection::connect(test_cluster().connect_params());
    if (!c) {
        ADD_FAILURE() << c.error().message;
        return {};
    }
    return std::move(c).value();
}

void sql(const pg::Connection& conn, const std::string& statements) {
    auto r = conn.exec_script(statements);
    if (!r) ADD_FAILURE() << "SQL failed: " << r.error().message << "\n  in: " << statements;
}

std::string sql_value(const pg::Connection& conn, const std::string& query) {
    auto r = conn.exec(query);
    if (!r) {
        ADD_FAILURE() << "SQL failed: " << r.error().message << "\n  in: " << query;
        return {};
    }
    if (PQntuples(r->get()) < 1) {
        ADD_FAILURE() << "no rows from: " << query;
        return {};
    }
    auto v = r->text(0, 0);
    return v ? std::string(*v) : std::string();
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return cond();
}

} // namespace walcast::testing
