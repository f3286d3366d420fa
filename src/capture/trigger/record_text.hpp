// The text form of a composite value — what `NEW::text` gives in the capture trigger
// (PostgreSQL's record_out: "(1,\"a b\",,\"\")") — split back into column values.
#pragma once

#include "common/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace walcast::capture::trigger {

/// Reads the fields of one record literal in order. Rules (PostgreSQL docs, Composite Types,
/// "Composite Type Input and Output Syntax"; rowtypes.c record_in): the value is enclosed in
/// parentheses, fields are separated by commas, an empty unquoted field is NULL, double quotes
/// enclose text (a doubled quote inside is one quote), a backslash takes the next byte
/// literally; whitespace outside the parentheses is ignored.
///
/// Not thread-safe; views returned by next() stay valid until the next call (they point into
/// the input or into the reader's scratch buffer). Malformed or truncated text is an
/// InvalidInput error, never a crash, for any bytes.
class RecordReader {
public:
    explicit RecordReader(std::string_view text) : text_(text) {}

    /// The next field: true with value set (nullopt = NULL), or false after the last one.
    /// Errors: no opening parenthesis, unterminated quote, text after the closing parenthesis,
    /// end of input before it.
    Result<bool> next(std::optional<std::string_view>& value);

    /// Fields read so far.
    std::size_t count() const { return count_; }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t count_ = 0;
    bool started_ = false;
    bool finished_ = false;
    std::string scratch_;
};

} // namespace walcast::capture::trigger
