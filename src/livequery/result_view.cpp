#include "livequery/result_view.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace walcast::livequery {

namespace {

Error bad_payload(std::string what) {
    return make_error(Errc::InvalidInput, "live query payload: " + std::move(what));
}

bool is_numeric_type(std::string_view t) {
    return t == "int2" || t == "int4" || t == "int8" || t == "numeric" || t == "float4" ||
           t == "float8" || t == "oid" || t == "money";
}

/// A value as psql prints it.
std::string cell(const boost::json::value* v) {
    if (!v || v->is_null()) return {};
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_bool()) return v->get_bool() ? "t" : "f";
    return boost::json::serialize(*v);
}

std::size_t width(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80; // count code points, not continuation bytes
    return n;
}

Result<const boost::json::array*> array_of(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    if (!v || !v->is_array()) return bad_payload("\"" + std::string(name) + "\" is not an array");
    return &v->get_array();
}

} // namespace

std::string ResultView::row_key(const std::vector<std::string>& key,
                                const boost::json::object& row) {
    std::string k;
    for (const auto& c : key) {
        const auto* v = row.if_contains(c);
        k += v ? boost::json::serialize(*v) : "null";
        k += '\x1f';
    }
    return k;
}

Status ResultView::apply(std::string_view event, const boost::json::object& payload) {
    // Nothing changes unless the whole payload applies.
    auto keys = array_of(payload, "key");
    if (!keys) return keys.error();
    std::vector<std::string> key;
    for (const auto& k : **keys)
        if (k.is_string()) key.emplace_back(k.get_string());
    auto commit = [&] {
        if (const auto* p = payload.if_contains("position"); p && p->is_string())
            position_ = std::string(p->get_string());
        if (const auto* a = payload.if_contains("at"); a && a->is_int64()) at_ms_ = a->get_int64();
    };

    if (event == "result") {
        auto columns = array_of(payload, "columns");
        auto rows = array_of(payload, "rows");
        if (!columns) return columns.error();
        if (!rows) return rows.error();
        std::vector<std::string> names;
        std::vector<bool> numeric;
        for (const auto& c : **columns) {
            const auto* o = c.if_object();
            const auto* name = o ? o->if_contains("name") : nullptr;
            const auto* type = o ? o->if_contains("type") : nullptr;
            if (!name || !name->is_string()) return bad_payload("a column without a name");
            names.emplace_back(name->get_string());
            numeric.push_back(type && type->is_string() && is_numeric_type(type->get_string()));
        }
        std::vector<boost::json::object> next;
        for (const auto& r : **rows) {
            if (!r.is_object()) return bad_payload("a row is not an object");
            next.push_back(r.get_object());
        }
        columns_ = std::move(names);
        numeric_ = std::move(numeric);
        rows_ = std::move(next);
        have_result_ = true;
        commit();
        return {};
    }
    if (event != "diff") return bad_payload("unknown event \"" + std::string(event) + "\"");
    if (!have_result_) return bad_payload("a diff before the first result");
    if (key.empty()) return bad_payload("a diff without key columns");
    const auto key_of = [&key](const boost::json::object& row) { return row_key(key, row); };
    auto inserted = array_of(payload, "inserted");
    auto updated = array_of(payload, "updated");
    auto deleted = array_of(payload, "deleted");
    if (!inserted) return inserted.error();
    if (!updated) return updated.error();
    if (!deleted) return deleted.error();

    std::unordered_set<std::string> gone;
    for (const auto& d : **deleted) {
        if (!d.is_object()) return bad_payload("a deleted key is not an object");
        gone.insert(key_of(d.get_object()));
    }
    std::unordered_map<std::string, const boost::json::object*> replaced;
    for (const auto& u : **updated) {
        if (!u.is_object()) return bad_payload("an updated row is not an object");
        replaced.emplace(key_of(u.get_object()), &u.get_object());
    }
    std::vector<boost::json::object> next;
    next.reserve(rows_.size() + (*inserted)->size());
    std::size_t found_gone = 0, found_replaced = 0;
    for (const auto& row : rows_) {
        const auto k = key_of(row);
        if (gone.contains(k)) {
            ++found_gone;
            continue;
        }
        if (auto it = replaced.find(k); it != replaced.end()) {
            ++found_replaced;
            next.push_back(*it->second);
        } else {
            next.push_back(row);
        }
    }
    if (found_gone != gone.size() || found_replaced != replaced.size())
        return bad_payload("the diff names a key the current result does not hold");
    for (const auto& i : **inserted) {
        if (!i.is_object()) return bad_payload("an inserted row is not an object");
        next.push_back(i.get_object());
    }
    if (const auto* order = payload.if_contains("order"); order && order->is_array()) {
        std::unordered_map<std::string, std::size_t> at;
        for (std::size_t n = 0; n < next.size(); ++n)
            at.emplace(key_of(next[n]), n);
        std::vector<boost::json::object> ordered;
        ordered.reserve(next.size());
        for (const auto& k : order->get_array()) {
            if (!k.is_object()) return bad_payload("an order entry is not an object");
            auto it = at.find(key_of(k.get_object()));
            if (it == at.end()) return bad_payload("the diff's order names a key the result lacks");
            ordered.push_back(std::move(next[it->second]));
        }
        if (ordered.size() != next.size())
            return bad_payload("the diff's order does not list every row");
        next = std::move(ordered);
    }
    rows_ = std::move(next);
    commit();
    return {};
}

std::string ResultView::render_table() const {
    const std::size_t n = columns_.size();
    std::vector<std::vector<std::string>> cells;
    cells.reserve(rows_.size());
    std::vector<std::size_t> widths(n);
    for (std::size_t c = 0; c < n; ++c)
        widths[c] = width(columns_[c]);
    for (const auto& row : rows_) {
        auto& line = cells.emplace_back(n);
        for (std::size_t c = 0; c < n; ++c) {
            line[c] = cell(row.if_contains(columns_[c]));
            widths[c] = std::max(widths[c], width(line[c]));
        }
    }
    std::string out;
    auto emit = [&](const std::vector<std::string>& values, bool header) {
        std::string line;
        for (std::size_t c = 0; c < n; ++c) {
            if (c) line += '|';
            const std::size_t pad = widths[c] - width(values[c]);
            // psql centres the header; values are left-aligned, numbers right-aligned.
            const std::size_t left = header ? pad / 2 : numeric_[c] ? pad : 0;
            line += ' ';
            line.append(left, ' ');
            line += values[c];
            line.append(pad - left, ' ');
            line += ' ';
        }
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        out += line;
        out += '\n';
    };
    emit(columns_, true);
    for (std::size_t c = 0; c < n; ++c) {
        if (c) out += '+';
        out.append(widths[c] + 2, '-');
    }
    out += '\n';
    for (const auto& line : cells)
        emit(line, false);
    out += rows_.size() == 1 ? "(1 row)\n" : "(" + std::to_string(rows_.size()) + " rows)\n";
    return out;
}

} // namespace walcast::livequery
