// The Postgres semantics behind filter evaluation, without a database: parsing of Postgres's
// text output (DateStyle ISO, TimeZone UTC, IntervalStyle postgres) into comparable values,
// comparison rules per type (numeric and float NaN ordering, timetz, interval spans), LIKE with
// Postgres escape rules, collation-aware text comparison and case folding, and the
// translation of Postgres regular expressions (ARE) for RE2. Used by filter.cpp.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <locale.h>

namespace walcast::core::pgsem {

/// Three-way result: <0, 0, >0.
using Cmp = int;

// ---- numbers --------------------------------------------------------------------------------

/// int2/int4/int8/oid text output → value; nullopt when not an integer.
std::optional<std::int64_t> parse_int(std::string_view s);

/// float8 text output ("1.5", "-Infinity", "NaN", "1e+100") → value.
std::optional<double> parse_float8(std::string_view s);
/// float4 text output → value (parsed as float, so equal float4 values compare equal).
std::optional<float> parse_float4(std::string_view s);
/// float8_cmp_internal: NaN equals NaN and sorts after every other value; -0 = 0.
Cmp compare_float(double a, double b);

/// A numeric's text output, viewed without allocation: sign, integer digits without leading
/// zeros, fraction digits without trailing zeros, or a special value.
struct NumericView {
    enum class Special : signed char { NegInf = -2, Finite = 0, PosInf = 2, NaN = 3 };
    Special special = Special::Finite;
    bool negative = false;
    std::string_view int_digits;
    std::string_view frac_digits;
};
std::optional<NumericView> parse_numeric(std::string_view s);
/// cmp_numerics: by value (1.0 = 1.00); -Infinity < finite < Infinity < NaN; NaN = NaN.
Cmp compare_numeric(const NumericView& a, const NumericView& b);

// ---- date/time (text output with DateStyle ISO, TimeZone UTC) ------------------------------

constexpr std::int64_t infinity_value = INT64_MAX;
constexpr std::int64_t minus_infinity_value = INT64_MIN;

/// "2024-01-02", "0044-03-15 BC", "infinity" → Julian day number (±infinity as above).
std::optional<std::int64_t> parse_date(std::string_view s);
/// timestamp: "2024-01-02 03:04:05.123456[ BC]" → µs; with_zone also requires and applies an
/// offset "+00", "+05:30", "-03:00:15" (before " BC") and yields µs UTC.
std::optional<std::int64_t> parse_timestamp(std::string_view s, bool with_zone);
/// time: "03:04:05.5" (24:00:00 allowed) → µs since midnight.
std::optional<std::int64_t> parse_time(std::string_view s);
/// timetz: "03:04:05+02" → (µs since midnight, zone = seconds WEST of UTC, as Postgres stores).
struct TimeTz {
    std::int64_t time = 0;
    std::int32_t zone = 0;
};
std::optional<TimeTz> parse_timetz(std::string_view s);
/// timetz_cmp_internal: by UTC-equivalent time, then by zone (equal only when both agree).
Cmp compare_timetz(const TimeTz& a, const TimeTz& b);
/// interval, IntervalStyle postgres ("1 year 2 mons -3 days +04:05:06.5") → the span Postgres
/// compares (interval_cmp_value): months × 30 days + days × 24 h + time, in µs.
std::optional<__int128> parse_interval(std::string_view s);

// ---- text -----------------------------------------------------------------------------------

/// bpchar comparison ignores trailing spaces: s without them.
std::string_view strip_trailing_spaces(std::string_view s);

/// A libc locale (newlocale) shared process-wide, created once per name and never freed.
/// Errors: NotFound naming the locale and the fix (install it on the walcast host).
Result<locale_t> shared_locale(const std::string& name);

/// Text ordering under a collation. Bytewise (C, POSIX, C.UTF-8): memcmp then length.
/// Libc: strcoll_l, ties broken by strcmp as Postgres's varstr_cmp does for deterministic
/// collations. Thread-safe; uses thread-local buffers (no allocation once warm).
class Collator {
public:
    static std::shared_ptr<const Collator> bytewise();
    static Result<std::shared_ptr<const Collator>> libc(const std::string& locale_name);
    Cmp compare(std::string_view a, std::string_view b) const;
    bool is_bytewise() const { return locale_ == nullptr; }

private:
    locale_t locale_ = nullptr;
};

/// Lower-casing as Postgres's lower() does it in a UTF-8 database: ASCII only for a "C"/"POSIX"
/// ctype, otherwise towlower_l per code point in the ctype locale. Thread-safe.
class CaseFolder {
public:
    static std::shared_ptr<const CaseFolder> ascii();
    static Result<std::shared_ptr<const CaseFolder>> libc(const std::string& ctype);
    /// Replaces out with lower(s).
    void lower(std::string_view s, std::string& out) const;

private:
    locale_t locale_ = nullptr;
};

// ---- LIKE -----------------------------------------------------------------------------------

/// Postgres's MatchText (like_match.c) for UTF-8 text: `%` any run, `_` one character,
/// backslash escapes the next character; bytewise comparison otherwise. single_byte = true is
/// the bytea variant (`_` is one byte). The pattern must not end with a lone backslash
/// (check with like_pattern_error first).
bool like_match(std::string_view text, std::string_view pattern, bool single_byte = false);

/// Most `%` runs a LIKE pattern may have (matching recurses once per run).
constexpr std::size_t max_like_wildcards = 256;

/// Postgres's error for a pattern LIKE rejects at run time ("LIKE pattern must not end with
/// escape character", SQLSTATE 22025), walcast's refusal of patterns with more than
/// max_like_wildcards `%` runs, or nullopt when the pattern is usable.
std::optional<std::string> like_pattern_error(std::string_view pattern);

/// Decodes bytea text output ("\x0102ff") into bytes; nullopt when it is not hex format.
std::optional<std::string> decode_bytea_hex(std::string_view s);

// ---- regular expressions --------------------------------------------------------------------

/// Most memory (bytes) one compiled regular expression may use: its RE2 program and the cache
/// of its lazily built DFA. A pattern whose program does not fit is refused at compile time;
/// a DFA that outgrows the rest falls back to RE2's NFA (still linear in the text, but ~100×
/// slower: 256 KiB was too little for `(\w+\s?)*#` with Unicode classes, 0.7 ms instead of
/// 7 µs per 4,000 characters).
constexpr std::int64_t regex_max_mem_bytes = 1024 * 1024;

/// A compiled Postgres regular expression (`~` / `~*`), evaluated with RE2 (a linear-time
/// engine: no backtracking, so the time of a search grows with the text's length, never
/// exponentially with the pattern) after translate_are; see filter.hpp for what is exact and
/// what is refused. Thread-safe (const use).
class Regex {
public:
    /// Compiles pattern (ARE, UTF-8, already accepted by Postgres). case_insensitive = `~*`.
    /// ctype_locale: the column collation's ctype ("" or "C"/"POSIX" = ASCII-only classes, as
    /// Postgres does for the C locale; any other = Unicode properties). Errors: InvalidInput
    /// whose message names the rewrite (translate_are) or RE2's reason.
    static Result<std::shared_ptr<const Regex>>
    compile(std::string_view pattern, bool case_insensitive, const std::string& ctype_locale);
    /// Whether the expression matches anywhere in text (UTF-8). Never throws, never
    /// allocates once the DFA for this text's characters is built.
    bool search(std::string_view text) const;

    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

private:
    Regex() = default;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// An ARE translated to RE2 syntax (UTF-8): match it with RE2::Options case_sensitive =
/// !case_insensitive, dot_nl = !newline_sensitive (the pattern carries `(?m)` itself when
/// newline-sensitive).
struct TranslatedRegex {
    std::string pattern;
    bool case_insensitive = false;
    bool newline_sensitive = false; ///< ARE `n`/`m` option: . and [^…] stop at \n, ^ $ at lines
    bool folded = false; ///< case_insensitive is written into the pattern: match case-sensitively
};

/// Translates a Postgres ARE (Postgres docs 9.7.3; the pattern is assumed valid for Postgres)
/// to an RE2 pattern that matches the same texts. ascii_classes: the collation's ctype is C
/// (classes, \d \s \w and word bounds over ASCII, as Postgres's C locale); otherwise
/// Unicode properties. Exposed for tests and the fuzz target. Errors: InvalidInput, the
/// message naming what to write instead, for what RE2 cannot express: back-references,
/// lookahead/lookbehind, \m \M not next to a literal word character (and every word bound
/// under a non-C collation), [[:graph:]] [[:print:]] under a non-C collation,
/// multi-character collating elements, the options b e p w, an escape naming no character.
/// fold_locale: the ctype locale ~* folds case with (towupper_l/towlower_l per pattern
/// character, as Postgres); null under a non-C ctype leaves the folding to RE2 (Unicode).
Result<TranslatedRegex> translate_are(std::string_view pattern, bool case_insensitive,
                                      bool ascii_classes, locale_t fold_locale = nullptr);

} // namespace walcast::core::pgsem
