// The record literal of NEW::text split back into fields: NULLs, empty strings, quotes,
// backslashes, nested composite and array text, and malformed input of any kind.
#include "capture/trigger/record_text.hpp"

#include <gtest/gtest.h>

#include <random>

namespace walcast::capture::trigger {
namespace {

// Fields as strings, NULL as "<null>"; or the error message.
std::vector<std::string> fields(std::string_view text) {
    RecordReader r(text);
    std::vector<std::string> out;
    std::optional<std::string_view> v;
    for (;;) {
        auto more = r.next(v);
        if (!more) return {"error: " + more.error().message};
        if (!*more) break;
        out.push_back(v ? std::string(*v) : "<null>");
    }
    return out;
}

using V = std::vector<std::string>;

TEST(RecordReaderTest, SplitsPlainFieldsAndNulls) {
    EXPECT_EQ(fields("(1,abc,,x)"), (V{"1", "abc", "<null>", "x"}));
    EXPECT_EQ(fields("(,)"), (V{"<null>", "<null>"}));
    EXPECT_EQ(fields("(1)"), (V{"1"}));
    EXPECT_EQ(fields("()"), V{});
    EXPECT_EQ(fields("  (1,2)  "), (V{"1", "2"}));
}

TEST(RecordReaderTest, UnquotesQuotedFieldsAndEscapes) {
    EXPECT_EQ(fields(R"x((1,"",""""))x"), (V{"1", "", "\""}));
    EXPECT_EQ(fields(R"x(("a, b","x(y)z","q""uote","back\\slash"))x"),
              (V{"a, b", "x(y)z", "q\"uote", "back\\slash"}));
    // bytea and arrays as record_out quotes them.
    EXPECT_EQ(fields(R"x(("\\x0102ff","{1,2}","{""a b"",NULL}"))x"),
              (V{"\\x0102ff", "{1,2}", "{\"a b\",NULL}"}));
    // A nested composite keeps its own quoting as text.
    EXPECT_EQ(fields(R"x((1,"(2,""x y"")"))x"), (V{"1", "(2,\"x y\")"}));
    // Quotes may start mid-field (record_in accepts it).
    EXPECT_EQ(fields(R"x((a"b,c"d))x"), (V{"ab,cd"}));
    // Whitespace inside fields is data.
    EXPECT_EQ(fields("( a ,b )"), (V{" a ", "b "}));
}

TEST(RecordReaderTest, RejectsMalformedText) {
    for (const char* bad :
         {"", "1,2", "(1,2", "(1,\"2)", "(1,2)x", "(\"a\\", "(", "(1,", "(\"abc\"", "x(1)"})
        EXPECT_EQ(fields(bad).at(0).rfind("error: malformed record text", 0), 0u) << bad;
}

TEST(RecordReaderTest, AnyBytesGiveFieldsOrAnErrorNeverACrash) {
    std::mt19937 rng(7);
    const char alphabet[] = "(),\"\\ ab";
    for (int i = 0; i < 20000; ++i) {
        std::string s;
        const int n = static_cast<int>(rng() % 24);
        for (int k = 0; k < n; ++k)
            s += alphabet[rng() % (sizeof alphabet - 1)];
        (void)fields(s);
    }
}

} // namespace
} // namespace walcast::capture::trigger
