// Fuzz target: common/utf8 (decode, append, is_valid, next_boundary), the codec behind the
// WebSocket transport's text-frame check (RFC 6455 §8.1), the GraphQL lexer and printer and
// protocol/supabase's Elixir inspect. Input: any bytes. Properties beyond "no crash":
//  - decode at every offset agrees with a reference written here from the table of
//    well-formed byte sequences (Unicode 15 §3.9, Table 3-7; RFC 3629 §4): same length, and
//    the code point the reference computes;
//  - a decoded code point is a scalar value and append() writes back exactly the bytes read;
//  - is_valid(s) is true exactly when decoding from offset 0 steps through all of s;
//  - next_boundary(s, i) is the first index ≥ i that is not a continuation byte (or the end).
#include "common/utf8.hpp"
#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

// Table 3-7: the second byte's range depends on the first; the others are 80..BF.
std::size_t reference_decode(std::string_view s, std::size_t i, char32_t& cp) {
    auto at = [&](std::size_t k) {
        return static_cast<unsigned>(static_cast<unsigned char>(s[k]));
    };
    const unsigned b0 = at(i);
    if (b0 <= 0x7F) {
        cp = b0;
        return 1;
    }
    std::size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
    } else if (b0 == 0xE0) {
        len = 3, lo = 0xA0;
    } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
        len = 3;
    } else if (b0 == 0xED) {
        len = 3, hi = 0x9F;
    } else if (b0 == 0xF0) {
        len = 4, lo = 0x90;
    } else if (b0 >= 0xF1 && b0 <= 0xF3) {
        len = 4;
    } else if (b0 == 0xF4) {
        len = 4, hi = 0x8F;
    } else {
        return 0;
    }
    if (s.size() - i < len) return 0;
    if (at(i + 1) < lo || at(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < len; ++k)
        if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
    char32_t v = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < len; ++k)
        v = (v << 6) | (at(i + k) & 0x3F);
    cp = v;
    return len;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using walcast::fuzz::check;
    namespace utf8 = walcast::utf8;
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    for (std::size_t i = 0; i < s.size(); ++i) {
        char32_t cp = 0, ref = 0;
        const std::size_t n = utf8::decode(s, i, cp);
        const std::size_t rn = reference_decode(s, i, ref);
        check(n == rn, "decode accepts exactly the well-formed sequences of Table 3-7");
        if (n == 0) continue;
        check(cp == ref, "decode gives the code point of the sequence");
        check(utf8::is_scalar_value(cp), "a decoded code point is a scalar value");
        std::string back;
        utf8::append(back, cp);
        check(back == s.substr(i, n), "append writes back the bytes decoded");
    }
    bool whole = true;
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp;
        const std::size_t n = utf8::decode(s, i, cp);
        if (n == 0) {
            whole = false;
            break;
        }
        i += n;
    }
    check(utf8::is_valid(s) == whole, "is_valid is decode stepping through the whole text");
    for (std::size_t i = 0; i <= s.size(); ++i) {
        std::size_t want = i;
        while (want < s.size() && (static_cast<unsigned char>(s[want]) & 0xC0) == 0x80)
            ++want;
        check(utf8::next_boundary(s, i) == want, "next_boundary skips continuation bytes only");
    }
    return 0;
}
