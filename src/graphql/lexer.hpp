// The GraphQL lexer (GraphQL spec, October 2021, section 2.1 "Source Text"): UTF-8 source to
// tokens — punctuators, names, Int/Float literals, strings with escapes, block strings with
// their indentation removed — skipping whitespace, commas, comments and the BOM.
#pragma once

#include "graphql/ast.hpp"
#include "graphql/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace walcast::graphql {

enum class TokenKind : std::uint8_t {
    Sof,
    Eof,
    Bang,
    Dollar,
    Amp,
    ParenL,
    ParenR,
    Spread,
    Colon,
    Equals,
    At,
    BracketL,
    BracketR,
    BraceL,
    Pipe,
    BraceR,
    Name,
    Int,
    Float,
    String,
    BlockString
};

/// How graphql-js names a token kind in messages: `"{"` for punctuators, `Name`, `<EOF>` ….
std::string token_kind_description(TokenKind kind);

struct Token {
    TokenKind kind = TokenKind::Sof;
    std::uint32_t start = 0; ///< byte offset in the source
    std::uint32_t end = 0;
    SourceLocation loc;
    std::string value; ///< Name, number text, decoded string; empty for punctuators
};

/// Reads tokens one at a time. The source must outlive the lexer. Errors are syntax errors
/// ("Syntax Error: …", the reference's texts) with the location of the offending character.
class Lexer {
public:
    explicit Lexer(std::string_view source) : src_(source) {}

    /// Reads the next token after `pos` (comments skipped) into `out`. Returns false with
    /// `err` set on a lexical error.
    bool next(Token& out, GraphQLError& err);

    /// Line and column of a byte offset (scans from the start; for errors).
    SourceLocation location_at(std::uint32_t offset) const;

    /// State to save and restore for one token of lookahead.
    struct State {
        std::uint32_t pos, line, line_start;
    };
    State state() const { return {pos_, line_, line_start_}; }
    void restore(State s) {
        pos_ = s.pos;
        line_ = s.line;
        line_start_ = s.line_start;
    }

private:
    bool fail(GraphQLError& err, std::uint32_t at, std::string message) const;
    SourceLocation token_location(std::uint32_t start);
    std::string describe_char_at(std::uint32_t at) const;
    bool read_number(Token& out, GraphQLError& err, std::uint32_t start);
    bool read_digits(GraphQLError& err, std::uint32_t& pos);
    bool read_string(Token& out, GraphQLError& err, std::uint32_t start);
    bool read_block_string(Token& out, GraphQLError& err, std::uint32_t start);
    bool read_escape(std::string& value, GraphQLError& err, std::uint32_t& pos);

    std::string_view src_;
    std::uint32_t pos_ = 0;
    std::uint32_t line_ = 1;
    std::uint32_t line_start_ = 0;
    // Incremental column counting: UTF-16 units from line_start_ up to col_offset_.
    std::uint32_t col_line_start_ = UINT32_MAX;
    std::uint32_t col_offset_ = 0;
    std::uint32_t col_units_ = 0;
};

} // namespace walcast::graphql
