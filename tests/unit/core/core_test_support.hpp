// Shared by the router and authorizer tests: a relation, changes numbered by sequence, a
// payload format that renders "<sequence>" (or "error:<sequence>"), a channel sink recording
// what it receives, identities, and a scripted RowChecker.
#pragma once

#include "core/authorization/row_checker.hpp"
#include "core/subscription/channel_sink.hpp"
#include "core/subscription/payload.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace walcast::core::testing {

/// public.items (id int4 primary key, v text).
inline capture::RelationPtr items_relation(pg::Oid oid = 16400) {
    auto rel = std::make_shared<capture::Relation>();
    rel->oid = oid;
    rel->schema = "public";
    rel->table = "items";
    capture::Column id;
    id.name = "id";
    id.type.name = "int4";
    id.type.kind = pg::TypeKind::Int;
    id.is_primary_key = id.is_identity_key = true;
    capture::Column v;
    v.name = "v";
    v.type.name = "text";
    v.type.kind = pg::TypeKind::Text;
    rel->columns = {id, v};
    return rel;
}

/// Change number seq of a transaction at position seq * 100: an INSERT (id = seq) by default.
inline capture::ChangePtr item_change(const capture::RelationPtr& rel, std::uint64_t seq,
                                      capture::ChangeKind kind = capture::ChangeKind::Insert) {
    auto c = std::make_shared<capture::Change>();
    c->kind = kind;
    c->relation = rel;
    pg::Tuple t;
    t.push_value(std::to_string(seq));
    t.push_value("v" + std::to_string(seq));
    if (kind == capture::ChangeKind::Delete)
        c->old_tuple = std::move(t);
    else
        c->new_tuple = std::move(t);
    c->sequence = seq;
    c->txn.commit_position = capture::Position{seq * 100};
    c->txn.xid = static_cast<std::uint32_t>(1000 + seq);
    return c;
}

/// Renders the change's sequence; error rows as "error:<sequence>".
struct SequenceFormat final : PayloadFormat {
    std::string render(const capture::Change& c, const PayloadVariant& v, bool) const override {
        return (v.error != ErrorRow::None ? "error:" : "") + std::to_string(c.sequence);
    }
};
inline const PayloadFormat& sequence_format() {
    static const SequenceFormat f;
    return f;
}

/// Records what a channel receives ("<data> ids=<id,…>"), and lets a test wait for it.
struct RecordingChannel final : ChannelSink {
    void deliver(const std::shared_ptr<const std::string>& data, std::span<const std::int64_t> ids,
                 DeliveryRound&) override {
        std::string s = *data;
        if (with_ids) {
            s += " ids=";
            for (std::size_t i = 0; i < ids.size(); ++i)
                s += (i ? "," : "") + std::to_string(ids[i]);
        }
        std::lock_guard lock(mu);
        got.push_back(std::move(s));
        cv.notify_all();
    }
    std::vector<std::string> received() {
        std::lock_guard lock(mu);
        return got;
    }
    /// Waits until n messages arrived (deadline 10 s).
    bool wait_for(std::size_t n, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, deadline, [&] { return got.size() >= n; });
    }
    bool with_ids = false;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> got;
};

inline IdentityPtr identity(const std::string& name, const std::string& role = "authenticated") {
    return std::make_shared<const Identity>(
        Identity{role, "{\"sub\":\"" + name + "\"}", role + "|" + name});
}

/// A gate a checker waits on until the test opens it.
struct Gate {
    void open() {
        std::lock_guard lock(mu);
        opened = true;
        cv.notify_all();
    }
    void wait() {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return opened; });
    }
    std::mutex mu;
    std::condition_variable cv;
    bool opened = false;
};

/// What a ScriptedChecker decides, shared by every worker's checker.
struct CheckScript {
    std::mutex mu;
    std::condition_variable cv;
    /// Rows (identity name → sequences) hidden; every other row is visible.
    std::map<std::string, std::set<std::uint64_t>> hidden;
    /// A round containing any of these rows fails (a policy raising on them).
    std::set<std::pair<std::string, std::uint64_t>> raising;
    RowChecker::Status failure_status = RowChecker::Status::Failed; ///< how raising rounds end
    /// Rounds for this identity wait for the gate first.
    std::map<std::string, Gate*> gates;
    /// Every round: per request "<identity>:<seq>,<seq>…".
    std::vector<std::vector<std::string>> rounds;

    static std::string name_of(const RowCheckRequest& r) {
        const auto& claims = r.identity->claims_json; // {"sub":"<name>"}
        return claims.substr(8, claims.size() - 10);
    }
    std::vector<std::vector<std::string>> all_rounds() {
        std::lock_guard lock(mu);
        return rounds;
    }
};

class ScriptedChecker final : public RowChecker {
public:
    explicit ScriptedChecker(CheckScript& s) : s_(s) {}
    Round check(std::span<RowCheckRequest*> requests) override {
        std::vector<Gate*> gates;
        {
            std::lock_guard lock(s_.mu);
            for (auto* r : requests)
                if (auto it = s_.gates.find(CheckScript::name_of(*r)); it != s_.gates.end())
                    gates.push_back(it->second);
        }
        for (auto* g : gates)
            g->wait();
        std::lock_guard lock(s_.mu);
        std::vector<std::string> record;
        bool raise = false;
        for (auto* r : requests) {
            const std::string name = CheckScript::name_of(*r);
            std::string desc = name + ":";
            r->verdicts.assign(r->rows.size(), RowVerdict::Failed);
            for (std::size_t i = 0; i < r->rows.size(); ++i) {
                const std::uint64_t seq = std::stoull(std::string(r->rows[i].values->text(0)));
                desc += (i ? "," : "") + std::to_string(seq);
                if (s_.raising.count({name, seq})) raise = true;
                r->verdicts[i] =
                    s_.hidden[name].count(seq) ? RowVerdict::Hidden : RowVerdict::Visible;
            }
            record.push_back(desc);
        }
        s_.rounds.push_back(record);
        s_.cv.notify_all();
        if (raise) return {s_.failure_status, "policy raised"};
        return {};
    }

private:
    CheckScript& s_;
};

inline RowCheckerFactory scripted(CheckScript& s) {
    return [&s](unsigned) { return std::make_unique<ScriptedChecker>(s); };
}

} // namespace walcast::core::testing
