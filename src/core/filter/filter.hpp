// Filters bound to a table: compile conditions (condition.hpp) against a capture::Relation,
// validating them at subscribe time (the checks Supabase Realtime's subscription trigger makes,
// spec §5.5, reported as typed FilterErrors), then evaluate them per change in walcast with
// Postgres semantics (spec §5.3) — no database round trip per change.
//
// What "Postgres semantics" means here, by column type (ground truth: tests/integration/
// filter_vs_postgres_test.cpp compares every operator with Postgres evaluating the SQL):
//  * The filter value is cast to the column type once, by Postgres (ValueNormalizer), and kept
//    as Postgres's canonical text; row values arrive as Postgres text output (DateStyle ISO,
//    TimeZone UTC, IntervalStyle postgres). Both are parsed by the same code.
//  * int2/int4/int8/oid, numeric (by value: 1.0 = 1.00; -Infinity < finite < Infinity < NaN,
//    NaN = NaN), float4/float8 (NaN = NaN and greatest, -0 = 0), bool (false < true), date,
//    timestamp, timestamptz (instants), time, timetz (UTC-equivalent time, then zone), interval
//    (months × 30 days + days × 24 h + time, as interval_cmp_value), uuid and bytea (byte
//    order), enums (pg_enum.enumsortorder; equality by label).
//  * text, varchar, name, "char": equality is bytewise (deterministic collations); ordering
//    uses the column collation — "C"/"POSIX"/"C.UTF-8" bytewise, other libc collations
//    strcoll_l in a newlocale of collcollate with Postgres's strcmp tie-break. bpchar ignores
//    trailing spaces in comparisons. citext compares lower()ed values, and its like/match are
//    case-insensitive (citext's own operators).
//  * ICU collations (walcast has no ICU): eq/neq/in/is/isdistinct/like/match work (bytewise
//    equality, like Postgres for deterministic collations); lt/lte/gt/gte, ilike and imatch
//    are refused at compile time. Nondeterministic collations: everything except `is` is
//    refused at compile time (their equality is not bytewise).
//  * like/ilike: Postgres's LIKE algorithm (backslash escape, `_` = one character); ilike
//    compares lower() of both sides under the collation's ctype (ASCII-only for C). bytea
//    supports like. A pattern ending in a lone backslash is refused at compile time (Postgres
//    raises 22025 at evaluation time instead).
//  * match/imatch: Postgres validates the pattern; walcast evaluates it with RE2 (linear time
//    in the text, whatever the pattern: no backtracking) after translating ARE syntax
//    (pgsem::translate_are): escapes (\a \b \B \cX \e \f \n \r \t \v \xhh \uhhhh \Uhhhhhhhh
//    \0oo), \A \Z, \d \s \w \D \S \W and [[:class:]] (ASCII under a C ctype, as Postgres; Unicode
//    properties otherwise), bounds, a `{` that starts none is literal, [[.x.]] [[=x=]], the
//    ***= and ***: prefixes, leading (?flags) c i m n q s t x (expanded mode is stripped by
//    walcast, newline-sensitive mode becomes RE2's (?m) with [^…] kept off \n); ^ and $ anchor
//    only at the string ends; `.` matches newline. ~* folds as Postgres: each pattern
//    character matches its toupper/tolower under the ctype (ASCII only under C), written into
//    the pattern (RE2's own folding would let k match the Kelvin sign). Word bounds: under C,
//    \y \Y and \m \M next to a literal word character become \b \B; under another ctype RE2's \b
//    is ASCII-only, so \m \M \y are accepted only at an end of the pattern (or of a top-level
//    alternative) next to a literal word character, written as a class, and \Y is refused.
//    Refused at compile time with 0A000 and the rewrite named: back-references,
//    lookahead/lookbehind, other word bounds, multi-character collating elements, the b e p w
//    options, [[:graph:]]/[[:print:]] under a non-C ctype, and patterns whose RE2 program
//    exceeds pgsem::regex_max_mem_bytes. Known approximations under a non-C ctype: glibc's
//    [[:alpha:]] also holds other scripts' decimal digits and [[:punct:]] combining marks and
//    no-break spaces, walcast's hold letters/letter numbers and Unicode punctuation/symbols.
//    Only "is there a match" is used, so leftmost-longest vs leftmost-first does not matter.
//  * Types walcast cannot order natively — jsonb, arrays, inet/cidr, money, ranges, geometric
//    and other user types — support eq/neq/in/isdistinct/is by comparing canonical text, and
//    refuse lt/lte/gt/gte at compile time with an error naming the type. Known gaps of text
//    equality: jsonb/array values containing numerics of different scale (1.0 vs 1) are equal
//    in Postgres but not here. json, xml, point and polygon have no `=` in Postgres and are
//    refused like Postgres would (42883); box and circle (whose `=` compares areas) and path
//    (whose `=` compares point counts) are refused with a walcast error.
//  * NULL never matches except via is/isdistinct, also under `not.` — and `not.in.()`, since
//    Postgres's `x = ANY('{}')` is false even for NULL. `in` with a NULL element is unknown
//    for non-matching values (so `not.in.(1,null)` matches nothing). A column
//    absent from the tuple, an unchanged-TOAST value, a column whose type OID changed since
//    compilation, or a value that cannot be parsed → no match.
#pragma once

#include "capture/change.hpp"
#include "core/filter/condition.hpp"
#include "core/filter/value_normalizer.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace walcast::core {

/// Which columns a tuple really carries: Full (new tuples; REPLICA IDENTITY FULL old tuples) or
/// KeyOnly (an old tuple with only the replica identity key: the other columns arrive as NULL
/// from pgoutput but are absent as far as filters go, spec §5.3 DELETE rule).
enum class TupleScope : unsigned char { Full, KeyOnly };

/// Most elements an `in` condition may have.
inline constexpr std::size_t max_in_values = 100;

/// Why a condition cannot be compiled. Each protocol words it its own way (Supabase:
/// protocol/supabase/messages.hpp, as RT's SQL raises them); describe() is a neutral wording
/// for logs.
struct FilterError {
    enum class Kind : unsigned char {
        InvalidColumn,   ///< column: missing, or not among the selectable columns
        TooManyInValues, ///< an `in` with more than max_in_values elements
        InvalidIsValue,  ///< value: `is` takes null, true, false or unknown
        IsNeedsBoolean,  ///< value, type: `is true/false/unknown` on a non-boolean column
        NeedsText,       ///< op, type: like/ilike/match/imatch on a column that is not text
        InvalidRegex,    ///< op, postgres: a match/imatch pattern Postgres rejects
        Postgres,        ///< postgres: Postgres's own error (a value that does not cast, …)
        Unsupported,     ///< postgres (0A000/42883/XX000): walcast cannot evaluate it faithfully;
                         ///< the message names the fix
    };
    Kind kind = Kind::Postgres;
    std::string column;
    std::string op;    ///< the operator's name
    std::string value; ///< the condition's value (InvalidIsValue, IsNeedsBoolean)
    std::string type;  ///< the column type as regtype prints it ("integer")
    pg::PgError postgres;

    FilterError() = default;
    /// Kind Postgres (or Unsupported for walcast's own refusals): the error as Postgres raised
    /// it or would raise it.
    explicit FilterError(pg::PgError e, Kind k = Kind::Postgres)
        : kind(k), postgres(std::move(e)) {}
    /// The normalizer could not be asked (connection lost, timeout): retrying may succeed.
    bool transient() const { return postgres.transient; }
    /// A neutral English sentence for logs.
    std::string describe() const;
};

template <class T> using FilterResult = Result<T, FilterError>;

/// Conditions bound to one relation's columns and types, ready to evaluate. Move-only.
class CompiledFilter {
public:
    /// Validates and binds conditions to relation (the checks of RT's subscription_check_filters
    /// trigger, spec §5.5), in condition order, stopping at the first failure:
    ///  * column missing, or not in selectable_columns when given (nullptr = all columns):
    ///    InvalidColumn;
    ///  * in: elements cast by the normalizer (its error: Postgres), more than max_in_values:
    ///    TooManyInValues;
    ///  * is: value not null/true/false/unknown: InvalidIsValue; a non-null keyword on a
    ///    non-boolean column: IsNeedsBoolean;
    ///  * like/ilike/match/imatch on a non-text column: NeedsText; a regex Postgres rejects:
    ///    InvalidRegex;
    ///  * other operators: the value cast by the normalizer (its error: Postgres, e.g. 22P02);
    ///  * what walcast cannot evaluate faithfully (see the file comment): Unsupported, 0A000 or
    ///    42883 with a message naming the type and the fix.
    /// Asks the normalizer at most a few questions per condition (blocking); call at join time.
    /// Errors with transient() mean the normalizer could not be asked.
    static FilterResult<CompiledFilter>
    compile(const std::vector<FilterCondition>& conditions, const capture::Relation& relation,
            ValueNormalizer& normalizer,
            const std::unordered_set<std::string>* selectable_columns = nullptr);

    /// No conditions: matches every tuple.
    CompiledFilter();
    CompiledFilter(CompiledFilter&&) noexcept;
    CompiledFilter& operator=(CompiledFilter&&) noexcept;
    ~CompiledFilter();

    /// Whether tuple (of relation, which may be a newer Relation object than the one compiled
    /// against) satisfies every condition (AND). Column positions are resolved by name once per
    /// Relation object and re-verified cheaply on each call. Not thread-safe per object (it
    /// updates that cache): call from one thread, the router's. Never allocates on the
    /// eq/neq/in paths for integers, text with a bytewise collation, uuid and timestamps.
    /// scanned_bytes, when given, grows by the length of every value a like/ilike/match/imatch
    /// condition scanned (the cost a matching budget bounds; conditions stop at the first
    /// that fails).
    bool matches(const capture::Relation& relation, const pg::Tuple& tuple,
                 TupleScope scope = TupleScope::Full, std::uint64_t* scanned_bytes = nullptr) const;

    bool empty() const;
    std::size_t size() const;

    struct Condition; ///< defined in filter.cpp

private:
    std::vector<Condition> conditions_;
    mutable const capture::Relation* cached_relation_ = nullptr;
    mutable std::vector<int> cached_index_;
    bool resolve(const capture::Relation& relation) const;
};

} // namespace walcast::core
