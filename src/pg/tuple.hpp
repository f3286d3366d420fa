// Tuple: the column values of one row as pgoutput sends them (TupleData: per column NULL,
// unchanged TOAST, or text), stored in one contiguous buffer to keep decoding allocation-light.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace walcast::pg {

/// State of one column value in a tuple (PostgreSQL docs, Logical Replication Message
/// Formats, TupleData: 'n', 'u', 't', 'b').
enum class ValueState : std::uint8_t {
    Null,           ///< 'n': SQL NULL
    UnchangedToast, ///< 'u': TOASTed value not sent because it did not change
    Text,           ///< 't': text output of the type
    Binary,         ///< 'b': binary (never requested by walcast; kept for completeness)
};

/// One row's values, indexed by column position in the relation (attnum order, dropped
/// columns excluded, as pgoutput sends them).
class Tuple {
public:
    struct Slot {
        ValueState state = ValueState::Null;
        std::uint32_t offset = 0;
        std::uint32_t length = 0;
    };

    std::size_t size() const { return slots_.size(); }
    ValueState state(std::size_t i) const { return slots_[i].state; }
    bool is_null(std::size_t i) const { return slots_[i].state == ValueState::Null; }
    bool is_unchanged_toast(std::size_t i) const {
        return slots_[i].state == ValueState::UnchangedToast;
    }
    /// Text (or raw binary) of column i; empty for NULL / unchanged TOAST.
    std::string_view text(std::size_t i) const {
        const Slot& s = slots_[i];
        return std::string_view(data_.data() + s.offset, s.length);
    }

    /// Building (decoder, tests).
    void reserve(std::size_t columns, std::size_t bytes) {
        slots_.reserve(columns);
        data_.reserve(bytes);
    }
    void push_null() { slots_.push_back({ValueState::Null, 0, 0}); }
    void push_unchanged_toast() { slots_.push_back({ValueState::UnchangedToast, 0, 0}); }
    void push_value(std::string_view bytes, ValueState state = ValueState::Text) {
        slots_.push_back({state, static_cast<std::uint32_t>(data_.size()),
                          static_cast<std::uint32_t>(bytes.size())});
        data_.append(bytes);
    }
    /// Total bytes of all values (for size limits).
    std::size_t data_bytes() const { return data_.size(); }

private:
    std::string data_;
    std::vector<Slot> slots_;
};

} // namespace walcast::pg
