#include "common/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace walcast::utf8 {

namespace {

bool is_continuation(unsigned char b) {
    return (b & 0xC0) == 0x80;
}

} // namespace

std::size_t decode(std::string_view s, std::size_t i, char32_t& cp) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    std::size_t len;
    char32_t v;
    char32_t min;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2, v = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, v = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, v = b0 & 0x07, min = 0x10000;
    } else {
        return 0; // a continuation byte first, or F8–FF
    }
    if (s.size() - i < len) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (!is_continuation(b)) return 0;
        v = (v << 6) | (b & 0x3F);
    }
    // Overlong forms (C0, C1 and E0/F0 with a short value among them), surrogates, > U+10FFFF
    // (F4 90.. and F5–F7).
    if (v < min || !is_scalar_value(v)) return 0;
    cp = v;
    return len;
}

void append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool is_valid(std::string_view text) {
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        // ASCII runs: 8 bytes at a time.
        while (n - i >= 8) {
            std::uint64_t w;
            std::memcpy(&w, text.data() + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i == n) break;
        if (static_cast<unsigned char>(text[i]) < 0x80) {
            ++i;
            continue;
        }
        char32_t cp;
        const std::size_t len = decode(text, i, cp);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

std::size_t next_boundary(std::string_view s, std::size_t at) {
    while (at < s.size() && is_continuation(static_cast<unsigned char>(s[at])))
        ++at;
    return at;
}

} // namespace walcast::utf8
