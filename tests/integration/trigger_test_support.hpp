// Shared by the trigger_* integration tests: a database per test with trigger capture
// installed, and a ChangeSink recording what a TriggerSource (or, for differential tests, a
// LogicalSource) hands on, checking the begin/change/commit bracketing and that positions
// increase.
#pragma once

#include "capture/trigger/trigger_source.hpp"
#include "capture/trigger/trigger_sql.hpp"
#include "capture_test_sink.hpp"
#include "pg/db_setup.hpp"

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace walcast::testing {

/// Creates database `name` on the test cluster and returns its connection parameters.
inline pg::ConnectParams create_database(const std::string& name) {
    auto admin = connect_test_db();
    sql(admin, "CREATE DATABASE " + name);
    return test_cluster().connect_params(name);
}

/// Runs `walcast db init --capture trigger`'s statements on conn: the publication FOR ALL
/// TABLES when the connected role is a superuser (as `--all-tables`), else empty (the tests
/// add tables).
inline void install_trigger_capture(const pg::Connection& conn,
                                    const std::string& publication = "supabase_realtime") {
    const bool superuser =
        sql_value(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == "t";
    auto statements = pg::db_init_statements(publication, superuser);
    for (auto& s : capture::trigger::install_statements(publication))
        statements.push_back(std::move(s));
    auto st = pg::run_statements(conn, statements);
    ASSERT_TRUE(st) << st.error().message;
}

inline pg::Connection connect_to(const pg::ConnectParams& params) {
    auto c = pg::Connection::connect(params);
    if (!c) {
        ADD_FAILURE() << c.error().message;
        return {};
    }
    return std::move(c).value();
}

inline capture::trigger::TriggerSourceOptions
trigger_options(const std::string& consumer = "",
                const std::string& publication = "supabase_realtime") {
    capture::trigger::TriggerSourceOptions o;
    o.publication = publication;
    o.consumer = consumer;
    o.config_errors_fatal = true;
    return o;
}

/// Records the stream of any source; confirm is called with each commit's end when set.
class RecordingSink : public capture::ChangeSink {
public:
    explicit RecordingSink(bool keep = true) : keep_(keep) {}

    std::function<void(std::uint64_t)> confirm; ///< set before start()

    void on_begin(const capture::TransactionInfo& txn) override {
        std::lock_guard lock(m_);
        if (in_txn_) violations_.push_back("begin inside a transaction");
        in_txn_ = true;
        current_ = txn;
    }
    void on_change(const capture::ChangePtr& change) override {
        std::lock_guard lock(m_);
        if (!in_txn_) violations_.push_back("change outside a transaction");
        if (change->txn.commit_position != current_.commit_position)
            violations_.push_back("change with another transaction's position");
        if (change->sequence <= last_sequence_) violations_.push_back("sequence not increasing");
        last_sequence_ = change->sequence;
        ++change_count_;
        if (keep_) {
            changes_.push_back(change);
            lines_.push_back(describe(*change));
        }
    }
    void on_commit(const capture::TransactionInfo& txn, capture::Position end) override {
        {
            std::lock_guard lock(m_);
            if (!in_txn_) violations_.push_back("commit outside a transaction");
            if (!ends_.empty() && end.value <= ends_.back())
                violations_.push_back("commit position not increasing");
            if (txn.commit_position != current_.commit_position)
                violations_.push_back("commit of another transaction");
            in_txn_ = false;
            ends_.push_back(end.value);
            transaction_sizes_.push_back(change_count_ - changes_at_begin_);
            changes_at_begin_ = change_count_;
        }
        if (confirm) confirm(end.value);
    }
    void on_stream_state(bool up, const std::string& reason) override {
        std::lock_guard lock(m_);
        up_ = up;
        states_.push_back((up ? "up: " : "down: ") + reason);
    }
    void on_gap(const capture::Gap& gap) override {
        std::lock_guard lock(m_);
        if (in_txn_) violations_.push_back("gap inside a transaction");
        gaps_.push_back(gap);
    }
    std::vector<capture::Gap> gaps() const {
        std::lock_guard lock(m_);
        return gaps_;
    }

    bool up() const {
        std::lock_guard lock(m_);
        return up_;
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(m_);
        return lines_;
    }
    std::size_t line_count() const {
        std::lock_guard lock(m_);
        return lines_.size();
    }
    std::size_t change_count() const {
        std::lock_guard lock(m_);
        return change_count_;
    }
    std::vector<capture::ChangePtr> changes() const {
        std::lock_guard lock(m_);
        return changes_;
    }
    std::vector<std::uint64_t> ends() const {
        std::lock_guard lock(m_);
        return ends_;
    }
    std::vector<std::size_t> transaction_sizes() const {
        std::lock_guard lock(m_);
        return transaction_sizes_;
    }
    std::vector<std::string> violations() const {
        std::lock_guard lock(m_);
        return violations_;
    }
    std::vector<std::string> states() const {
        std::lock_guard lock(m_);
        return states_;
    }

private:
    mutable std::mutex m_;
    bool keep_;
    bool in_txn_ = false;
    bool up_ = false;
    capture::TransactionInfo current_;
    std::uint64_t last_sequence_ = 0;
    std::size_t change_count_ = 0;
    std::size_t changes_at_begin_ = 0;
    std::vector<capture::ChangePtr> changes_;
    std::vector<std::string> lines_;
    std::vector<std::uint64_t> ends_;
    std::vector<std::size_t> transaction_sizes_;
    std::vector<std::string> states_;
    std::vector<std::string> violations_;
    std::vector<capture::Gap> gaps_;
};

inline ::testing::AssertionResult
wait_for_lines(const RecordingSink& sink, std::size_t n,
               std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    if (wait_until([&] { return sink.line_count() >= n; }, deadline))
        return ::testing::AssertionSuccess();
    auto r = ::testing::AssertionFailure()
             << "expected " << n << " changes, got " << sink.line_count() << ":";
    for (const auto& l : sink.lines())
        r << "\n  " << l;
    return r;
}

/// A TriggerSource with its sink, confirming every commit at once.
struct TriggerCapture {
    RecordingSink sink;
    capture::trigger::TriggerSource source;

    TriggerCapture(const pg::ConnectParams& params, capture::trigger::TriggerSourceOptions o,
                   bool keep = true)
        : sink(keep), source(params, std::move(o), sink) {
        sink.confirm = [this](std::uint64_t end) { source.confirm(capture::Position{end}); };
    }
    /// Starts and waits until reading; false (with the reason in the failure) otherwise.
    ::testing::AssertionResult start() {
        source.start();
        if (wait_until([&] { return sink.up() || source.finished(); }) && sink.up())
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << (source.fatal_error() ? source.fatal_error()->message : source.down_reason());
    }
};

/// A LogicalSource on the same database, for differential tests.
struct LogicalCapture {
    RecordingSink sink;
    capture::LogicalSource source;

    LogicalCapture(const pg::ConnectParams& params, const std::string& publication)
        : source(params, logical_options(publication), sink) {
        sink.confirm = [this](std::uint64_t end) { source.confirm(capture::Position{end}); };
    }
    static capture::LogicalSourceOptions logical_options(const std::string& publication) {
        capture::LogicalSourceOptions o;
        o.publication = publication;
        o.config_errors_fatal = true;
        return o;
    }
    ::testing::AssertionResult start() {
        source.start();
        if (wait_until([&] { return sink.up() || source.finished(); }) && sink.up())
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << (source.fatal_error() ? source.fatal_error()->message : source.down_reason());
    }
};

} // namespace walcast::testing
