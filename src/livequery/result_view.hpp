// The subscriber's side of a live query: the current result rebuilt from the pushed
// payloads (a `result` replaces it, a `diff` is applied by the rule of docs/livequery.md
// "Applying a diff"), and printed as psql prints a table. `walcast watch` uses it; tests use
// it to check that diffs reproduce the result.
#pragma once

#include "common/result.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::livequery {

class ResultView {
public:
    /// Applies one push: event "result" (payload {columns, key, rows, position, at}) or "diff"
    /// (payload {key, inserted, updated, deleted[, order], position, at}). Errors
    /// (Errc::InvalidInput; the view is then unchanged): a payload of another shape, a diff
    /// before any result, a diff naming a key the result does not hold.
    Status apply(std::string_view event, const boost::json::object& payload);

    /// The rows (objects by column name), in the result's order.
    const std::vector<boost::json::object>& rows() const { return rows_; }
    const std::string& position() const { return position_; }
    std::int64_t at_ms() const { return at_ms_; }

    /// The table as psql's aligned format prints it: a header of column names, a rule, one line
    /// per row (numbers right-aligned, NULL empty, booleans t/f, JSON as its text), then
    /// "(N rows)". Column widths count UTF-8 code points.
    std::string render_table() const;

private:
    /// The key columns' values of row, as one string (equal exactly when the values are).
    static std::string row_key(const std::vector<std::string>& key, const boost::json::object& row);

    std::vector<std::string> columns_;
    std::vector<bool> numeric_; ///< per column: right-aligned
    std::vector<boost::json::object> rows_;
    std::string position_;
    std::int64_t at_ms_ = 0;
    bool have_result_ = false;
};

} // namespace walcast::livequery
