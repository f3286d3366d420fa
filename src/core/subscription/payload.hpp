// Payloads: what one subscriber may see of a change (PayloadVariant), how a protocol renders
// that (PayloadFormat: Supabase's postgres_changes `data` object, later GraphQL's), and the
// per-change cache that renders each (variant, format) once and shares the bytes
// (`shared_ptr<const std::string>`) with every channel that receives it.
#pragma once

#include "capture/change.hpp"
#include "capture/change_json.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace walcast::core {

/// Why a subscriber gets an error row instead of the row (each protocol words it).
enum class ErrorRow : std::uint8_t {
    None,
    NoPrimaryKey, ///< the table has no primary key (rows cannot be told apart or checked)
    Unauthorized, ///< a primary-key column is not readable by the subscriber's role
    CheckFailed,  ///< the row-level security check could not decide (an error, a timeout)
};

/// What one subscriber may see of a change.
struct PayloadVariant {
    capture::ColumnMask columns;     ///< readable ∩ (select ∪ primary key); by column index
    bool old_record_pk_only = false; ///< DELETE on a table with RLS on (spec §6.3), unless
                                     ///< decided on its old row (REPLICA IDENTITY FULL)
    bool old_record_omitted = false; ///< UPDATE whose version before the subscriber could not
                                     ///< see (RLS decided on row versions): old_record is {}
    ErrorRow error = ErrorRow::None;
    bool operator==(const PayloadVariant&) const = default;
};

/// How a protocol renders a change for one variant. Implementations are stateless and live
/// for the process (compared by address). Any thread.
class PayloadFormat {
public:
    virtual ~PayloadFormat() = default;
    /// The bytes for change as variant allows; too_big: the row exceeds the record limit
    /// (MAX_RECORD_BYTES), render it reduced.
    virtual std::string render(const capture::Change& change, const PayloadVariant& variant,
                               bool too_big) const = 0;
};

/// The rendered payloads of one change. Thread-safe; shared by the router and authorizer.
class ChangePayloads {
public:
    /// max_record_bytes: a row whose values exceed this many bytes is rendered reduced.
    ChangePayloads(capture::ChangePtr change, std::size_t max_record_bytes);

    const capture::Change& change() const { return *change_; }
    const capture::ChangePtr& change_ptr() const { return change_; }
    bool too_big() const { return too_big_; }

    /// The bytes for (variant, format), rendered on first request.
    std::shared_ptr<const std::string> get(const PayloadVariant& variant,
                                           const PayloadFormat& format);

private:
    struct Rendered {
        PayloadVariant variant;
        const PayloadFormat* format;
        std::shared_ptr<const std::string> data;
    };
    capture::ChangePtr change_;
    bool too_big_;
    std::mutex mu_;
    std::vector<Rendered> rendered_;
};
using ChangePayloadsPtr = std::shared_ptr<ChangePayloads>;

} // namespace walcast::core
