// presence::Tracker: who is present on each topic (spec §7.2.4), independent of any protocol.
// One entry per (member, key); several members may share a key (tabs, devices), each with its
// own meta. Changes accumulate per topic into one pending diff, which the owner takes and fans
// out every short interval, so that N members joining cost N diffs per window, not N².
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace walcast::presence {

/// A member's presence under one key: the tracked payload (a JSON object's text) and its ref.
struct Meta {
    std::string phx_ref;                     ///< unique per track
    std::optional<std::string> phx_ref_prev; ///< the replaced meta's ref after an update
    std::string payload_json;                ///< the tracked JSON object, as text
};

/// joins/leaves by key, each key's metas in the order they happened.
struct Diff {
    std::map<std::string, std::vector<Meta>> joins;
    std::map<std::string, std::vector<Meta>> leaves;
    bool empty() const { return joins.empty() && leaves.empty(); }
};

/// The Phoenix JSON text of presence maps: `{"<key>":{"metas":[{"phx_ref":…,…payload keys}]}}`.
std::string metas_json(const std::map<std::string, std::vector<Meta>>& by_key);
/// `{"joins":{…},"leaves":{…}}`.
std::string diff_json(const Diff& d);

/// Thread-safe (one mutex). Member ids are the caller's (unique per channel while it lives).
class Tracker {
public:
    /// Result of a track.
    enum class Tracked { Joined, Updated, Unchanged };

    /// Tracks member under key with payload_json (a JSON object's text). The same payload as
    /// the member's last track: Unchanged, no diff. A member tracks one key at a time; a track
    /// under another key leaves the old one first.
    Tracked track(const std::string& topic, std::uint64_t member, const std::string& key,
                  std::string payload_json);
    /// Removes member's meta (untrack, leave, disconnect); false if it had none.
    bool untrack(const std::string& topic, std::uint64_t member);

    /// The topic's current state as `metas_json` text (`{}` when empty).
    std::string state_json(const std::string& topic) const;
    /// Keys present on topic.
    std::size_t keys(const std::string& topic) const;

    /// Takes the pending diffs of every topic that changed since the last call (empty diffs,
    /// whose joins and leaves cancelled out, are left out).
    std::vector<std::pair<std::string, Diff>> take_pending();

private:
    struct Entry {
        std::string key;
        Meta meta;
    };
    struct Topic {
        std::unordered_map<std::uint64_t, Entry> entries; ///< by member
        Diff pending;
    };
    static void add_join(Diff& d, const std::string& key, const Meta& m);
    static void add_leave(Diff& d, const std::string& key, const Meta& m);
    std::string next_ref();

    mutable std::mutex mu_;
    std::unordered_map<std::string, Topic> topics_;
    std::vector<std::string> changed_; ///< topics with a pending diff, in first-change order
    std::uint64_t ref_seq_ = 0;
};

} // namespace walcast::presence
