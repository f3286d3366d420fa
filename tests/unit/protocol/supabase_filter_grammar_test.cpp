// The filter grammar of spec §5.2 and its exact error messages (§5.4), as RT's
// subscriptions_test.exs pins them.
#include "protocol/supabase/filter_grammar.hpp"

#include <gtest/gtest.h>

namespace walcast::protocol::supabase {
namespace {

using core::FilterCondition;
using core::FilterOp;

std::vector<FilterCondition> parse_ok(std::string_view s) {
    auto r = parse_filter(s);
    EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : std::vector<FilterCondition>{};
}

std::string parse_err(std::string_view s) {
    auto r = parse_filter(s);
    EXPECT_FALSE(r.ok()) << s << " parsed";
    return r.ok() ? "" : r.error().message;
}

TEST(FilterParserTest, ParsesOneSegment) {
    EXPECT_EQ(parse_ok("subject=eq.hey"),
              (std::vector<FilterCondition>{{"subject", FilterOp::Eq, "hey", false}}));
}

TEST(FilterParserTest, CommaSeparatedSegmentsAreAndedInOrder) {
    EXPECT_EQ(parse_ok("id=gt.0,id=lt.100"),
              (std::vector<FilterCondition>{{"id", FilterOp::Gt, "0", false},
                                            {"id", FilterOp::Lt, "100", false}}));
}

TEST(FilterParserTest, TrimsTheStringAndEachSegment) {
    EXPECT_EQ(parse_ok("  id=gt.0 ,\tname=eq.x  "),
              (std::vector<FilterCondition>{{"id", FilterOp::Gt, "0", false},
                                            {"name", FilterOp::Eq, "x", false}}));
}

TEST(FilterParserTest, EmptyOrWhitespaceFilterHasNoConditions) {
    EXPECT_TRUE(parse_ok("").empty());
    EXPECT_TRUE(parse_ok("   ").empty());
    EXPECT_TRUE(parse_ok("\t\n\r ").empty());
}

TEST(FilterParserTest, InListBecomesArrayLiteralAndKeepsItsCommas) {
    EXPECT_EQ(parse_ok("subject=in.(hidee,ho)"),
              (std::vector<FilterCondition>{{"subject", FilterOp::In, "{hidee,ho}", false}}));
    EXPECT_EQ(parse_ok("tags=in.(\"a,b\",c),id=eq.1"),
              (std::vector<FilterCondition>{{"tags", FilterOp::In, "{\"a,b\",c}", false},
                                            {"id", FilterOp::Eq, "1", false}}));
    EXPECT_EQ(parse_ok("name=in.(red, blue)")[0].value, "{red, blue}");
    EXPECT_EQ(parse_ok("id=in.()")[0].value, "{}");
}

TEST(FilterParserTest, NotPrefixNegatesAnyOperator) {
    EXPECT_EQ(parse_ok("subject=not.like.hey%"),
              (std::vector<FilterCondition>{{"subject", FilterOp::Like, "hey%", true}}));
    EXPECT_EQ(parse_ok("x=not.is.null")[0], (FilterCondition{"x", FilterOp::Is, "null", true}));
    EXPECT_EQ(parse_ok("x=not.in.(1,2)")[0], (FilterCondition{"x", FilterOp::In, "{1,2}", true}));
}

TEST(FilterParserTest, EveryOperatorParses) {
    const std::pair<const char*, FilterOp> ops[] = {
        {"eq", FilterOp::Eq},         {"neq", FilterOp::Neq},
        {"lt", FilterOp::Lt},         {"lte", FilterOp::Lte},
        {"gt", FilterOp::Gt},         {"gte", FilterOp::Gte},
        {"like", FilterOp::Like},     {"ilike", FilterOp::Ilike},
        {"is", FilterOp::Is},         {"match", FilterOp::Match},
        {"imatch", FilterOp::Imatch}, {"isdistinct", FilterOp::IsDistinct},
    };
    for (auto [name, op] : ops) {
        auto c = parse_ok(std::string("col=") + name + ".v");
        ASSERT_EQ(c.size(), 1u) << name;
        EXPECT_EQ(c[0].op, op) << name;
        EXPECT_EQ(to_string(op), name);
    }
}

TEST(FilterParserTest, ValueKeepsDotsAndEqualsSigns) {
    EXPECT_EQ(parse_ok("v=eq.1.5.6")[0].value, "1.5.6");
    EXPECT_EQ(parse_ok("v=eq.a=b")[0].value, "a=b");
    EXPECT_EQ(parse_ok("v=eq.")[0].value, "");
}

TEST(FilterParserTest, QuotedValueIsUnquotedWithBackslashEscapes) {
    EXPECT_EQ(parse_ok("name=eq.\"a,b\"")[0].value, "a,b");
    EXPECT_EQ(parse_ok("name=eq.\"say \\\"hi\\\"\"")[0].value, "say \"hi\"");
    EXPECT_EQ(parse_ok("name=eq.\"back\\\\slash\"")[0].value, "back\\slash");
    EXPECT_EQ(parse_ok("name=eq.\"(x)\",id=eq.1").size(), 2u);
}

TEST(FilterParserTest, NotExactlyOneQuotedStringIsKeptVerbatim) {
    EXPECT_EQ(parse_ok("name=eq.\"abc\"def")[0].value, "\"abc\"def");
    EXPECT_EQ(parse_ok("name=eq.\"abc")[0].value, "\"abc");
    EXPECT_EQ(parse_ok("name=eq.\"a\"\"b\"")[0].value, "\"a\"\"b\"");
}

TEST(FilterParserTest, QuoteOpensOnlyAfterDotParenOrComma) {
    // `a"b,c`: the quote follows `a`, so the comma splits and `c` is a bad segment.
    EXPECT_EQ(parse_err("name=eq.a\"b,c"), "Error parsing `filter` params: [\"c\"]");
}

TEST(FilterParserTest, ReportsUnsplittableSegmentsAsElixirLists) {
    EXPECT_EQ(parse_err("wrong"), "Error parsing `filter` params: [\"wrong\"]");
    EXPECT_EQ(parse_err("undefined"), "Error parsing `filter` params: [\"undefined\"]");
    EXPECT_EQ(parse_err("subject=foo.hey"), "Error parsing `filter` params: [\"foo\", \"hey\"]");
    EXPECT_EQ(parse_err("id=eq"), "Error parsing `filter` params: [\"eq\"]");
    EXPECT_EQ(parse_err("id=not.eq"), "Error parsing `filter` params: [\"eq\"]");
    EXPECT_EQ(parse_err("id=EQ.1"), "Error parsing `filter` params: [\"EQ\", \"1\"]");
    EXPECT_EQ(parse_err("a\"b"), "Error parsing `filter` params: [\"a\\\"b\"]");
}

TEST(FilterParserTest, InRequiresParentheses) {
    EXPECT_EQ(parse_err("id=in.1,2"),
              "Error parsing `filter` params: `in` filter value must be wrapped by parentheses");
    EXPECT_EQ(parse_err("id=in.(1,2"),
              "Error parsing `filter` params: `in` filter value must be wrapped by parentheses");
}

TEST(FilterParserTest, RejectsEmptySegments) {
    const std::string msg = "Error parsing `filter` params: filter must not contain empty "
                            "segments (check for extra commas)";
    EXPECT_EQ(parse_err("id=gt.0,"), msg);
    EXPECT_EQ(parse_err(",id=gt.0"), msg);
    EXPECT_EQ(parse_err("a=eq.1,,b=eq.2"), msg);
    EXPECT_EQ(parse_err("a=eq.1, ,b=eq.2"), msg);
}

TEST(FilterParserTest, FirstBadSegmentWins) {
    EXPECT_EQ(parse_err("a=eq.1,wrong,b=foo.x"), "Error parsing `filter` params: [\"wrong\"]");
}

TEST(FilterParserTest, ElixirTrimHandlesUnicodeWhitespace) {
    EXPECT_EQ(elixir_trim("\u2003 x=eq.1\u3000"), "x=eq.1");
    EXPECT_EQ(elixir_trim("\u00a0x"), "\u00a0x"); // non-breaking space is kept
    EXPECT_EQ(elixir_trim(""), "");
}

TEST(FilterParserTest, ArbitraryBytesParseOrFailWithTheFilterPrefix) {
    // Deterministic pseudo-random inputs drawn from the grammar's interesting bytes.
    const char raw[] = "ab=.,()\"\\ not.eqinlikematchisdistinct\x00\xc3\xa9\t";
    const std::string alphabet(raw, sizeof raw - 1);
    std::uint32_t seed = 12345;
    for (int n = 0; n < 20000; ++n) {
        std::string s;
        int len = static_cast<int>(seed % 24);
        for (int i = 0; i < len; ++i) {
            seed = seed * 1103515245u + 12345u;
            s += alphabet[(seed >> 16) % alphabet.size()];
        }
        seed = seed * 1103515245u + 12345u;
        auto r = parse_filter(s);
        if (!r.ok()) {
            ASSERT_EQ(r.error().message.rfind("Error parsing `filter` params: ", 0), 0u) << s;
        } else {
            for (const auto& c : r.value()) {
                if (c.op == FilterOp::In) {
                    ASSERT_EQ(c.value.front(), '{') << s;
                }
            }
        }
    }
}

} // namespace
} // namespace walcast::protocol::supabase
