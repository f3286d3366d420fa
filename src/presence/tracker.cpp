#include "presence/tracker.hpp"

#include "common/json_writer.hpp"

#include <algorithm>
#include <chrono>

namespace walcast::presence {

namespace {

void append_meta(std::string& out, const Meta& m) {
    out += "{\"phx_ref\":";
    json::append_string(out, m.phx_ref);
    if (m.phx_ref_prev) {
        out += ",\"phx_ref_prev\":";
        json::append_string(out, *m.phx_ref_prev);
    }
    // payload_json is an object's text: splice its members after the refs.
    std::string_view body(m.payload_json);
    if (body.size() >= 2) body = body.substr(1, body.size() - 2);
    if (body.find_first_not_of(" \t\r\n") != std::string_view::npos) {
        out += ',';
        out += body;
    }
    out += '}';
}

} // namespace

std::string metas_json(const std::map<std::string, std::vector<Meta>>& by_key) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, metas] : by_key) {
        if (!first) out += ',';
        first = false;
        json::append_string(out, key);
        out += ":{\"metas\":[";
        for (std::size_t i = 0; i < metas.size(); ++i) {
            if (i) out += ',';
            append_meta(out, metas[i]);
        }
        out += "]}";
    }
    out += '}';
    return out;
}

std::string diff_json(const Diff& d) {
    return "{\"joins\":" + metas_json(d.joins) + ",\"leaves\":" + metas_json(d.leaves) + "}";
}

std::string Tracker::next_ref() {
    // 12 bytes — 8 of wall-clock nanoseconds, 4 of a sequence — as 16 URL-safe base64
    // characters, the shape of Phoenix's refs (spec §7.2.4); unique within this process.
    const auto ns =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    const auto seq = static_cast<std::uint32_t>(++ref_seq_);
    unsigned char b[12];
    for (int i = 0; i < 8; ++i)
        b[i] = static_cast<unsigned char>(ns >> (56 - 8 * i));
    for (int i = 0; i < 4; ++i)
        b[8 + i] = static_cast<unsigned char>(seq >> (24 - 8 * i));
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve(16);
    for (int i = 0; i < 12; i += 3) {
        const unsigned v = (unsigned{b[i]} << 16) | (unsigned{b[i + 1]} << 8) | b[i + 2];
        for (int s = 18; s >= 0; s -= 6)
            out += alphabet[(v >> s) & 63];
    }
    return out;
}

void Tracker::add_join(Diff& d, const std::string& key, const Meta& m) {
    d.joins[key].push_back(m);
}

void Tracker::add_leave(Diff& d, const std::string& key, const Meta& m) {
    // A meta that joined in this window and leaves in it again is never announced.
    if (auto it = d.joins.find(key); it != d.joins.end()) {
        auto& v = it->second;
        auto pos =
            std::find_if(v.begin(), v.end(), [&](const Meta& j) { return j.phx_ref == m.phx_ref; });
        if (pos != v.end()) {
            v.erase(pos);
            if (v.empty()) d.joins.erase(it);
            return;
        }
    }
    d.leaves[key].push_back(m);
}

Tracker::Tracked Tracker::track(const std::string& topic, std::uint64_t member,
                                const std::string& key, std::string payload_json) {
    std::lock_guard lock(mu_);
    auto& t = topics_[topic];
    const bool had_pending = !t.pending.empty();
    Tracked result = Tracked::Joined;
    Meta meta{next_ref(), std::nullopt, std::move(payload_json)};
    if (auto it = t.entries.find(member); it != t.entries.end()) {
        Entry& e = it->second;
        if (e.key == key && e.meta.payload_json == meta.payload_json) return Tracked::Unchanged;
        add_leave(t.pending, e.key, e.meta);
        if (e.key == key) {
            meta.phx_ref_prev = e.meta.phx_ref;
            result = Tracked::Updated;
        }
        e.key = key;
        e.meta = meta;
    } else {
        t.entries.emplace(member, Entry{key, meta});
    }
    add_join(t.pending, key, meta);
    if (!had_pending) changed_.push_back(topic);
    return result;
}

bool Tracker::untrack(const std::string& topic, std::uint64_t member) {
    std::lock_guard lock(mu_);
    auto tit = topics_.find(topic);
    if (tit == topics_.end()) return false;
    auto& t = tit->second;
    auto it = t.entries.find(member);
    if (it == t.entries.end()) return false;
    const bool had_pending = !t.pending.empty();
    add_leave(t.pending, it->second.key, it->second.meta);
    t.entries.erase(it);
    if (!had_pending && !t.pending.empty()) changed_.push_back(topic);
    return true;
}

std::string Tracker::state_json(const std::string& topic) const {
    std::lock_guard lock(mu_);
    auto tit = topics_.find(topic);
    if (tit == topics_.end()) return "{}";
    std::map<std::string, std::vector<Meta>> by_key;
    for (const auto& [member, e] : tit->second.entries)
        by_key[e.key].push_back(e.meta);
    return metas_json(by_key);
}

std::size_t Tracker::keys(const std::string& topic) const {
    std::lock_guard lock(mu_);
    auto tit = topics_.find(topic);
    if (tit == topics_.end()) return 0;
    std::vector<const std::string*> k;
    for (const auto& [member, e] : tit->second.entries)
        k.push_back(&e.key);
    std::sort(k.begin(), k.end(), [](auto* a, auto* b) { return *a < *b; });
    return static_cast<std::size_t>(
        std::unique(k.begin(), k.end(), [](auto* a, auto* b) { return *a == *b; }) - k.begin());
}

std::vector<std::pair<std::string, Diff>> Tracker::take_pending() {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, Diff>> out;
    for (const auto& topic : changed_) {
        auto tit = topics_.find(topic);
        if (tit == topics_.end()) continue;
        Diff d = std::move(tit->second.pending);
        tit->second.pending = Diff{};
        if (!d.empty()) out.emplace_back(topic, std::move(d));
        if (tit->second.entries.empty()) topics_.erase(tit);
    }
    changed_.clear();
    return out;
}

} // namespace walcast::presence
