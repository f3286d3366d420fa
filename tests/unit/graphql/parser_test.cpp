// Lexer and parser: the spec's lexical rules, source locations, syntax errors with the
// reference's texts, and the limits against hostile input.
#include "graphql/lexer.hpp"
#include "graphql/parser.hpp"
#include "graphql/printer.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace walcast::graphql;

namespace {

std::string lex_value(std::string_view src) {
    Lexer lexer(src);
    Token tok;
    GraphQLError err;
    if (!lexer.next(tok, err)) return "ERROR " + err.message;
    return tok.value;
}

GraphQLError lex_error(std::string_view src) {
    Lexer lexer(src);
    Token tok;
    GraphQLError err;
    while (lexer.next(tok, err)) {
        if (tok.kind == TokenKind::Eof) return GraphQLError{"no error", {}, {}};
    }
    return err;
}

GraphQLError parse_error(std::string_view src, const ParseLimits& limits = {}) {
    auto r = parse(src, limits);
    if (r) return GraphQLError{"parsed", {}, {}};
    return r.error();
}

const OperationDefinition& first_operation(const Document& doc) {
    return std::get<OperationDefinition>(doc.definitions.front());
}

} // namespace

TEST(GraphqlLexerTest, DecodesStringEscapesIncludingUnicodeForms) {
    EXPECT_EQ(lex_value(R"("a\"b\\c\/d\b\f\n\r\t")"), "a\"b\\c/d\b\f\n\r\t");
    EXPECT_EQ(lex_value(R"("\u00e9")"), "\xC3\xA9");
    EXPECT_EQ(lex_value(R"("\u{1F600}")"), "\xF0\x9F\x98\x80");
    EXPECT_EQ(lex_value(R"("\uD83D\uDE00")"), "\xF0\x9F\x98\x80"); // surrogate pair
    EXPECT_EQ(lex_value("\"caf\xC3\xA9\""), "caf\xC3\xA9");
}

TEST(GraphqlLexerTest, RejectsBadEscapesWithTheReferenceMessages) {
    EXPECT_EQ(lex_error(R"("\x")").message,
              "Syntax Error: Invalid character escape sequence: \"\\x\".");
    EXPECT_EQ(lex_error(R"("\uD800")").message,
              "Syntax Error: Invalid Unicode escape sequence: \"\\uD800\".");
    EXPECT_EQ(lex_error(R"("\u{110000}")").message,
              "Syntax Error: Invalid Unicode escape sequence: \"\\u{110000}\".");
    EXPECT_EQ(lex_error(R"("\u{}")").message,
              "Syntax Error: Invalid Unicode escape sequence: \"\\u{}\".");
    EXPECT_EQ(lex_error("\"abc").message, "Syntax Error: Unterminated string.");
    EXPECT_EQ(lex_error("\"ab\ncd\"").message, "Syntax Error: Unterminated string.");
}

TEST(GraphqlLexerTest, BlockStringsRemoveCommonIndentAndBlankLines) {
    EXPECT_EQ(lex_value("\"\"\"\n    Hello,\n      World!\n\n    Yours,\n      GraphQL.\n  \"\"\""),
              "Hello,\n  World!\n\nYours,\n  GraphQL.");
    EXPECT_EQ(lex_value(R"("""contains \""" triple""")"), "contains \"\"\" triple");
    EXPECT_EQ(lex_value("\"\"\"  first\n  second\"\"\""), "  first\nsecond");
    EXPECT_EQ(lex_value("\"\"\"\n\n\"\"\""), "");
}

TEST(GraphqlLexerTest, NumbersFollowTheSpecGrammar) {
    EXPECT_EQ(lex_value("-12"), "-12");
    EXPECT_EQ(lex_value("1.5e-3"), "1.5e-3");
    EXPECT_EQ(lex_error("012").message,
              "Syntax Error: Invalid number, unexpected digit after 0: \"1\".");
    EXPECT_EQ(lex_error("1.").message,
              "Syntax Error: Invalid number, expected digit but got: <EOF>.");
    EXPECT_EQ(lex_error("1.2.3").message,
              "Syntax Error: Invalid number, expected digit but got: \".\".");
    EXPECT_EQ(lex_error("12abc").message,
              "Syntax Error: Invalid number, expected digit but got: \"a\".");
    EXPECT_EQ(lex_error("1e").message,
              "Syntax Error: Invalid number, expected digit but got: <EOF>.");
}

TEST(GraphqlLexerTest, ReportsUnexpectedCharactersWithCodePoints) {
    EXPECT_EQ(lex_error("?").message, "Syntax Error: Unexpected character: \"?\".");
    EXPECT_EQ(lex_error("\xC3\xA9").message, "Syntax Error: Unexpected character: U+00E9.");
    EXPECT_EQ(lex_error("'a'").message,
              "Syntax Error: Unexpected single quote character ('), did you mean to use a double "
              "quote (\")?");
    EXPECT_EQ(lex_error("\xFF").message,
              "Syntax Error: Invalid character: invalid UTF-8 byte 0xFF.");
    EXPECT_EQ(lex_error("..").message, "Syntax Error: Unexpected character: \".\".");
}

TEST(GraphqlLexerTest, SkipsCommentsCommasAndByteOrderMark) {
    Lexer lexer("\xEF\xBB\xBF # comment\n ,,, name");
    Token tok;
    GraphQLError err;
    ASSERT_TRUE(lexer.next(tok, err));
    EXPECT_EQ(tok.kind, TokenKind::Name);
    EXPECT_EQ(tok.value, "name");
    EXPECT_EQ(tok.loc, (SourceLocation{2, 6}));
}

TEST(GraphqlLexerTest, ColumnsCountUtf16UnitsAndAllLineTerminators) {
    // "😀" is one code point, two UTF-16 units; \r\n and a lone \r both end a line.
    auto err = lex_error("\"\xF0\x9F\x98\x80\" ?");
    EXPECT_EQ(err.locations.front(), (SourceLocation{1, 6}));
    err = lex_error("a\r\nb\rc ?");
    EXPECT_EQ(err.locations.front(), (SourceLocation{3, 3}));
    err = lex_error("\"\"\"a\nb\"\"\" ?");
    EXPECT_EQ(err.locations.front(), (SourceLocation{2, 6}));
}

TEST(GraphqlParserTest, ParsesOperationsWithLocationsOnEveryNode) {
    auto doc = parse("query Q($id: ID! = 4, $f: [String]) @dir {\n"
                     "  a: user(id: $id, filter: {x: [1, 2.5, \"s\", ENUM, true, null]}) {\n"
                     "    ...F @skip(if: false)\n"
                     "    ... on User { name }\n"
                     "  }\n"
                     "}\n"
                     "fragment F on User { id }");
    ASSERT_TRUE(doc) << doc.error().message;
    ASSERT_EQ(doc->definitions.size(), 2u);
    const auto& op = first_operation(*doc);
    EXPECT_EQ(op.operation, OperationType::Query);
    EXPECT_EQ(op.name->value, "Q");
    ASSERT_EQ(op.variables.size(), 2u);
    EXPECT_EQ(op.variables[0].loc, (SourceLocation{1, 9}));
    EXPECT_EQ(op.variables[0].name.loc, (SourceLocation{1, 10}));
    EXPECT_EQ(print_type(op.variables[0].type), "ID!");
    EXPECT_EQ(print_type(op.variables[1].type), "[String]");
    EXPECT_EQ(print_value(*op.variables[0].default_value), "4");
    EXPECT_EQ(op.directives.at(0).name.value, "dir");
    const auto& field = op.selection_set.selections.at(0);
    EXPECT_EQ(field.alias->value, "a");
    EXPECT_EQ(field.name.value, "user");
    EXPECT_EQ(field.loc, (SourceLocation{2, 3}));
    EXPECT_EQ(field.response_key(), "a");
    EXPECT_EQ(print_value(field.arguments.at(1).value), "{x: [1, 2.5, \"s\", ENUM, true, null]}");
    EXPECT_EQ(field.arguments.at(0).value.kind, ValueKind::Variable);
    const auto& spread = field.selection_set.selections.at(0);
    EXPECT_EQ(spread.kind, Selection::Kind::FragmentSpread);
    EXPECT_EQ(spread.loc, (SourceLocation{3, 5}));
    EXPECT_EQ(spread.directives.at(0).loc, (SourceLocation{3, 10}));
    const auto& inline_fragment = field.selection_set.selections.at(1);
    EXPECT_EQ(inline_fragment.kind, Selection::Kind::InlineFragment);
    EXPECT_EQ(inline_fragment.type_condition->value, "User");
    const auto& frag = std::get<FragmentDefinition>(doc->definitions[1]);
    EXPECT_EQ(frag.name.value, "F");
    EXPECT_EQ(frag.loc, (SourceLocation{7, 1}));
}

TEST(GraphqlParserTest, ParsesTypeSystemDefinitionsAndExtensions) {
    auto doc = parse(R"(
        "The schema" schema { query: Q }
        """A user"""
        type User implements & Node & Named @key(fields: "id") {
          "the id" id: ID!
          friends(first: Int = 10 @deprecated, after: String): [User!]! @deprecated(reason: "no")
        }
        interface Node { id: ID! }
        union U = | A | B
        enum Color { RED "green" GREEN @deprecated }
        input Filter { eq: String = "x", and: [Filter!] }
        scalar DateTime @specifiedBy(url: "https://tools.ietf.org/html/rfc3339")
        directive @key(fields: String!) repeatable on OBJECT | INTERFACE
        extend type User { age: Int }
        extend schema @foo
    )");
    ASSERT_TRUE(doc) << doc.error().message;
    ASSERT_EQ(doc->definitions.size(), 10u);
    const auto& schema = std::get<TypeSystemDefinition>(doc->definitions[0]);
    EXPECT_EQ(schema.kind, TypeSystemDefinition::Kind::Schema);
    EXPECT_EQ(*schema.description, "The schema");
    const auto& user = std::get<TypeSystemDefinition>(doc->definitions[1]);
    EXPECT_EQ(*user.description, "A user");
    EXPECT_EQ(user.interfaces.size(), 2u);
    EXPECT_EQ(*user.fields[0].description, "the id");
    EXPECT_EQ(print_value(*user.fields[1].arguments[0].default_value), "10");
    const auto& un = std::get<TypeSystemDefinition>(doc->definitions[3]);
    EXPECT_EQ(un.members.size(), 2u);
    const auto& en = std::get<TypeSystemDefinition>(doc->definitions[4]);
    EXPECT_EQ(en.enum_values.size(), 2u);
    EXPECT_EQ(*en.enum_values[1].description, "green");
    const auto& dir = std::get<TypeSystemDefinition>(doc->definitions[7]);
    EXPECT_TRUE(dir.repeatable);
    EXPECT_EQ(dir.locations.size(), 2u);
    EXPECT_TRUE(std::get<TypeSystemDefinition>(doc->definitions[8]).extension);
}

TEST(GraphqlParserTest, SyntaxErrorsUseTheReferenceTexts) {
    EXPECT_EQ(parse_error("").message, "Syntax Error: Unexpected <EOF>.");
    EXPECT_EQ(parse_error("{").message, "Syntax Error: Expected Name, found <EOF>.");
    EXPECT_EQ(parse_error("{ a(b: ) }").message, "Syntax Error: Unexpected \")\".");
    EXPECT_EQ(parse_error("query Q($a: Int = $b) { a }").message,
              "Syntax Error: Unexpected variable \"$b\" in constant value.");
    EXPECT_EQ(parse_error("fragment on on T { a }").message,
              "Syntax Error: Unexpected Name \"on\".");
    EXPECT_EQ(parse_error("notakeyword { a }").message,
              "Syntax Error: Unexpected Name \"notakeyword\".");
    EXPECT_EQ(parse_error("\"desc\" query { a }").message,
              "Syntax Error: Unexpected description, descriptions are supported only on type "
              "definitions.");
    EXPECT_EQ(parse_error("enum E { true }").message,
              "Syntax Error: Name \"true\" is reserved and cannot be used for an enum value.");
    EXPECT_EQ(parse_error("directive @d on NOWHERE").message,
              "Syntax Error: Unexpected Name \"NOWHERE\".");
    EXPECT_EQ(parse_error("{ a }}").message, "Syntax Error: Unexpected \"}\".");
    EXPECT_EQ(parse_error("{ ... }").message, "Syntax Error: Expected \"{\", found \"}\".");
    auto err = parse_error("{\n  a(x: \"unterminated)\n}");
    EXPECT_EQ(err.locations.front(), (SourceLocation{2, 22}));
}

TEST(GraphqlParserTest, RejectsDocumentsOverTheSizeLimit) {
    ParseLimits limits;
    limits.max_document_bytes = 100;
    std::string doc = "{ a }" + std::string(200, ' ');
    auto err = parse_error(doc, limits);
    EXPECT_EQ(err.message, "Document is 205 bytes, more than walcast's limit of 100 bytes; send a "
                           "smaller document.");
    EXPECT_TRUE(err.locations.empty());
    EXPECT_TRUE(parse("{ a }", limits));
}

TEST(GraphqlParserTest, RejectsDocumentsOverTheTokenLimit) {
    ParseLimits limits;
    limits.max_tokens = 10;
    EXPECT_TRUE(parse("{ a b c d e f g h }", limits)); // 10 tokens
    auto err = parse_error("{ a b c d e f g h i }", limits);
    EXPECT_NE(err.message.find("more than 10 tokens"), std::string::npos) << err.message;
    EXPECT_EQ(err.locations.front(), (SourceLocation{1, 21}));
}

TEST(GraphqlParserTest, DeepNestingStopsAtTheDepthLimitWithoutDeepRecursion) {
    // 100,000 levels: far beyond what the C++ stack could take if the parser recursed per
    // level without a bound.
    const int levels = 100'000;
    std::string query = "{";
    for (int i = 0; i < levels; ++i)
        query += "a{";
    query += "b";
    for (int i = 0; i <= levels; ++i)
        query += "}";
    ParseLimits limits;
    limits.max_document_bytes = query.size();
    limits.max_tokens = 1'000'000;
    limits.max_fields = 1'000'000;
    auto err = parse_error(query, limits);
    EXPECT_NE(err.message.find("nested more than 64 levels"), std::string::npos) << err.message;
    EXPECT_EQ(err.locations.front(), (SourceLocation{1, 129})); // the 65th "{"

    std::string values = "{ a(x: " + std::string(70, '[') + std::string(70, ']') + ") }";
    err = parse_error(values);
    EXPECT_NE(err.message.find("nested more than 64 levels"), std::string::npos);
    std::string types =
        "query($v: " + std::string(70, '[') + "Int" + std::string(70, ']') + ") { a }";
    err = parse_error(types);
    EXPECT_NE(err.message.find("nested more than 64 levels"), std::string::npos);

    std::string ok = "{"; // 64 levels: the limit itself is accepted
    for (int i = 0; i < 63; ++i)
        ok += "a{";
    ok += "b";
    for (int i = 0; i <= 63; ++i)
        ok += "}";
    EXPECT_TRUE(parse(ok));
}

TEST(GraphqlParserTest, RejectsDocumentsOverTheFieldLimit) {
    std::string query = "{";
    for (int i = 0; i < 10'000; ++i)
        query += " a" + std::to_string(i) + ": f";
    query += " }";
    ParseLimits limits;
    limits.max_document_bytes = query.size();
    limits.max_tokens = 1'000'000;
    auto err = parse_error(query, limits);
    EXPECT_NE(err.message.find("selects more than 2000 fields"), std::string::npos) << err.message;
    auto doc = parse("{ a b: a c { d } }");
    ASSERT_TRUE(doc);
    EXPECT_EQ(doc->field_count, 4u);
}

TEST(GraphqlParserTest, ParsesLoneValuesAndTypes) {
    auto v = parse_const_value("{b: [1, \"x\"], a: ENUM}");
    ASSERT_TRUE(v);
    EXPECT_EQ(print_value(*v), "{b: [1, \"x\"], a: ENUM}");
    EXPECT_EQ(print_value_sorted(*v), "{a: ENUM, b: [1, \"x\"]}");
    EXPECT_FALSE(parse_const_value("$x"));
    auto t = parse_type_ref("[[Int!]]!");
    ASSERT_TRUE(t);
    EXPECT_EQ(print_type(*t), "[[Int!]]!");
    EXPECT_FALSE(parse_type_ref("[Int"));
}

TEST(GraphqlPrinterTest, PrintsStringsAndNumbersLikeTheReference) {
    EXPECT_EQ(print_string("a\"b\\\n\x01\x7F"), R"("a\"b\\\n\u0001\u007F")");
    EXPECT_EQ(print_block_string("hello"), R"("""hello""")");
    EXPECT_EQ(print_block_string("a\nb"), "\"\"\"\na\nb\n\"\"\"");
    EXPECT_EQ(js_number(1.0), "1");
    EXPECT_EQ(js_number(1.5), "1.5");
    EXPECT_EQ(js_number(1e21), "1e+21");
    EXPECT_EQ(js_number(0.000001), "0.000001");
    EXPECT_EQ(js_number(1e-7), "1e-7");
    EXPECT_EQ(js_number(-123456.75), "-123456.75");
}
