#include "protocol/supabase/elixir_inspect.hpp"

#include "common/utf8.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

namespace walcast::protocol::supabase::elixir {

namespace {

// Elixir 1.18 Inspect.Opts defaults.
constexpr int default_limit = 50;
constexpr int printable_limit_chars = 4096;
constexpr long pretty_width = 80;
constexpr long infinite_width = -1;

bool is_named_control(char32_t c) {
    return c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\b' || c == '\f' ||
           c == 0x1B || c == 0x7F || c == 0x07;
}

bool is_printable_cp(char32_t c) {
    return (c >= 0x20 && c <= 0x7E) || is_named_control(c) || (c >= 0xA0 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/// Elixir 1.18's "confusing invisibles", printed as \uXXXX even inside printable strings.
bool is_invisible(char32_t c) {
    return c == 0xFEFF || (c >= 0x2061 && c <= 0x2064) || c == 0x061C || c == 0x200E ||
           c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) ||
           (c >= 0xFFF9 && c <= 0xFFFC) || c == 0x200C || c == 0x200D || c == 0x034F ||
           c == 0x00A0 || c == 0x200B || c == 0x2060 || c == 0x2028 || c == 0x2029 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x205F;
}

/// String.printable?(s, printable_limit).
bool printable(std::string_view s) {
    int counter = printable_limit_chars;
    std::size_t i = 0;
    while (i < s.size()) {
        if (counter == 0) return true;
        char32_t cp;
        const std::size_t n = utf8::decode(s, i, cp);
        if (n == 0 || !is_printable_cp(cp)) return false;
        i += n;
        --counter;
    }
    return true;
}

std::string hex_upper(unsigned v, int digits) {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
    std::string s(buf, r.ptr);
    for (auto& ch : s)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    while (static_cast<int>(s.size()) < digits)
        s.insert(s.begin(), '0');
    return s;
}

/// Inspect of a printable binary: quoted, escaped, cut after printable_limit characters.
std::string quote_string(std::string_view s) {
    std::string out = "\"";
    int counter = printable_limit_chars;
    std::size_t i = 0;
    while (i < s.size() && counter > 0) {
        char32_t cp;
        const std::size_t n = utf8::decode(s, i, cp);
        if (n == 0) { // cannot happen for a printable string; keep bytes visible anyway
            out += "\\x" + hex_upper(static_cast<unsigned char>(s[i]), 2);
            ++i;
            --counter;
            continue;
        }
        switch (cp) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '#':
            if (i + 1 < s.size() && s[i + 1] == '{')
                out += "\\#";
            else
                out += '#';
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\v':
            out += "\\v";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case 0x1B:
            out += "\\e";
            break;
        case 0x7F:
            out += "\\d";
            break;
        case 0x07:
            out += "\\a";
            break;
        case 0:
            out += "\\0";
            break;
        default:
            if (is_invisible(cp))
                out += "\\u" + hex_upper(static_cast<unsigned>(cp), 4);
            else
                utf8::append(out, cp);
        }
        i += n;
        --counter;
    }
    out += '"';
    if (i < s.size()) out += " <> ...";
    return out;
}

// ---- Inspect.Algebra (the subset inspect uses) ----------------------------------------------

struct Doc;
using DocPtr = std::shared_ptr<const Doc>;

struct Doc {
    enum class K : unsigned char { Nil, Text, Cons, Break, Nest, Group } k = K::Nil;
    std::string s;     // Text, Break
    bool flex = false; // Break
    int indent = 0;    // Nest
    DocPtr a, b;       // Cons (a, b); Nest, Group (a)
};

DocPtr nil_doc() {
    static const DocPtr d = std::make_shared<Doc>();
    return d;
}
DocPtr text(std::string s) {
    auto d = std::make_shared<Doc>();
    d->k = Doc::K::Text;
    d->s = std::move(s);
    return d;
}
DocPtr concat(DocPtr x, DocPtr y) {
    auto d = std::make_shared<Doc>();
    d->k = Doc::K::Cons;
    d->a = std::move(x);
    d->b = std::move(y);
    return d;
}
DocPtr brk(std::string s, bool flex) {
    auto d = std::make_shared<Doc>();
    d->k = Doc::K::Break;
    d->s = std::move(s);
    d->flex = flex;
    return d;
}
DocPtr nest(DocPtr x, int i) {
    if (i == 0) return x;
    auto d = std::make_shared<Doc>();
    d->k = Doc::K::Nest;
    d->a = std::move(x);
    d->indent = i;
    return d;
}
DocPtr group(DocPtr x) {
    auto d = std::make_shared<Doc>();
    d->k = Doc::K::Group;
    d->a = std::move(x);
    return d;
}
DocPtr glue(DocPtr x, std::string b, DocPtr y) {
    return concat(std::move(x), concat(brk(std::move(b), false), std::move(y)));
}
DocPtr flex_glue(DocPtr x, std::string b, DocPtr y) {
    return concat(std::move(x), concat(brk(std::move(b), true), std::move(y)));
}

bool simple(const DocPtr& d) {
    switch (d->k) {
    case Doc::K::Cons:
        return simple(d->a) && simple(d->b);
    case Doc::K::Text:
    case Doc::K::Nil:
        return true;
    default:
        return false;
    }
}

enum class Mode : unsigned char { Flat, Break };

/// A format/fits stack entry: a document in a mode, the end of a group, or (fits only) the
/// point where the enclosing content resumes with a saved "a break was seen" flag.
struct Entry {
    enum class T : unsigned char { Doc, GroupOver, Tail } t = T::Doc;
    int indent = 0;
    Mode mode = Mode::Flat;
    const Doc* doc = nullptr;
    bool tail_b = false;
};

/// Inspect.Algebra.fits?/4; the stack's back is the head of the list.
bool fits(long w, long k, bool b, std::vector<Entry> stack) {
    while (true) {
        if (w >= 0 && k > w && b) return false;
        if (stack.empty()) return true;
        Entry e = stack.back();
        stack.pop_back();
        if (e.t == Entry::T::Tail) {
            b = e.tail_b;
            continue;
        }
        if (e.t == Entry::T::GroupOver) return b;
        const Doc& d = *e.doc;
        switch (d.k) {
        case Doc::K::Nil:
            break;
        case Doc::K::Text:
            k += static_cast<long>(d.s.size());
            break;
        case Doc::K::Break:
            if (e.mode == Mode::Break) return true;
            k += static_cast<long>(d.s.size());
            b = true;
            break;
        case Doc::K::Nest:
            stack.push_back({Entry::T::Doc, e.indent + d.indent, e.mode, d.a.get()});
            break;
        case Doc::K::Cons:
            stack.push_back({Entry::T::Doc, e.indent, e.mode, d.b.get()});
            stack.push_back({Entry::T::Doc, e.indent, e.mode, d.a.get()});
            break;
        case Doc::K::Group:
            stack.push_back({Entry::T::Tail, 0, Mode::Flat, nullptr, b});
            stack.push_back({Entry::T::Doc, e.indent, Mode::Flat, d.a.get()});
            break;
        }
    }
}

/// Inspect.Algebra.format/2 (width < 0 = :infinity).
std::string format(const DocPtr& root, long w) {
    std::string out;
    long k = 0;
    std::vector<Entry> stack{{Entry::T::Doc, 0, Mode::Flat, root.get()}};
    while (!stack.empty()) {
        Entry e = stack.back();
        stack.pop_back();
        if (e.t != Entry::T::Doc) continue;
        const Doc& d = *e.doc;
        switch (d.k) {
        case Doc::K::Nil:
            break;
        case Doc::K::Text:
            out += d.s;
            k += static_cast<long>(d.s.size());
            break;
        case Doc::K::Cons:
            stack.push_back({Entry::T::Doc, e.indent, e.mode, d.b.get()});
            stack.push_back({Entry::T::Doc, e.indent, e.mode, d.a.get()});
            break;
        case Doc::K::Nest:
            stack.push_back({Entry::T::Doc, e.indent + d.indent, e.mode, d.a.get()});
            break;
        case Doc::K::Break:
            if (d.flex) {
                k += static_cast<long>(d.s.size());
                if (w < 0 || e.mode == Mode::Flat || fits(w, k, true, stack)) {
                    out += d.s;
                } else {
                    out += '\n';
                    out.append(static_cast<std::size_t>(e.indent), ' ');
                    k = e.indent;
                }
            } else if (e.mode == Mode::Break) {
                out += '\n';
                out.append(static_cast<std::size_t>(e.indent), ' ');
                k = e.indent;
            } else {
                out += d.s;
                k += static_cast<long>(d.s.size());
            }
            break;
        case Doc::K::Group: {
            bool flat =
                w < 0 || fits(w, k, false, {{Entry::T::Doc, e.indent, Mode::Flat, d.a.get()}});
            stack.push_back({Entry::T::GroupOver});
            stack.push_back({Entry::T::Doc, e.indent, flat ? Mode::Flat : Mode::Break, d.a.get()});
            break;
        }
        }
    }
    return out;
}

enum class BreakKind : unsigned char { Maybe, Flex, Strict };

/// Inspect.Algebra.container_doc/6 (Elixir 1.18): each item is rendered with the limit that
/// remains after it; once the limit is used up the rest is "...".
template <class F>
DocPtr container_doc(const std::string& left, std::size_t count, const std::string& right,
                     int limit, F item_doc, BreakKind kind) {
    if (count == 0) return concat(text(left), text(right));
    std::vector<DocPtr> docs;
    bool all_simple = kind == BreakKind::Maybe;
    for (std::size_t i = 0; i < count; ++i) {
        if (limit == 0) {
            docs.push_back(text("..."));
            break;
        }
        --limit;
        DocPtr d = item_doc(i, limit);
        all_simple = all_simple && simple(d);
        docs.push_back(std::move(d));
    }
    bool flex = all_simple || kind == BreakKind::Flex;
    DocPtr joined = docs.back();
    for (std::size_t i = docs.size() - 1; i-- > 0;) {
        DocPtr left_part = concat(docs[i], text(","));
        joined = flex ? flex_glue(left_part, " ", joined) : glue(left_part, " ", joined);
    }
    if (flex) return group(concat(concat(text(left), nest(joined, 1)), text(right)));
    return group(glue(nest(glue(text(left), "", joined), 2), "", text(right)));
}

DocPtr to_doc(const Term& t, int limit);

DocPtr binary_doc(std::string_view s, int limit) {
    if (printable(s)) return text(quote_string(s));
    // Inspect.BitString for a non-printable binary: <<b1, b2, ...>> with flex breaks.
    DocPtr inner;
    std::vector<DocPtr> items;
    int counter = limit;
    bool truncated = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (counter == 0) {
            truncated = true;
            break;
        }
        items.push_back(text(std::to_string(static_cast<unsigned char>(s[i]))));
        --counter;
    }
    if (truncated) items.push_back(text("..."));
    inner = items.empty() ? nil_doc() : items.back();
    for (std::size_t i = items.size() - 1; items.size() > 1 && i-- > 0;)
        inner = flex_glue(concat(items[i], text(",")), " ", inner);
    return group(concat(concat(text("<<"), nest(inner, 2)), text(">>")));
}

DocPtr to_doc(const Term& t, int limit) {
    switch (t.kind) {
    case Term::Kind::String:
        return binary_doc(t.text, limit);
    case Term::Kind::Integer:
    case Term::Kind::Atom:
        return text(t.text);
    case Term::Kind::Float:
        return text(format_float(t.number));
    case Term::Kind::List:
        return container_doc(
            "[", t.items.size(), "]", limit,
            [&](std::size_t i, int l) { return to_doc(t.items[i], l); }, BreakKind::Maybe);
    case Term::Kind::Tuple:
        return container_doc(
            "{", t.items.size(), "}", limit,
            [&](std::size_t i, int l) { return to_doc(t.items[i], l); }, BreakKind::Flex);
    case Term::Kind::Map:
        return container_doc(
            "%{", t.items.size() / 2, "}", limit,
            [&](std::size_t i, int l) {
                return concat(concat(to_doc(t.items[2 * i], l), text(" => ")),
                              to_doc(t.items[2 * i + 1], l));
            },
            BreakKind::Strict);
    }
    return nil_doc();
}

} // namespace

Term Term::map(std::vector<std::pair<Term, Term>> pairs) {
    std::stable_sort(pairs.begin(), pairs.end(),
                     [](const auto& x, const auto& y) { return x.first.text < y.first.text; });
    Term m{Kind::Map, {}, 0, {}};
    for (auto& [k, v] : pairs) {
        m.items.push_back(std::move(k));
        m.items.push_back(std::move(v));
    }
    return m;
}

Term from_json(const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::null:
        return Term::nil();
    case boost::json::kind::bool_:
        return Term::boolean(v.get_bool());
    case boost::json::kind::int64:
        return Term::integer(std::to_string(v.get_int64()));
    case boost::json::kind::uint64:
        return Term::integer(std::to_string(v.get_uint64()));
    case boost::json::kind::double_:
        return Term::floating(v.get_double());
    case boost::json::kind::string:
        return Term::string(std::string_view(v.get_string()));
    case boost::json::kind::array: {
        std::vector<Term> items;
        for (const auto& e : v.get_array())
            items.push_back(from_json(e));
        return Term::list(std::move(items));
    }
    case boost::json::kind::object: {
        std::vector<std::pair<Term, Term>> pairs;
        for (const auto& kv : v.get_object())
            pairs.emplace_back(Term::string(std::string_view(kv.key())), from_json(kv.value()));
        return Term::map(std::move(pairs));
    }
    }
    return Term::nil();
}

std::string inspect(const Term& term) {
    return format(group(to_doc(term, default_limit)), infinite_width);
}

std::string inspect_pretty(const Term& term) {
    return format(group(to_doc(term, default_limit)), pretty_width);
}

std::string format_float(double d) {
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    // Shortest round-trip digits and decimal exponent, as Erlang's fwrite_g computes them.
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, std::abs(d), std::chars_format::scientific);
    std::string sci(buf, r.ptr); // "d.ddde+XX"
    auto e = sci.find('e');
    std::string digits;
    for (std::size_t i = 0; i < e; ++i)
        if (sci[i] != '.') digits += sci[i];
    int exp10 = std::stoi(sci.substr(e + 1));
    int place = exp10 + 1; // value = 0.DIGITS × 10^place
    int len = static_cast<int>(digits.size());
    std::string out = d < 0 ? "-" : "";
    auto insert_exp = [&](const std::string& exp_text) {
        std::string s(1, digits[0]);
        if (len == 1)
            s += ".0e";
        else
            s += "." + digits.substr(1) + "e";
        return s + exp_text;
    };
    if (place == 0) return out + "0." + digits;
    if (place < 0 || place >= len) {
        std::string exp_text = std::to_string(place - 1);
        int exp_dot = len == 1 ? 2 : 1;
        int exp_cost = static_cast<int>(exp_text.size()) + 1 + exp_dot;
        if (place < 0) {
            if (2 - place <= exp_cost) return out + "0." + std::string(-place, '0') + digits;
            return out + insert_exp(exp_text);
        }
        if (place - len + 2 <= exp_cost) return out + digits + std::string(place - len, '0') + ".0";
        return out + insert_exp(exp_text);
    }
    return out + digits.substr(0, place) + "." + digits.substr(place);
}

} // namespace walcast::protocol::supabase::elixir
