// Named live queries: the operator's directory of `.sql` files (LIVE_QUERIES_DIR), name = file
// name without `.sql`. Any role may subscribe to one by name with parameters; the SQL runs as
// the subscriber, so grants and RLS decide what each sees. Leading comment lines may set the
// query's options:
//   -- key: id, line_no      key columns of the result's diffs
//   -- throttle_ms: 100      the default throttle window of its subscriptions
//   -- refresh: items order_id=eq.:result/id
//                            a refresh condition (RefreshRule): a change to that table runs the
//                            query again only when the condition holds on its old or new row;
//                            one directive per condition, several are ANDed per table
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::livequery {

/// A refresh condition of one table a live query reads (issue 13, pg-realtime's per-table
/// refresh conditions): a Postgres Changes filter (docs/protocol/supabase-realtime.md §5.2,
/// e.g. `status=eq.pending`, several ANDed with commas), where a whole value may also be `$n`
/// (the subscription's n-th parameter) or, with `eq`, `:result/<column>` (the changed row's
/// value is among that column's values in the current result). Checked by Engine at subscribe.
struct RefreshRule {
    std::string table;  ///< `schema.table`, or `table` for any schema the query reads it from
    std::string filter; ///< the condition, in the filter grammar
    bool operator==(const RefreshRule&) const = default;
};

struct NamedQuery {
    std::string sql; ///< the whole file (directives are comments)
    std::vector<std::string> key;
    std::optional<std::uint32_t> throttle_ms;
    std::vector<RefreshRule> refresh;
};

class NamedQueries {
public:
    /// Reads every `<name>.sql` in dir (not recursive; names of letters, digits, `_` and `-`).
    /// Errors (Errc::Config) name the file: unreadable, a directive with a bad value, a
    /// directory that does not exist.
    static Result<NamedQueries> load(const std::filesystem::path& dir);

    /// Parses one file's text (directives as above). Errors: Errc::Config with the line.
    static Result<NamedQuery> parse(std::string_view text);

    const NamedQuery* find(std::string_view name) const;
    std::size_t size() const { return queries_.size(); }

private:
    std::map<std::string, NamedQuery, std::less<>> queries_;
};

} // namespace walcast::livequery
