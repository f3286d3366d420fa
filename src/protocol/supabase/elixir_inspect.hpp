// Elixir `inspect/2` rendering of the few term shapes that appear inside Supabase Realtime's
// user-facing error messages (spec §3.5, §5.4): strings, string lists, decoded JSON maps and
// the `{column, op, value, negate}` filter tuples — byte-for-byte, because users match on them.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace walcast::protocol::supabase::elixir {

/// An Elixir term, reduced to what the messages need.
struct Term {
    enum class Kind : unsigned char { String, Integer, Float, Atom, List, Tuple, Map };
    Kind kind = Kind::Atom;
    std::string text;        ///< String: the bytes; Integer: decimal digits; Atom: the name
    double number = 0;       ///< Float
    std::vector<Term> items; ///< List, Tuple; Map: key, value, key, value, …

    static Term string(std::string_view s) { return {Kind::String, std::string(s), 0, {}}; }
    static Term atom(std::string_view name) { return {Kind::Atom, std::string(name), 0, {}}; }
    static Term boolean(bool b) { return atom(b ? "true" : "false"); }
    static Term nil() { return atom("nil"); }
    static Term integer(std::string digits) { return {Kind::Integer, std::move(digits), 0, {}}; }
    static Term floating(double d) { return {Kind::Float, {}, d, {}}; }
    static Term list(std::vector<Term> items) { return {Kind::List, {}, 0, std::move(items)}; }
    static Term tuple(std::vector<Term> items) { return {Kind::Tuple, {}, 0, std::move(items)}; }
    /// A map; pairs are printed sorted by key (Erlang term order, i.e. bytewise for string
    /// keys), as Elixir prints maps of up to 32 keys (larger maps use hash order, unpredictable).
    static Term map(std::vector<std::pair<Term, Term>> pairs);
};

/// The term a JSON value decodes to with Jason (Phoenix's decoder): objects → maps with string
/// keys, arrays → lists, strings, integers, floats (any number with a fraction or exponent;
/// integers beyond 64 bits arrive from Boost.JSON as doubles and print as floats), true/false,
/// null → nil.
Term from_json(const boost::json::value& v);

/// `inspect(term)`: no pretty printing (width :infinity), limit 50 items per collection,
/// printable_limit 4096 for strings. Strings that are not printable UTF-8 print as `<<…>>` bytes.
/// Rules follow Elixir 1.18 (Inspect.Algebra container_doc, Code.Identifier escapes).
std::string inspect(const Term& term);

/// `inspect(term, pretty: true)`: the same with line breaking at width 80 (Inspect.Algebra
/// groups, strict and flex breaks), as RT's `Realtime.Logs.to_log/1` prints non-string values.
std::string inspect_pretty(const Term& term);

/// Elixir float printing (`Float.to_string/1`, Erlang `io_lib_format:fwrite_g/1`): shortest
/// round-trip digits, "1.0", "0.1", "1.0e20", "1.0e-7".
std::string format_float(double d);

} // namespace walcast::protocol::supabase::elixir
