#include "core/filter/filter_eval.hpp"

// A regex search that backtracks catastrophically gives up after this many states (Boost's
// default is 100 million: tens of seconds on the router thread). This is the only file that
// includes Boost.Regex.
#define BOOST_REGEX_MAX_STATE_COUNT 1000000
#include <boost/regex.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
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

void utf8_to_wide(std::string_view s, std::wstring& out) {
    out.clear();
    std::size_t i = 0;
    while (i < s.size()) {
        auto lead = static_cast<unsigned char>(s[i]);
        int n = utf8_len(lead);
        if (lead >= 0x80 && lead < 0xC0) n = 0;
        if (n == 0 || i + static_cast<std::size_t>(n) > s.size()) {
            out += static_cast<wchar_t>(0xFFFD);
            ++i;
            continue;
        }
        char32_t cp = n == 1 ? lead : lead & (0x7F >> n);
        bool bad = false;
        for (int k = 1; k < n; ++k) {
            auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) bad = true;
            cp = (cp << 6) | (c & 0x3F);
        }
        if (bad) {
            out += static_cast<wchar_t>(0xFFFD);
            ++i;
            continue;
        }
        out += static_cast<wchar_t>(cp);
        i += static_cast<std::size_t>(n);
    }
}

namespace {

bool is_hex(wchar_t c) {
    return (c >= L'0' && c <= L'9') || (c >= L'a' && c <= L'f') || (c >= L'A' && c <= L'F');
}

void append_code(std::wstring& out, unsigned long cp) {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, cp, 16);
    out += L"\\x{";
    for (char* c = buf; c != r.ptr; ++c)
        out += static_cast<wchar_t>(*c);
    out += L'}';
}

/// Translates the escape at p[i] ('\\' at i) and returns the index of its last character.
std::size_t translate_escape(std::wstring_view p, std::size_t i, bool in_bracket,
                             std::wstring& out) {
    if (i + 1 >= p.size()) {
        out += L"\\\\";
        return i;
    }
    wchar_t e = p[i + 1];
    auto hex_run = [&](std::size_t from, std::size_t max_digits, std::size_t& end) {
        unsigned long v = 0;
        std::size_t k = from;
        while (k < p.size() && k - from < max_digits && is_hex(p[k])) {
            wchar_t c = p[k];
            v = v * 16 + static_cast<unsigned long>(c <= L'9' ? c - L'0' : (c | 0x20) - L'a' + 10);
            ++k;
        }
        end = k;
        return v;
    };
    switch (e) {
    case L'm':
        out += in_bracket ? L"m" : L"\\<";
        return i + 1;
    case L'M':
        out += in_bracket ? L"M" : L"\\>";
        return i + 1;
    case L'y':
        out += in_bracket ? L"y" : L"\\b";
        return i + 1;
    case L'Y':
        out += in_bracket ? L"Y" : L"\\B";
        return i + 1;
    case L'Z':
        out += L"\\z";
        return i + 1;
    case L'b':
        append_code(out, 0x08);
        return i + 1;
    case L'B':
        out += L"\\\\";
        return i + 1;
    case L'e':
        append_code(out, 0x1B);
        return i + 1;
    case L'a':
        append_code(out, 0x07);
        return i + 1;
    case L'v':
        append_code(out, 0x0B);
        return i + 1;
    case L'x': {
        std::size_t end;
        unsigned long v = hex_run(i + 2, 8, end);
        if (end == i + 2) {
            out += L"x";
            return i + 1;
        }
        append_code(out, v);
        return end - 1;
    }
    case L'u':
    case L'U': {
        std::size_t end;
        unsigned long v = hex_run(i + 2, e == L'u' ? 4 : 8, end);
        if (end == i + 2) {
            out += e;
            return i + 1;
        }
        append_code(out, v);
        return end - 1;
    }
    default:
        out += L'\\';
        out += e;
        return i + 1;
    }
}

} // namespace

Result<TranslatedRegex> translate_are(std::wstring_view p, bool case_insensitive) {
    TranslatedRegex r;
    r.case_insensitive = case_insensitive;
    std::size_t i = 0;
    bool literal = false;
    if (p.substr(0, 4) == L"***=") {
        literal = true;
        i = 4;
    } else if (p.substr(0, 4) == L"***:") {
        i = 4;
    }
    // Embedded options "(?xyz)" at the start of an ARE (Postgres docs, 9.7.3.4).
    if (!literal && p.substr(i, 2) == L"(?" && i + 2 < p.size() &&
        std::wstring_view(L"bceimnpqstwx").find(p[i + 2]) != std::wstring_view::npos) {
        std::size_t k = i + 2;
        for (; k < p.size() && p[k] != L')'; ++k) {
            switch (p[k]) {
            case L'c':
                r.case_insensitive = false;
                break;
            case L'i':
                r.case_insensitive = true;
                break;
            case L'm':
            case L'n':
                r.newline_sensitive = true;
                break;
            case L's':
                r.newline_sensitive = false;
                break;
            case L't':
                r.expanded = false;
                break;
            case L'x':
                r.expanded = true;
                break;
            case L'q':
                literal = true;
                break;
            default:
                return make_error(Errc::InvalidInput,
                                  std::string("regular expression option '") +
                                      static_cast<char>(p[k]) +
                                      "' is not supported by walcast; use an ARE without it");
            }
        }
        if (k >= p.size())
            return make_error(Errc::InvalidInput,
                              "unterminated embedded options in regular expression");
        i = k + 1;
    }
    if (literal) {
        for (; i < p.size(); ++i)
            append_code(r.pattern, static_cast<unsigned long>(p[i]));
        return r;
    }
    bool in_bracket = false;
    std::size_t bracket_start = 0;
    for (; i < p.size(); ++i) {
        wchar_t c = p[i];
        if (in_bracket) {
            if (c == L'[' && i + 1 < p.size() &&
                (p[i + 1] == L':' || p[i + 1] == L'.' || p[i + 1] == L'=')) {
                wchar_t kind = p[i + 1];
                std::size_t close = i + 2;
                while (close + 1 < p.size() && !(p[close] == kind && p[close + 1] == L']'))
                    ++close;
                std::size_t last = std::min(close + 1, p.size() - 1);
                r.pattern.append(p.substr(i, last - i + 1));
                i = last;
            } else if (c == L']' && i != bracket_start) {
                in_bracket = false;
                r.pattern += c;
            } else if (c == L'\\') {
                i = translate_escape(p, i, true, r.pattern);
            } else if (c == L']') {
                r.pattern += L"\\]"; // a leading ']' is literal in Postgres
            } else {
                r.pattern += c;
            }
            continue;
        }
        if (c == L'\\') {
            i = translate_escape(p, i, false, r.pattern);
        } else if (c == L'[') {
            in_bracket = true;
            r.pattern += c;
            if (i + 1 < p.size() && p[i + 1] == L'^') {
                r.pattern += L'^';
                ++i;
            }
            bracket_start = i + 1;
        } else if (c == L'^' && !r.newline_sensitive) {
            r.pattern += L"\\A";
        } else if (c == L'$' && !r.newline_sensitive) {
            r.pattern += L"\\z";
        } else {
            r.pattern += c;
        }
    }
    return r;
}

struct Regex::Impl {
    boost::basic_regex<wchar_t, boost::cpp_regex_traits<wchar_t>> re;
};

Regex::~Regex() = default;

Result<std::shared_ptr<const Regex>> Regex::compile(std::string_view pattern, bool case_insensitive,
                                                    const std::string& ctype_locale) {
    std::wstring wide;
    utf8_to_wide(pattern, wide);
    auto t = translate_are(wide, case_insensitive);
    if (!t) return std::move(t).error();
    namespace rc = boost::regex_constants;
    rc::syntax_option_type flags = rc::perl;
    if (t->case_insensitive) flags |= rc::icase;
    if (t->expanded) flags |= rc::mod_x;
    flags |= t->newline_sensitive ? rc::no_mod_s : (rc::mod_s | rc::no_mod_m);
    auto rx = std::shared_ptr<Regex>(new Regex());
    rx->impl_ = std::make_unique<Impl>();
    try {
        std::locale loc = (ctype_locale.empty() || ctype_locale == "C" || ctype_locale == "POSIX")
                              ? std::locale::classic()
                              : std::locale(ctype_locale);
        rx->impl_->re.imbue(loc);
        rx->impl_->re.assign(t->pattern, flags);
    } catch (const std::exception& e) {
        return make_error(Errc::InvalidInput, e.what());
    }
    return std::shared_ptr<const Regex>(std::move(rx));
}

bool Regex::search(std::string_view text) const {
    thread_local std::wstring buf;
    utf8_to_wide(text, buf);
    try {
        return boost::regex_search(buf.cbegin(), buf.cend(), impl_->re);
    } catch (...) {
        return false;
    }
}

} // namespace walcast::core::pgsem
