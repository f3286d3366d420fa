#include "core/filter/filter_eval.hpp"

#include "common/utf8.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>
#include <wctype.h>

namespace walcast::core::pgsem {

namespace {

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

/// Parses exactly n digits at s[pos]; advances pos.
bool take_digits(std::string_view s, std::size_t& pos, std::size_t n, std::int64_t& out) {
    if (pos + n > s.size()) return false;
    std::int64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    pos += n;
    return true;
}

/// Parses one or more digits at s[pos] (at most 18); advances pos.
bool take_number(std::string_view s, std::size_t& pos, std::int64_t& out) {
    std::size_t start = pos;
    std::int64_t v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 18) {
        v = v * 10 + (s[pos] - '0');
        ++pos;
    }
    out = v;
    return pos > start;
}

/// Optional ".ffffff" (1–6 digits) → µs.
bool take_fraction(std::string_view s, std::size_t& pos, std::int64_t& micros) {
    micros = 0;
    if (pos >= s.size() || s[pos] != '.') return true;
    ++pos;
    std::size_t start = pos;
    std::int64_t v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (pos - start < 6) v = v * 10 + (s[pos] - '0');
        ++pos;
    }
    std::size_t n = pos - start;
    if (n == 0) return false;
    for (std::size_t i = n; i < 6; ++i)
        v *= 10;
    micros = v;
    return true;
}

/// "HH:MM:SS[.f]" → µs (hours may exceed 24 only when long_hours).
bool take_clock(std::string_view s, std::size_t& pos, std::int64_t& micros, bool long_hours) {
    std::int64_t h, m, sec, frac;
    if (long_hours) {
        if (!take_number(s, pos, h)) return false;
    } else if (!take_digits(s, pos, 2, h)) {
        return false;
    }
    if (pos >= s.size() || s[pos++] != ':') return false;
    if (!take_digits(s, pos, 2, m)) return false;
    if (pos >= s.size() || s[pos++] != ':') return false;
    if (!take_digits(s, pos, 2, sec)) return false;
    if (!take_fraction(s, pos, frac)) return false;
    micros = ((h * 60 + m) * 60 + sec) * 1000000 + frac;
    return true;
}

/// "+HH[:MM[:SS]]" → offset seconds east of UTC.
bool take_offset(std::string_view s, std::size_t& pos, std::int64_t& seconds) {
    if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return false;
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    std::int64_t h = 0, m = 0, sec = 0;
    if (!take_digits(s, pos, 2, h)) return false;
    if (pos < s.size() && s[pos] == ':') {
        ++pos;
        if (!take_digits(s, pos, 2, m)) return false;
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            if (!take_digits(s, pos, 2, sec)) return false;
        }
    }
    seconds = sign * (h * 3600 + m * 60 + sec);
    return true;
}

/// Postgres date2j (datetime.c).
std::int64_t date2j(std::int64_t year, std::int64_t month, std::int64_t day) {
    if (month > 2) {
        month += 1;
        year += 4800;
    } else {
        month += 13;
        year += 4799;
    }
    std::int64_t century = year / 100;
    std::int64_t julian = year * 365 - 32167;
    julian += year / 4 - century + century / 4;
    julian += 7834 * month / 256 + day;
    return julian;
}

constexpr std::int64_t postgres_epoch_jdate = 2451545;
constexpr std::int64_t usecs_per_day = 86400LL * 1000000;

/// "YYYY-MM-DD" at s[pos] (year ≥ 4 digits) → Julian day, before any BC adjustment.
bool take_date(std::string_view s, std::size_t& pos, std::int64_t& year, std::int64_t& month,
               std::int64_t& day) {
    std::size_t start = pos;
    if (!take_number(s, pos, year) || pos - start < 4) return false;
    if (pos >= s.size() || s[pos++] != '-') return false;
    if (!take_digits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-') return false;
    return take_digits(s, pos, 2, day);
}

bool strip_bc(std::string_view& s) {
    if (s.size() > 3 && s.substr(s.size() - 3) == " BC") {
        s.remove_suffix(3);
        return true;
    }
    return false;
}

int utf8_len(unsigned char lead) {
    if (lead < 0x80) return 1;
    if (lead >= 0xF0) return 4;
    if (lead >= 0xE0) return 3;
    if (lead >= 0xC0) return 2;
    return 1;
}

} // namespace

// ---- numbers --------------------------------------------------------------------------------

std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::optional<double> parse_float8(std::string_view s) {
    double v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::optional<float> parse_float4(std::string_view s) {
    float v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

Cmp compare_float(double a, double b) {
    if (std::isnan(a)) return std::isnan(b) ? 0 : 1;
    if (std::isnan(b)) return -1;
    return a > b ? 1 : a < b ? -1 : 0;
}

std::optional<NumericView> parse_numeric(std::string_view s) {
    NumericView v;
    if (s == "NaN") {
        v.special = NumericView::Special::NaN;
        return v;
    }
    if (s == "Infinity") {
        v.special = NumericView::Special::PosInf;
        return v;
    }
    if (s == "-Infinity") {
        v.special = NumericView::Special::NegInf;
        return v;
    }
    if (!s.empty() && s[0] == '-') {
        v.negative = true;
        s.remove_prefix(1);
    }
    auto dot = s.find('.');
    std::string_view ip = s.substr(0, dot);
    std::string_view fp = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
    if (ip.empty() && fp.empty()) return std::nullopt;
    if ((!ip.empty() && !all_digits(ip)) || (!fp.empty() && !all_digits(fp))) return std::nullopt;
    if (dot != std::string_view::npos && fp.empty()) return std::nullopt;
    while (!ip.empty() && ip.front() == '0')
        ip.remove_prefix(1);
    while (!fp.empty() && fp.back() == '0')
        fp.remove_suffix(1);
    v.int_digits = ip;
    v.frac_digits = fp;
    if (ip.empty() && fp.empty()) v.negative = false; // zero has no sign
    return v;
}

Cmp compare_numeric(const NumericView& a, const NumericView& b) {
    using S = NumericView::Special;
    if (a.special != S::Finite || b.special != S::Finite) {
        int ra = static_cast<int>(a.special), rb = static_cast<int>(b.special);
        return ra < rb ? -1 : ra > rb ? 1 : 0;
    }
    if (a.negative != b.negative) return a.negative ? -1 : 1;
    int mag;
    if (a.int_digits.size() != b.int_digits.size()) {
        mag = a.int_digits.size() < b.int_digits.size() ? -1 : 1;
    } else {
        int c = a.int_digits.compare(b.int_digits);
        if (c == 0) c = a.frac_digits.compare(b.frac_digits);
        mag = c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    return a.negative ? -mag : mag;
}

// ---- date/time ------------------------------------------------------------------------------

std::optional<std::int64_t> parse_date(std::string_view s) {
    if (s == "infinity") return infinity_value;
    if (s == "-infinity") return minus_infinity_value;
    bool bc = strip_bc(s);
    std::size_t pos = 0;
    std::int64_t y, m, d;
    if (!take_date(s, pos, y, m, d) || pos != s.size()) return std::nullopt;
    if (bc) y = -(y - 1);
    return date2j(y, m, d);
}

std::optional<std::int64_t> parse_timestamp(std::string_view s, bool with_zone) {
    if (s == "infinity") return infinity_value;
    if (s == "-infinity") return minus_infinity_value;
    bool bc = strip_bc(s);
    std::size_t pos = 0;
    std::int64_t y, mo, d, clock, offset = 0;
    if (!take_date(s, pos, y, mo, d)) return std::nullopt;
    if (pos >= s.size() || s[pos++] != ' ') return std::nullopt;
    if (!take_clock(s, pos, clock, false)) return std::nullopt;
    if (with_zone && !take_offset(s, pos, offset)) return std::nullopt;
    if (pos != s.size()) return std::nullopt;
    if (bc) y = -(y - 1);
    std::int64_t days = date2j(y, mo, d) - postgres_epoch_jdate;
    return days * usecs_per_day + clock - offset * 1000000;
}

std::optional<std::int64_t> parse_time(std::string_view s) {
    std::size_t pos = 0;
    std::int64_t clock;
    if (!take_clock(s, pos, clock, false) || pos != s.size()) return std::nullopt;
    return clock;
}

std::optional<TimeTz> parse_timetz(std::string_view s) {
    std::size_t pos = 0;
    std::int64_t clock, offset;
    if (!take_clock(s, pos, clock, false) || !take_offset(s, pos, offset) || pos != s.size())
        return std::nullopt;
    return TimeTz{clock, static_cast<std::int32_t>(-offset)};
}

Cmp compare_timetz(const TimeTz& a, const TimeTz& b) {
    std::int64_t ta = a.time + std::int64_t(a.zone) * 1000000;
    std::int64_t tb = b.time + std::int64_t(b.zone) * 1000000;
    if (ta != tb) return ta < tb ? -1 : 1;
    if (a.zone != b.zone) return a.zone < b.zone ? -1 : 1;
    return 0;
}

std::optional<__int128> parse_interval(std::string_view s) {
    __int128 months = 0, days = 0, micros = 0;
    std::size_t pos = 0;
    bool any = false;
    while (pos < s.size()) {
        while (pos < s.size() && s[pos] == ' ')
            ++pos;
        if (pos >= s.size()) break;
        std::size_t end = s.find(' ', pos);
        std::string_view tok = s.substr(pos, end == std::string_view::npos ? s.npos : end - pos);
        pos = end == std::string_view::npos ? s.size() : end;
        int sign = 1;
        std::string_view body = tok;
        if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
            sign = body[0] == '-' ? -1 : 1;
            body.remove_prefix(1);
        }
        if (body.find(':') != std::string_view::npos) {
            std::size_t p = 0;
            std::int64_t t;
            if (!take_clock(body, p, t, true) || p != body.size()) return std::nullopt;
            micros += sign * static_cast<__int128>(t);
            any = true;
            continue;
        }
        auto n = parse_int(body);
        if (!n) return std::nullopt;
        while (pos < s.size() && s[pos] == ' ')
            ++pos;
        std::size_t uend = s.find(' ', pos);
        std::string_view unit = s.substr(pos, uend == std::string_view::npos ? s.npos : uend - pos);
        pos = uend == std::string_view::npos ? s.size() : uend;
        __int128 v = sign * static_cast<__int128>(*n);
        if (unit == "year" || unit == "years")
            months += v * 12;
        else if (unit == "mon" || unit == "mons")
            months += v;
        else if (unit == "day" || unit == "days")
            days += v;
        else
            return std::nullopt;
        any = true;
    }
    if (!any) return std::nullopt;
    return months * 30 * usecs_per_day + days * usecs_per_day + micros;
}

// ---- text -----------------------------------------------------------------------------------

std::string_view strip_trailing_spaces(std::string_view s) {
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

Result<locale_t> shared_locale(const std::string& name) {
    // Never destroyed: CompiledFilters may outlive static destruction order, and the locales
    // stay reachable for leak checkers.
    static std::mutex& mu = *new std::mutex;
    static std::map<std::string, locale_t>& cache = *new std::map<std::string, locale_t>;
    std::lock_guard lock(mu);
    if (auto it = cache.find(name); it != cache.end()) return it->second;
    locale_t loc =
        ::newlocale(LC_COLLATE_MASK | LC_CTYPE_MASK, name.c_str(), static_cast<locale_t>(nullptr));
    if (!loc)
        return make_error(Errc::NotFound,
                          "the locale \"" + name +
                              "\" used by this column's collation is not "
                              "installed on the walcast host; generate it (e.g. localedef or "
                              "locale-gen) or filter on a column with the C collation");
    cache.emplace(name, loc);
    return loc;
}

std::shared_ptr<const Collator> Collator::bytewise() {
    static const auto c = std::shared_ptr<const Collator>(new Collator());
    return c;
}

Result<std::shared_ptr<const Collator>> Collator::libc(const std::string& locale_name) {
    auto loc = shared_locale(locale_name);
    if (!loc) return std::move(loc).error();
    auto c = std::shared_ptr<Collator>(new Collator());
    c->locale_ = *loc;
    return std::shared_ptr<const Collator>(std::move(c));
}

Cmp Collator::compare(std::string_view a, std::string_view b) const {
    if (a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0) return 0;
    if (locale_) {
        thread_local std::string abuf, bbuf;
        abuf.assign(a);
        bbuf.assign(b);
        int r = ::strcoll_l(abuf.c_str(), bbuf.c_str(), locale_);
        if (r != 0) return r < 0 ? -1 : 1;
    }
    int r = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    if (r != 0) return r < 0 ? -1 : 1;
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

std::shared_ptr<const CaseFolder> CaseFolder::ascii() {
    static const auto f = std::shared_ptr<const CaseFolder>(new CaseFolder());
    return f;
}

Result<std::shared_ptr<const CaseFolder>> CaseFolder::libc(const std::string& ctype) {
    if (ctype.empty() || ctype == "C" || ctype == "POSIX") return ascii();
    auto loc = shared_locale(ctype);
    if (!loc) return std::move(loc).error();
    auto f = std::shared_ptr<CaseFolder>(new CaseFolder());
    f->locale_ = *loc;
    return std::shared_ptr<const CaseFolder>(std::move(f));
}

void CaseFolder::lower(std::string_view s, std::string& out) const {
    out.clear();
    if (!locale_) {
        out.assign(s);
        for (auto& c : out)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
        return;
    }
    std::size_t i = 0;
    while (i < s.size()) {
        auto lead = static_cast<unsigned char>(s[i]);
        if (lead < 0x80) {
            out += static_cast<char>(::towlower_l(lead, locale_));
            ++i;
            continue;
        }
        int n = utf8_len(lead);
        if (i + n > s.size()) {
            out.append(s.substr(i));
            break;
        }
        char32_t cp = lead & (0x7F >> n);
        for (int k = 1; k < n; ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        auto lc = static_cast<char32_t>(::towlower_l(static_cast<wint_t>(cp), locale_));
        if (lc < 0x80) {
            out += static_cast<char>(lc);
        } else if (lc < 0x800) {
            out += static_cast<char>(0xC0 | (lc >> 6));
            out += static_cast<char>(0x80 | (lc & 0x3F));
        } else if (lc < 0x10000) {
            out += static_cast<char>(0xE0 | (lc >> 12));
            out += static_cast<char>(0x80 | ((lc >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (lc & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (lc >> 18));
            out += static_cast<char>(0x80 | ((lc >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((lc >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (lc & 0x3F));
        }
        i += static_cast<std::size_t>(n);
    }
}

// ---- LIKE -----------------------------------------------------------------------------------

namespace {

enum class Like : unsigned char { True, False, Abort };

Like match_text(const unsigned char* t, std::size_t tlen, const unsigned char* p, std::size_t plen,
                bool sb) {
    auto next_char = [&](const unsigned char*& s, std::size_t& len) {
        std::size_t n = sb ? 1 : static_cast<std::size_t>(utf8_len(*s));
        if (n > len) n = len;
        s += n;
        len -= n;
    };
    if (plen == 1 && *p == '%') return Like::True;
    while (tlen > 0 && plen > 0) {
        if (*p == '\\') {
            ++p;
            --plen;
            if (plen == 0) return Like::False; // rejected at compile time
            if (*p != *t) return Like::False;
        } else if (*p == '%') {
            ++p;
            --plen;
            while (plen > 0) {
                if (*p == '%') {
                    ++p;
                    --plen;
                } else if (*p == '_') {
                    if (tlen == 0) return Like::Abort;
                    next_char(t, tlen);
                    ++p;
                    --plen;
                } else {
                    break;
                }
            }
            if (plen == 0) return Like::True;
            unsigned char firstpat;
            if (*p == '\\') {
                if (plen < 2) return Like::False;
                firstpat = p[1];
            } else {
                firstpat = *p;
            }
            while (tlen > 0) {
                if (*t == firstpat) {
                    Like m = match_text(t, tlen, p, plen, sb);
                    if (m != Like::False) return m;
                }
                next_char(t, tlen);
            }
            return Like::Abort;
        } else if (*p == '_') {
            next_char(t, tlen);
            ++p;
            --plen;
            continue;
        } else if (*p != *t) {
            return Like::False;
        }
        ++t;
        --tlen;
        ++p;
        --plen;
    }
    if (tlen > 0) return Like::False;
    while (plen > 0 && *p == '%') {
        ++p;
        --plen;
    }
    return plen == 0 ? Like::True : Like::Abort;
}

} // namespace

bool like_match(std::string_view text, std::string_view pattern, bool single_byte) {
    return match_text(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                      reinterpret_cast<const unsigned char*>(pattern.data()), pattern.size(),
                      single_byte) == Like::True;
}

std::optional<std::string> like_pattern_error(std::string_view pattern) {
    std::size_t wildcard_runs = 0;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '\\') {
            if (i + 1 == pattern.size()) return "LIKE pattern must not end with escape character";
            ++i;
        } else if (pattern[i] == '%' && (i == 0 || pattern[i - 1] != '%')) {
            ++wildcard_runs;
        }
    }
    // Matching recurses once per `%` run; bound the depth (Postgres bounds it by stack depth).
    if (wildcard_runs > max_like_wildcards)
        return "LIKE pattern has more than " + std::to_string(max_like_wildcards) +
               " % wildcards, which walcast does not evaluate; simplify the pattern";
    return std::nullopt;
}

std::optional<std::string> decode_bytea_hex(std::string_view s) {
    if (s.size() < 2 || s[0] != '\\' || s[1] != 'x' || s.size() % 2 != 0) return std::nullopt;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve((s.size() - 2) / 2);
    for (std::size_t i = 2; i < s.size(); i += 2) {
        int hi = hex(s[i]), lo = hex(s[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
    }
    return out;
}

// ---- regular expressions --------------------------------------------------------------------

namespace {

using Code = char32_t;

bool is_hex_digit(Code c) {
    return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F');
}

unsigned hex_value(Code c) {
    return c <= U'9' ? c - U'0' : (c | 0x20) - U'a' + 10;
}

bool is_ascii_word(Code c) {
    return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') ||
           c == U'_';
}

/// Whitespace an expanded ARE ignores (Postgres: blank, tab, newline and "any character that
/// belongs to the space character class"; the ASCII ones).
bool is_expanded_space(Code c) {
    return c == U' ' || (c >= U'\t' && c <= U'\r');
}

Error refusal(std::string message) {
    return make_error(Errc::InvalidInput, std::move(message));
}

/// One code point as an RE2 literal (inside a bracket expression or not).
void append_literal(std::string& out, Code cp) {
    if (is_ascii_word(cp)) {
        out += static_cast<char>(cp);
    } else if (cp > 0x20 && cp < 0x7F) {
        out += '\\'; // RE2 takes any escaped ASCII punctuation as itself
        out += static_cast<char>(cp);
    } else if (cp >= 0xA0 && utf8::is_scalar_value(cp)) {
        utf8::append(out, cp);
    } else {
        char buf[16];
        auto r = std::to_chars(buf, buf + sizeof buf, static_cast<unsigned long>(cp), 16);
        out += "\\x{";
        out.append(buf, r.ptr);
        out += '}';
    }
}

// glibc's iswspace/iswblank beyond ASCII in UTF-8 locales (no-break spaces excluded).
constexpr std::string_view unicode_spaces = "\\x{1680}\\x{2000}-\\x{2006}\\x{2008}-\\x{200A}"
                                            "\\x{2028}\\x{2029}\\x{205F}\\x{3000}";
constexpr std::string_view unicode_blanks =
    "\\x{1680}\\x{2000}-\\x{2006}\\x{2008}-\\x{200A}\\x{205F}\\x{3000}";

/// The contents (without the outer brackets) of the class Postgres's [[:name:]] is, or
/// nullopt with why in `why`. icase: Postgres folds [[:upper:]]/[[:lower:]] to [[:alpha:]].
std::optional<std::string> posix_class(std::string_view name, bool ascii, bool icase,
                                       std::string& why) {
    if (icase && (name == "upper" || name == "lower")) name = "alpha";
    if (name == "digit") return std::string("0-9");
    if (name == "xdigit") return std::string("0-9A-Fa-f");
    if (name == "ascii") return std::string("\\x{0}-\\x{7F}");
    static constexpr std::string_view ascii_names[] = {"alpha", "upper", "lower", "alnum", "space",
                                                       "punct", "blank", "cntrl", "graph", "print"};
    bool known = false;
    for (auto n : ascii_names)
        known = known || n == name;
    if (!known) {
        why = "unknown character class [[:" + std::string(name) + ":]]";
        return std::nullopt;
    }
    // RE2's POSIX classes are ASCII, exactly those of Postgres's C locale.
    if (ascii) return "[:" + std::string(name) + ":]";
    if (name == "alpha") return std::string("\\p{L}\\p{Nl}");
    if (name == "upper") return std::string("\\p{Lu}\\p{Lt}");
    if (name == "lower") return std::string("\\p{Ll}");
    if (name == "alnum") return std::string("\\p{L}\\p{Nl}\\p{Nd}");
    if (name == "space") return "\\x{9}-\\x{D} " + std::string(unicode_spaces);
    if (name == "blank") return "\\t " + std::string(unicode_blanks);
    if (name == "punct") return std::string("\\p{P}\\p{S}");
    if (name == "cntrl") return std::string("\\p{Cc}\\x{2028}\\x{2029}");
    why = "[[:" + std::string(name) +
          ":]] is only evaluated under a C collation; list the characters it should match in a "
          "bracket expression instead";
    return std::nullopt;
}

/// \d \s \w (lower case) as bracket contents.
std::string shorthand_class(Code e, bool ascii) {
    switch (e) {
    case U'd':
        return "0-9";
    case U's':
        return ascii ? "\\x{9}-\\x{D} " : "\\x{9}-\\x{D} " + std::string(unicode_spaces);
    default:
        return ascii ? "0-9A-Za-z_" : "\\p{L}\\p{Nl}\\p{Nd}_";
    }
}

constexpr std::string_view word_bound_fix =
    "write the bound out: (^|[^[:alnum:]_])word for \\mword, word([^[:alnum:]_]|$) for "
    "word\\M";

/// A character entry escape's code point and the index after it.
using CharEntry = Result<std::pair<Code, std::size_t>>;

class AreTranslator {
public:
    AreTranslator(std::u32string_view p, bool ascii, locale_t fold_locale, TranslatedRegex& r)
        : p_(p), ascii_(ascii), fold_locale_(fold_locale), r_(r), out_(r.pattern) {}

    /// Translates p_[i, end); returns an error naming the rewrite.
    std::optional<Error> run(std::size_t i, bool expanded) {
        if (r_.newline_sensitive) out_ += "(?m)";
        while (i < p_.size()) {
            const Code c = p_[i];
            if (expanded && is_expanded_space(c)) {
                ++i;
                continue;
            }
            if (expanded && c == U'#') {
                while (i < p_.size() && p_[i] != U'\n')
                    ++i;
                continue;
            }
            bool word = false;
            at_alt_start_ = alt_start_;
            alt_start_ = false;
            switch (c) {
            case U'\\': {
                auto e = escape(i, word);
                if (!e) return std::move(e).error();
                i = *e;
                break;
            }
            case U'[': {
                auto e = bracket(i);
                if (!e) return std::move(e).error();
                i = *e;
                break;
            }
            case U'(':
                if (i + 1 < p_.size() && p_[i + 1] == U'?') {
                    const Code k = i + 2 < p_.size() ? p_[i + 2] : 0;
                    if (k == U':') {
                        out_ += "(?:";
                        ++depth_;
                        i += 3;
                        break;
                    }
                    if (k == U'=' || k == U'!')
                        return refusal("lookahead (?" + std::string(1, static_cast<char>(k)) +
                                       "…) cannot be matched in linear time, which walcast "
                                       "requires; match the text without it (e.g. a[^b] for "
                                       "a(?!b), or a second condition with not.match)");
                    if (k == U'<')
                        return refusal("lookbehind (?<=…) / (?<!…) cannot be matched in linear "
                                       "time, which walcast requires; match the text without it "
                                       "(e.g. [^a]b for (?<!a)b)");
                    return refusal("(? not followed by : = ! or <; use (?:…) for a group");
                }
                out_ += '(';
                ++depth_;
                ++i;
                break;
            case U'{':
                i = bound(i);
                break;
            case U'}':
            case U']':
                append_literal(out_, c);
                ++i;
                break;
            case U'|':
                out_ += '|';
                alt_start_ = depth_ == 0;
                ++i;
                break;
            case U')':
                out_ += ')';
                --depth_;
                ++i;
                break;
            case U'^':
            case U'$':
            case U'.':
            case U'*':
            case U'+':
            case U'?':
                out_ += static_cast<char>(c);
                ++i;
                break;
            default:
                literal(c);
                word = is_ascii_word(c);
                ++i;
                break;
            }
            prev_word_ = word;
        }
        return std::nullopt;
    }

    /// p_[i] is '\\'. Returns the index after the escape.
    Result<std::size_t> escape(std::size_t i, bool& word) {
        if (i + 1 >= p_.size()) return refusal("the pattern ends with a lone backslash");
        const Code e = p_[i + 1];
        if (auto cp = char_escape(i)) {
            if (!*cp) return std::move(*cp).error();
            literal(cp->value().first);
            return cp->value().second;
        }
        switch (e) {
        case U'd':
        case U's':
        case U'w':
            out_ += '[' + shorthand_class(e, ascii_) + ']';
            return i + 2;
        case U'D':
        case U'S':
        case U'W':
            out_ += "[^" + shorthand_class(e | 0x20, ascii_) + ']';
            return i + 2;
        case U'A':
            out_ += "\\A";
            return i + 2;
        case U'Z':
            out_ += "\\z";
            return i + 2;
        case U'Y':
            if (!ascii_) return word_bound_refusal(e);
            out_ += "\\B";
            return i + 2;
        case U'y':
            if (ascii_) {
                out_ += "\\b";
                return i + 2;
            }
            // A word bound is a word start before a word character, a word end after one.
            if (prev_word_) return word_end(i + 2, e);
            return word_start(i + 2, e);
        case U'm':
            return word_start(i + 2, e);
        case U'M':
            return word_end(i + 2, e);
        default:
            break;
        }
        if (e >= U'1' && e <= U'9')
            return refusal("back-references (\\" + std::string(1, static_cast<char>(e)) +
                           ") cannot be matched in linear time, which walcast requires; write "
                           "the repeated text out (e.g. (ab)ab for (ab)\\1), or write a "
                           "character code as \\xHH");
        if (e < 0x80 && std::isalnum(static_cast<int>(e)))
            return refusal("invalid escape \\" + std::string(1, static_cast<char>(e)));
        append_literal(out_, e); // an escaped non-alphanumeric character is itself
        word = false;
        return i + 2;
    }

    /// A character outside a bracket expression.
    void literal(Code c) {
        Code v[2];
        if (case_variants(c, v) > 0) {
            out_ += '[';
            bracket_literal(c);
            out_ += ']';
        } else {
            append_literal(out_, c);
        }
    }

    /// A character-entry escape at p_[i] ('\\'): (code point, index after it); nullopt when
    /// p_[i + 1] starts no character entry.
    std::optional<CharEntry> char_escape(std::size_t i) const {
        const Code e = p_[i + 1];
        auto one = [&](Code cp) { return CharEntry(std::pair<Code, std::size_t>{cp, i + 2}); };
        switch (e) {
        case U'a':
            return one(0x07);
        case U'b':
            return one(0x08);
        case U'B':
            return one(U'\\');
        case U'e':
            return one(0x1B);
        case U'f':
            return one(0x0C);
        case U'n':
            return one(0x0A);
        case U'r':
            return one(0x0D);
        case U't':
            return one(0x09);
        case U'v':
            return one(0x0B);
        case U'c':
            if (i + 2 >= p_.size()) return CharEntry(refusal("\\c at the end of the pattern"));
            return CharEntry(std::pair<Code, std::size_t>{p_[i + 2] & 0x1F, i + 3});
        case U'x':
        case U'u':
        case U'U':
        case U'0': {
            const unsigned base = e == U'0' ? 8 : 16;
            const std::size_t first = e == U'0' ? i + 1 : i + 2;
            const std::size_t max = e == U'u' ? 4 : e == U'U' ? 8 : e == U'0' ? 3 : 255;
            std::size_t k = first;
            std::uint64_t v = 0;
            while (k < p_.size() && k - first < max &&
                   (base == 16 ? is_hex_digit(p_[k]) : (p_[k] >= U'0' && p_[k] <= U'7'))) {
                v = v * base + hex_value(p_[k]);
                if (v > 0x10FFFF) break;
                ++k;
            }
            if (k == first)
                return CharEntry(refusal("the escape \\" + std::string(1, static_cast<char>(e)) +
                                         " needs digits"));
            if (v > 0x10FFFF || !utf8::is_scalar_value(static_cast<Code>(v)))
                return CharEntry(refusal("the escape \\" + std::string(1, static_cast<char>(e)) +
                                         " names no Unicode character"));
            return CharEntry(std::pair<Code, std::size_t>{static_cast<Code>(v), k});
        }
        default:
            return std::nullopt;
        }
    }

    Error word_bound_refusal(Code e) const {
        const std::string what = "\\" + std::string(1, static_cast<char>(e));
        return refusal(what + " is only evaluated next to a literal word character" +
                       (ascii_ ? std::string()
                               : std::string(", and under a non-C collation only at the start "
                                             "or end of the pattern (or of a top-level "
                                             "alternative)")) +
                       "; " + std::string(word_bound_fix));
    }

    /// The word characters as bracket contents (Postgres: [[:alnum:]_] of the ctype).
    std::string word_chars() const { return shorthand_class(U'w', ascii_); }

    /// \m (or \y, [[:<:]]) ending at p_[j]: a word start. Equal to \b when a literal
    /// word character that cannot be skipped follows, under C; under another collation RE2's
    /// \b (ASCII) is not, but at the start of a top-level alternative "no word character
    /// before" is the same as matching a non-word character or the text's start there (only
    /// whether the pattern matches is used).
    Result<std::size_t> word_start(std::size_t j, Code e) {
        const bool next_word =
            j < p_.size() && is_ascii_word(p_[j]) &&
            !(j + 1 < p_.size() && (p_[j + 1] == U'*' || p_[j + 1] == U'?' || p_[j + 1] == U'{'));
        if (!next_word) return word_bound_refusal(e);
        if (ascii_) {
            out_ += "\\b";
        } else if (at_alt_start_ && depth_ == 0) {
            out_ += "(?:\\A|[^" + word_chars() + "])";
        } else {
            return word_bound_refusal(e);
        }
        return j;
    }

    /// \M (or \y, [[:>:]]) ending at p_[j], right after a literal word character: a word end
    /// (as word_start, mirrored: at the end of a top-level alternative).
    Result<std::size_t> word_end(std::size_t j, Code e) {
        if (!prev_word_) return word_bound_refusal(e);
        if (ascii_) {
            out_ += "\\b";
        } else if (depth_ == 0 && (j == p_.size() || p_[j] == U'|')) {
            out_ += "(?:[^" + word_chars() + "]|\\z)";
        } else {
            return word_bound_refusal(e);
        }
        return j;
    }

    /// p_[i] is '{': a bound `{m}`, `{m,}`, `{m,n}` is copied; otherwise (Postgres: `{` not
    /// followed by a digit) `{` is a literal.
    std::size_t bound(std::size_t i) {
        std::size_t k = i + 1;
        auto digits = [&] {
            std::size_t from = k;
            while (k < p_.size() && p_[k] >= U'0' && p_[k] <= U'9')
                ++k;
            return k > from;
        };
        if (digits()) {
            if (k < p_.size() && p_[k] == U',') {
                ++k;
                digits();
            }
            if (k < p_.size() && p_[k] == U'}') {
                for (std::size_t x = i; x <= k; ++x)
                    out_ += static_cast<char>(p_[x]);
                return k + 1;
            }
        }
        append_literal(out_, U'{');
        return i + 1;
    }

    /// p_[i] is '['. Returns the index after the bracket expression.
    Result<std::size_t> bracket(std::size_t i) {
        static constexpr std::u32string_view word_start_class = U"[[:<:]]";
        static constexpr std::u32string_view word_end_class = U"[[:>:]]";
        if (p_.substr(i, 7) == word_start_class) return word_start(i + 7, U'm');
        if (p_.substr(i, 7) == word_end_class) return word_end(i + 7, U'M');
        out_ += '[';
        ++i;
        bool negated = false;
        if (i < p_.size() && p_[i] == U'^') {
            out_ += '^';
            negated = true;
            ++i;
        }
        for (bool first = true; i < p_.size(); first = false) {
            const Code c = p_[i];
            if (c == U']' && !first) {
                if (negated && r_.newline_sensitive) out_ += "\\n";
                out_ += ']';
                return i + 1;
            }
            if (c == U'[' && i + 1 < p_.size() && p_[i + 1] == U':') {
                std::size_t close = i + 2;
                while (close + 1 < p_.size() && !(p_[close] == U':' && p_[close + 1] == U']'))
                    ++close;
                if (close + 1 >= p_.size()) return refusal("unterminated [:");
                std::string name;
                for (Code x : p_.substr(i + 2, close - i - 2))
                    name += x < 0x80 ? static_cast<char>(x) : '?';
                std::string why;
                auto cls = posix_class(name, ascii_, r_.case_insensitive, why);
                if (!cls) return refusal(why);
                out_ += *cls;
                i = close + 2;
                continue;
            }
            if (c == U'\\' && i + 1 < p_.size()) {
                const Code e = p_[i + 1];
                if (e == U'd' || e == U's' || e == U'w') {
                    out_ += shorthand_class(e, ascii_);
                    i += 2;
                    continue;
                }
            }
            // A character, or a range of two (Postgres: `-` first or last is itself).
            auto lo = endpoint(i);
            if (!lo) return std::move(lo).error();
            i = lo->second;
            if (i + 1 < p_.size() && p_[i] == U'-' && p_[i + 1] != U']') {
                auto hi = endpoint(i + 1);
                if (!hi) return std::move(hi).error();
                i = hi->second;
                append_range(lo->first, hi->first);
            } else {
                bracket_literal(lo->first);
            }
        }
        return refusal("unterminated bracket expression");
    }

    /// One character of a bracket expression at p_[i]: itself, an escape, [.x.] or [=x=].
    CharEntry endpoint(std::size_t i) const {
        const Code c = p_[i];
        if (c == U'[' && i + 1 < p_.size() && (p_[i + 1] == U'.' || p_[i + 1] == U'=')) {
            const Code kind = p_[i + 1];
            std::size_t close = i + 2;
            while (close + 1 < p_.size() && !(p_[close] == kind && p_[close + 1] == U']'))
                ++close;
            if (close + 1 >= p_.size())
                return refusal("unterminated [" + std::string(1, static_cast<char>(kind)));
            if (close - i - 2 != 1)
                return refusal(std::string(kind == U'.' ? "collating elements [[."
                                                        : "equivalence classes [[=") +
                               "…]] other than one character are not supported; write the "
                               "character itself");
            return std::pair<Code, std::size_t>{p_[i + 2], close + 2}; // the character x
        }
        if (c == U'\\' && i + 1 < p_.size()) {
            if (auto cp = char_escape(i)) return std::move(*cp);
            const Code e = p_[i + 1];
            if (e < 0x80 && std::isalnum(static_cast<int>(e)))
                return refusal("\\" + std::string(1, static_cast<char>(e)) +
                               " is not allowed in a bracket expression; write the characters "
                               "out");
            return std::pair<Code, std::size_t>{e, i + 2};
        }
        return std::pair<Code, std::size_t>{c, i + 1};
    }

    /// Whether walcast folds case in the pattern (RE2 then matches case-sensitively). Postgres's
    /// ~* matches each pattern character c as [c, toupper(c), tolower(c)] under the ctype
    /// (regc_locale.c allcases; ASCII only under C), which RE2's folding (Unicode orbits: k
    /// also matches the Kelvin sign) is not.
    bool folds() const { return r_.case_insensitive && (ascii_ || fold_locale_ != nullptr); }

    /// toupper(c) and tolower(c) where they differ from c (0–2 of them, into v).
    int case_variants(Code c, Code (&v)[2]) const {
        if (!folds()) return 0;
        Code up = c, low = c;
        if (ascii_) {
            if (c >= U'a' && c <= U'z') up = c - 0x20;
            if (c >= U'A' && c <= U'Z') low = c + 0x20;
        } else {
            up = static_cast<Code>(towupper_l(static_cast<wint_t>(c), fold_locale_));
            low = static_cast<Code>(towlower_l(static_cast<wint_t>(c), fold_locale_));
        }
        int n = 0;
        if (up != c && utf8::is_scalar_value(up)) v[n++] = up;
        if (low != c && low != up && utf8::is_scalar_value(low)) v[n++] = low;
        return n;
    }

    void bracket_literal(Code c) {
        append_literal(out_, c);
        Code v[2];
        const int n = case_variants(c, v);
        for (int k = 0; k < n; ++k)
            append_literal(out_, v[k]);
    }

    void append_range(Code lo, Code hi) {
        auto range = [&](Code a, Code b) {
            append_literal(out_, a);
            if (b == a) return;
            out_ += '-';
            append_literal(out_, b);
        };
        range(lo, hi);
        if (!folds() || lo > hi) return;
        // The other cases of the range's characters, outside it, as ranges. No character
        // beyond U+1FFFF has a case mapping (Unicode 15).
        std::vector<Code> extra;
        for (Code c = lo; c <= std::min<Code>(hi, 0x1FFFF); ++c) {
            Code v[2];
            const int n = case_variants(c, v);
            for (int k = 0; k < n; ++k)
                if (v[k] < lo || v[k] > hi) extra.push_back(v[k]);
        }
        std::sort(extra.begin(), extra.end());
        extra.erase(std::unique(extra.begin(), extra.end()), extra.end());
        for (std::size_t k = 0; k < extra.size();) {
            std::size_t e = k;
            while (e + 1 < extra.size() && extra[e + 1] == extra[e] + 1)
                ++e;
            range(extra[k], extra[e]);
            k = e + 1;
        }
    }

    std::u32string_view p_;
    const bool ascii_;
    const locale_t fold_locale_; ///< null: RE2 folds (non-C ctype without a locale)
    TranslatedRegex& r_;
    std::string& out_;
    bool prev_word_ = false;    ///< the last thing translated was a literal ASCII word character
    int depth_ = 0;             ///< open groups
    bool alt_start_ = true;     ///< the next token starts a top-level alternative
    bool at_alt_start_ = false; ///< the token being translated does
};

} // namespace

Result<TranslatedRegex> translate_are(std::string_view pattern, bool case_insensitive,
                                      bool ascii_classes, locale_t fold_locale) {
    std::u32string p;
    for (std::size_t i = 0; i < pattern.size();) {
        char32_t cp;
        std::size_t n = utf8::decode(pattern, i, cp);
        if (n == 0) return refusal("the pattern is not valid UTF-8");
        p += cp;
        i += n;
    }
    TranslatedRegex r;
    r.case_insensitive = case_insensitive;
    std::size_t i = 0;
    bool literal = false;
    bool expanded = false;
    if (p.substr(0, 4) == U"***=") {
        literal = true;
        i = 4;
    } else if (p.substr(0, 4) == U"***:") {
        i = 4;
    }
    // Embedded options "(?xyz)" at the start of an ARE (Postgres docs, 9.7.3.4).
    if (!literal && p.substr(i, 2) == U"(?" && i + 2 < p.size() &&
        std::u32string_view(U"bceimnpqstwx").find(p[i + 2]) != std::u32string_view::npos) {
        std::size_t k = i + 2;
        for (; k < p.size() && p[k] != U')'; ++k) {
            switch (p[k]) {
            case U'c':
                r.case_insensitive = false;
                break;
            case U'i':
                r.case_insensitive = true;
                break;
            case U'm':
            case U'n':
                r.newline_sensitive = true;
                break;
            case U's':
                r.newline_sensitive = false;
                break;
            case U't':
                expanded = false;
                break;
            case U'x':
                expanded = true;
                break;
            case U'q':
                literal = true;
                break;
            default: {
                const char o = p[k] < 0x80 ? static_cast<char>(p[k]) : '?';
                return refusal(std::string("regular expression option '") + o +
                               "' is not supported by walcast; use an ARE without it (for "
                               "p/w: (?n) or no option)");
            }
            }
        }
        if (k >= p.size()) return refusal("unterminated embedded options in regular expression");
        i = k + 1;
    }
    AreTranslator t(p, ascii_classes, fold_locale, r);
    if (literal) {
        for (; i < p.size(); ++i)
            t.literal(p[i]);
        r.folded = t.folds();
        return r;
    }
    if (auto e = t.run(i, expanded)) return std::move(*e);
    r.folded = t.folds();
    return r;
}

struct Regex::Impl {
    std::unique_ptr<re2::RE2> re;
};

Regex::~Regex() = default;

Result<std::shared_ptr<const Regex>> Regex::compile(std::string_view pattern, bool case_insensitive,
                                                    const std::string& ctype_locale) {
    const bool ascii = ctype_locale.empty() || ctype_locale == "C" || ctype_locale == "POSIX";
    locale_t fold_locale = nullptr;
    if (!ascii) {
        auto l = shared_locale(ctype_locale);
        if (!l) return std::move(l).error();
        fold_locale = *l;
    }
    auto t = translate_are(pattern, case_insensitive, ascii, fold_locale);
    if (!t) return std::move(t).error();
    re2::RE2::Options o;
    o.set_encoding(re2::RE2::Options::EncodingUTF8);
    o.set_log_errors(false);
    o.set_case_sensitive(!t->case_insensitive || t->folded);
    o.set_dot_nl(!t->newline_sensitive);
    o.set_never_capture(true);
    o.set_max_mem(regex_max_mem_bytes);
    auto rx = std::shared_ptr<Regex>(new Regex());
    rx->impl_ = std::make_unique<Impl>();
    rx->impl_->re = std::make_unique<re2::RE2>(t->pattern, o);
    const auto& re = *rx->impl_->re;
    if (!re.ok()) {
        if (re.error_code() == re2::RE2::ErrorPatternTooLarge)
            return refusal("the pattern compiles to more than " +
                           std::to_string(regex_max_mem_bytes / 1024) +
                           " KiB, the most one filter may use; use a shorter pattern or smaller "
                           "repetition counts");
        return refusal("RE2 (walcast's linear-time engine) cannot compile it: " + re.error() +
                       "; simplify the pattern");
    }
    return std::shared_ptr<const Regex>(std::move(rx));
}

bool Regex::search(std::string_view text) const {
    return impl_->re->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(),
                            re2::RE2::UNANCHORED, nullptr, 0);
}

} // namespace walcast::core::pgsem
