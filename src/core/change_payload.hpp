// ChangePayloads: the `data` object of a postgres_changes message (spec §4.1), rendered once per
// distinct variant of one change (visible columns, DELETE reduction, error row) and shared by
// every channel that receives that variant.
#pragma once

#include "capture/change.hpp"
#include "capture/change_json.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace walcast::core {

/// Error rows of spec §6.5 (plus walcast's own for a failed authorization check).
enum class ErrorRow : std::uint8_t {
    None,
    NoPrimaryKey, ///< "Error 400: Bad Request, no primary key"
    Unauthorized, ///< "Error 401: Unauthorized" (a primary-key column is not readable)
    CheckFailed,  ///< "Error 500: …": the row-level security check raised an error
};

/// What one subscriber may see of a change.
struct PayloadVariant {
    capture::ColumnMask columns;     ///< readable ∩ (select ∪ primary key); by column index
    bool old_record_pk_only = false; ///< DELETE on a table with RLS on (spec §6.3)
    ErrorRow error = ErrorRow::None;
    bool operator==(const PayloadVariant&) const = default;
};

/// Renders the data object for a change and variant. too_big selects the §6.5 413 reduction.
/// Shapes (spec §4.1, §6.4–§6.6): type, schema, table, commit_timestamp (UTC ms "Z" or null on
/// error rows), columns [{name,type}], record (INSERT/UPDATE), old_record (UPDATE/DELETE),
/// errors (null or array of strings).
std::string render_change_data(const capture::Change& change, const PayloadVariant& variant,
                               bool too_big);

/// The rendered variants of one change. Thread-safe; shared by the router and authorizer.
class ChangePayloads {
public:
    /// max_record_bytes: a row whose values exceed this many bytes is sent reduced (413).
    ChangePayloads(capture::ChangePtr change, std::size_t max_record_bytes);

    const capture::Change& change() const { return *change_; }
    const capture::ChangePtr& change_ptr() const { return change_; }

    /// The bytes for variant, rendered on first request.
    std::shared_ptr<const std::string> get(const PayloadVariant& variant);

private:
    capture::ChangePtr change_;
    bool too_big_;
    std::mutex mu_;
    std::vector<std::pair<PayloadVariant, std::shared_ptr<const std::string>>> rendered_;
};
using ChangePayloadsPtr = std::shared_ptr<ChangePayloads>;

} // namespace walcast::core
