// Shared by the capture_* and trigger_* integration tests: a ChangeSink that records what a
// capture source hands on (checking the begin/change/commit bracketing as it goes) and renders
// changes the way the wire does, so tests can assert on exact content and order.
#pragma once

#include "capture/change_json.hpp"
#include "capture/change_sink.hpp"
#include "capture/logical/logical_source.hpp"
#include "support/test_postgres.hpp"

#include <mutex>
#include <string>
#include <vector>

namespace walcast::testing {

/// One change as text: "INSERT public.items {record} {old_record}" (absent parts omitted).
inline std::string describe(const capture::Change& c) {
    std::string s = capture::to_string(c.kind);
    if (c.kind == capture::ChangeKind::Truncate) {
        for (const auto& r : c.truncated)
            s += " " + r->schema + "." + r->table;
        return s;
    }
    s += " " + c.relation->schema + "." + c.relation->table;
    if (c.kind != capture::ChangeKind::Delete) {
        s += " ";
        capture::append_new_record_json(s, c, nullptr, 0);
    }
    if (c.kind != capture::ChangeKind::Insert) {
        s += " old=";
        capture::append_old_record_json(s, c, nullptr, 0);
    }
    return s;
}

/// Records the stream. Thread-safe reads; callbacks come from the source's thread.
class CollectingSink : public capture::ChangeSink {
public:
    /// auto_confirm: confirm each commit to the source right away (like a consumer that hands
    /// changes on synchronously). keep: store changes (false for the 100,000-row test).
    explicit CollectingSink(bool auto_confirm = true, bool keep = true)
        : auto_confirm_(auto_confirm), keep_(keep) {}

    void attach(capture::Source* source) { source_ = source; }

    void on_begin(const capture::TransactionInfo& txn) override {
        std::lock_guard lock(m_);
        if (in_txn_) violations_.push_back("begin inside a transaction");
        in_txn_ = true;
        current_ = txn;
        ++begins_;
    }
    void on_change(const capture::ChangePtr& change) override {
        std::lock_guard lock(m_);
        if (!in_txn_) violations_.push_back("change outside a transaction");
        if (change->txn.commit_position != current_.commit_position)
            violations_.push_back("change with another transaction's commit LSN");
        if (change->sequence <= last_sequence_) violations_.push_back("sequence not increasing");
        last_sequence_ = change->sequence;
        if (change.use_count() != 1) shared_by_source_ = true;
        ++change_count_;
        if (keep_) {
            changes_.push_back(change);
            lines_.push_back(describe(*change));
        }
    }
    void on_commit(const capture::TransactionInfo& txn, capture::Position end) override {
        const pg::Lsn end_lsn = capture::to_lsn(end);
        {
            std::lock_guard lock(m_);
            if (!in_txn_) violations_.push_back("commit outside a transaction");
            if (!commits_.empty() && end_lsn <= commits_.back())
                violations_.push_back("commit end LSN not increasing");
            if (capture::to_lsn(txn.commit_position) >= end_lsn)
                violations_.push_back("commit LSN >= end LSN");
            in_txn_ = false;
            commits_.push_back(end_lsn);
        }
        if (auto_confirm_ && source_) source_->confirm(end);
    }
    void on_relation(const capture::RelationPtr& relation) override {
        std::lock_guard lock(m_);
        relations_.push_back(relation);
    }
    void on_stream_state(bool up, const std::string& reason) override {
        std::lock_guard lock(m_);
        up_ = up;
        states_.push_back((up ? "up: " : "down: ") + reason);
    }
    void on_gap(const capture::Gap& gap) override {
        std::lock_guard lock(m_);
        gaps_.push_back(gap);
        if (in_txn_) violations_.push_back("gap inside a transaction");
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
    std::vector<capture::ChangePtr> changes() const {
        std::lock_guard lock(m_);
        return changes_;
    }
    std::vector<pg::Lsn> commits() const {
        std::lock_guard lock(m_);
        return commits_;
    }
    std::size_t change_count() const {
        std::lock_guard lock(m_);
        return change_count_;
    }
    std::size_t begins() const {
        std::lock_guard lock(m_);
        return begins_;
    }
    std::vector<capture::RelationPtr> relations() const {
        std::lock_guard lock(m_);
        return relations_;
    }
    std::vector<std::string> states() const {
        std::lock_guard lock(m_);
        return states_;
    }
    std::vector<std::string> violations() const {
        std::lock_guard lock(m_);
        return violations_;
    }
    bool shared_by_source() const {
        std::lock_guard lock(m_);
        return shared_by_source_;
    }
    void clear() {
        std::lock_guard lock(m_);
        lines_.clear();
        changes_.clear();
    }

private:
    mutable std::mutex m_;
    bool auto_confirm_;
    bool keep_;
    capture::Source* source_ = nullptr;
    bool in_txn_ = false;
    bool up_ = false;
    bool shared_by_source_ = false;
    capture::TransactionInfo current_;
    std::uint64_t last_sequence_ = 0;
    std::size_t change_count_ = 0;
    std::size_t begins_ = 0;
    std::vector<capture::ChangePtr> changes_;
    std::vector<std::string> lines_;
    std::vector<pg::Lsn> commits_;
    std::vector<capture::RelationPtr> relations_;
    std::vector<std::string> states_;
    std::vector<std::string> violations_;
    std::vector<capture::Gap> gaps_;
};

/// Waits until sink holds at least n lines; on timeout the assertion shows what arrived.
inline ::testing::AssertionResult
wait_for_lines(const CollectingSink& sink, std::size_t n,
               std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    if (wait_until([&] { return sink.line_count() >= n; }, deadline))
        return ::testing::AssertionSuccess();
    auto r = ::testing::AssertionFailure()
             << "expected " << n << " changes, got " << sink.line_count() << ":";
    for (const auto& l : sink.lines())
        r << "\n  " << l;
    return r;
}

} // namespace walcast::testing
