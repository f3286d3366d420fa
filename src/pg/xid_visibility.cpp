#include "pg/xid_visibility.hpp"

#include <algorithm>

namespace walcast::pg {

void XidList::sort_unique() {
    for (auto* v : {&short_xids, &full_xids}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
}

namespace {

std::string bigint_array(const std::vector<std::uint64_t>& xs) {
    std::string list = "{";
    for (std::size_t i = 0; i < xs.size(); ++i) {
        if (i) list += ',';
        list += std::to_string(xs[i]);
    }
    list += '}';
    return list;
}

} // namespace

std::string visibility_statement(const XidList& xids) {
    std::string sql = "SELECT coalesce(bool_and(pg_visible_in_snapshot(((("
                      "(pg_snapshot_xmax(s)::text::bigint >> 32) - (x > "
                      "(pg_snapshot_xmax(s)::text::bigint & 4294967295))::int) << 32) | "
                      "x)::text::xid8, s)), true) FROM pg_current_snapshot() s, unnest('" +
                      bigint_array(xids.short_xids) + "'::bigint[]) x";
    if (xids.full_xids.empty()) return sql + ";";
    return "SELECT (" + sql +
           ") AND (SELECT coalesce(bool_and(pg_visible_in_snapshot(x::text::xid8, "
           "s)), true) FROM pg_current_snapshot() s, unnest('" +
           bigint_array(xids.full_xids) + "'::bigint[]) x);";
}

} // namespace walcast::pg
