// common/utf8: decode accepts exactly the byte sequences append writes for the scalar values
// (exhaustively over every 2-byte and 3-byte input), refuses each malformed form RFC 3629
// names, is_valid agrees with decode wherever the bad byte sits relative to the 8-byte ASCII
// fast path, and next_boundary never splits a character.
#include "common/utf8.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace walcast {
namespace {

std::string bytes(std::initializer_list<unsigned> list) {
    std::string s;
    for (unsigned b : list)
        s += static_cast<char>(b);
    return s;
}

std::string encoded(char32_t cp) {
    std::string s;
    utf8::append(s, cp);
    return s;
}

TEST(Utf8Test, DecodesEachLengthAtItsBoundariesAndAtAnOffset) {
    struct Case {
        char32_t cp;
        std::string utf8;
    };
    const std::vector<Case> cases = {
        {0x00, bytes({0x00})},
        {0x7F, bytes({0x7F})},
        {0x80, bytes({0xC2, 0x80})},
        {0x7FF, bytes({0xDF, 0xBF})},
        {0x800, bytes({0xE0, 0xA0, 0x80})},
        {0xD7FF, bytes({0xED, 0x9F, 0xBF})},
        {0xE000, bytes({0xEE, 0x80, 0x80})},
        {0xFFFF, bytes({0xEF, 0xBF, 0xBF})},
        {0x10000, bytes({0xF0, 0x90, 0x80, 0x80})},
        {0x1D11E, bytes({0xF0, 0x9D, 0x84, 0x9E})},
        {0x10FFFF, bytes({0xF4, 0x8F, 0xBF, 0xBF})},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(encoded(c.cp), c.utf8) << std::hex << static_cast<unsigned>(c.cp);
        const std::string in = "ab" + c.utf8 + "z";
        char32_t cp = 0xFFFFFFFF;
        EXPECT_EQ(utf8::decode(in, 2, cp), c.utf8.size()) << std::hex << unsigned(c.cp);
        EXPECT_EQ(cp, c.cp);
        EXPECT_TRUE(utf8::is_valid(in));
    }
}

TEST(Utf8Test, RefusesEveryMalformedForm) {
    const std::vector<std::pair<std::string, const char*>> bad = {
        {bytes({0x80}), "continuation byte first"},
        {bytes({0xBF, 0x41}), "continuation byte first"},
        {bytes({0xC3, 0x28}), "bad continuation"},
        {bytes({0xE2, 0x28, 0xA1}), "bad second of three"},
        {bytes({0xE2, 0x82, 0x28}), "bad third of three"},
        {bytes({0xC0, 0xAF}), "overlong '/' (C0)"},
        {bytes({0xC1, 0xBF}), "overlong U+007F (C1)"},
        {bytes({0xE0, 0x80, 0xAF}), "overlong, 3 bytes"},
        {bytes({0xE0, 0x9F, 0xBF}), "overlong U+07FF, 3 bytes"},
        {bytes({0xF0, 0x80, 0x80, 0xAF}), "overlong, 4 bytes"},
        {bytes({0xF0, 0x8F, 0xBF, 0xBF}), "overlong U+FFFF, 4 bytes"},
        {bytes({0xED, 0xA0, 0x80}), "surrogate U+D800"},
        {bytes({0xED, 0xBF, 0xBF}), "surrogate U+DFFF"},
        {bytes({0xF4, 0x90, 0x80, 0x80}), "U+110000"},
        {bytes({0xF5, 0x80, 0x80, 0x80}), "F5 lead"},
        {bytes({0xF7, 0xBF, 0xBF, 0xBF}), "F7 lead"},
        {bytes({0xF8, 0x88, 0x80, 0x80, 0x80}), "5-byte form"},
        {bytes({0xFC, 0x80, 0x80, 0x80}), "FC lead (once read as U+100000)"},
        {bytes({0xFE}), "FE"},
        {bytes({0xFF}), "FF"},
        {bytes({0xE2, 0x82}), "cut by the end"},
        {bytes({0xF0, 0x9D, 0x84}), "cut by the end"},
        {bytes({0xC3}), "cut by the end"},
    };
    for (const auto& [in, what] : bad) {
        char32_t cp;
        EXPECT_EQ(utf8::decode(in, 0, cp), 0u) << what;
        EXPECT_FALSE(utf8::is_valid(in)) << what;
        EXPECT_FALSE(utf8::is_valid("valid prefix " + in)) << what;
    }
}

// decode accepts a 2- or 3-byte input exactly when it is what append writes for the code point
// it decodes to, and the count of accepted inputs is the count of scalar values of that length.
TEST(Utf8Test, AcceptsExactlyTheEncodingsOfScalarValuesExhaustively) {
    std::size_t two = 0, three = 0;
    std::string in(2, '\0');
    for (unsigned b0 = 0x80; b0 <= 0xFF; ++b0)
        for (unsigned b1 = 0; b1 <= 0xFF; ++b1) {
            in[0] = static_cast<char>(b0), in[1] = static_cast<char>(b1);
            char32_t cp;
            const std::size_t n = utf8::decode(in, 0, cp);
            if (n == 0) continue;
            ASSERT_EQ(n, 2u) << std::hex << b0 << ' ' << b1;
            ASSERT_EQ(encoded(cp), in);
            ++two;
        }
    EXPECT_EQ(two, 0x800u - 0x80u);
    in.assign(3, '\0');
    for (unsigned b0 = 0xE0; b0 <= 0xEF; ++b0)
        for (unsigned b1 = 0; b1 <= 0xFF; ++b1)
            for (unsigned b2 = 0; b2 <= 0xFF; ++b2) {
                in[0] = static_cast<char>(b0), in[1] = static_cast<char>(b1),
                in[2] = static_cast<char>(b2);
                char32_t cp;
                const std::size_t n = utf8::decode(in, 0, cp);
                if (n == 0) continue;
                ASSERT_EQ(n, 3u);
                ASSERT_EQ(encoded(cp), in);
                ++three;
            }
    EXPECT_EQ(three, (0x10000u - 0x800u) - 0x800u); // minus the 2,048 surrogates
}

TEST(Utf8Test, EveryScalarValueRoundTrips) {
    std::size_t values = 0;
    std::string s;
    for (char32_t cp = 0; cp <= utf8::max_code_point; ++cp) {
        if (!utf8::is_scalar_value(cp)) continue;
        s.clear();
        utf8::append(s, cp);
        char32_t back = 0;
        ASSERT_EQ(utf8::decode(s, 0, back), s.size()) << std::hex << unsigned(cp);
        ASSERT_EQ(back, cp);
        ++values;
    }
    EXPECT_EQ(values, 0x110000u - 0x800u);
    EXPECT_FALSE(utf8::is_scalar_value(0xD800));
    EXPECT_FALSE(utf8::is_scalar_value(0xDFFF));
    EXPECT_FALSE(utf8::is_scalar_value(0x110000));
}

// The ASCII fast path reads 8 bytes at a time: a bad or multi-byte sequence at any offset
// within or across those words is found.
TEST(Utf8Test, IsValidFindsABadByteAtEveryOffsetAroundTheAsciiFastPath) {
    const std::string good = bytes({0xE2, 0x82, 0xAC}); // €
    const std::string bad = bytes({0xE2, 0x82, 0x28});
    for (std::size_t at = 0; at <= 24; ++at)
        for (std::size_t tail : {0, 1, 7, 8, 9}) {
            const std::string pre(at, 'a'), post(tail, 'z');
            EXPECT_TRUE(utf8::is_valid(pre + good + post)) << at << '+' << tail;
            EXPECT_FALSE(utf8::is_valid(pre + bad + post)) << at << '+' << tail;
            EXPECT_FALSE(utf8::is_valid(pre + good.substr(0, 2))) << at; // cut by the end
        }
    EXPECT_TRUE(utf8::is_valid(""));
}

TEST(Utf8Test, NextBoundarySkipsContinuationBytesOnly) {
    const std::string s = "a" + bytes({0xC3, 0xA9}) + bytes({0xF0, 0x9D, 0x84, 0x9E}) + "b";
    EXPECT_EQ(utf8::next_boundary(s, 0), 0u);
    EXPECT_EQ(utf8::next_boundary(s, 1), 1u);
    EXPECT_EQ(utf8::next_boundary(s, 2), 3u); // inside é
    EXPECT_EQ(utf8::next_boundary(s, 4), 7u); // inside U+1D11E
    EXPECT_EQ(utf8::next_boundary(s, 6), 7u);
    EXPECT_EQ(utf8::next_boundary(s, 8), 8u); // the end
    EXPECT_EQ(utf8::next_boundary(s, 100), 100u);
}

} // namespace
} // namespace walcast
