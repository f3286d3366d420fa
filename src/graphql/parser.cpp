#include "graphql/parser.hpp"

#include "graphql/lexer.hpp"

#include <array>
#include <functional>

namespace walcast::graphql {

namespace {

constexpr std::array<std::string_view, 19> directive_location_names = {"QUERY",
                                                                       "MUTATION",
                                                                       "SUBSCRIPTION",
                                                                       "FIELD",
                                                                       "FRAGMENT_DEFINITION",
                                                                       "FRAGMENT_SPREAD",
                                                                       "INLINE_FRAGMENT",
                                                                       "VARIABLE_DEFINITION",
                                                                       "SCHEMA",
                                                                       "SCALAR",
                                                                       "OBJECT",
                                                                       "FIELD_DEFINITION",
                                                                       "ARGUMENT_DEFINITION",
                                                                       "INTERFACE",
                                                                       "UNION",
                                                                       "ENUM",
                                                                       "ENUM_VALUE",
                                                                       "INPUT_OBJECT",
                                                                       "INPUT_FIELD_DEFINITION"};

// Every parse_* member returns false after storing the error in err_; the TRY macro passes
// the failure up. Nothing throws.
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if (!(expr)) return false;                                                                 \
    } while (0)

class Parser {
public:
    Parser(std::string_view source, const ParseLimits& limits)
        : lexer_(source), limits_(limits), source_size_(source.size()) {}

    GraphQLError& error() { return err_; }

    bool start() {
        if (source_size_ > limits_.max_document_bytes) {
            err_.message = "Document is " + std::to_string(source_size_) +
                           " bytes, more than walcast's limit of " +
                           std::to_string(limits_.max_document_bytes) +
                           " bytes; send a smaller document.";
            return false;
        }
        TRY(lexer_.next(tok_, err_));
        if (tok_.kind != TokenKind::Eof) ++tokens_;
        return true;
    }

    bool document(Document& doc) {
        TRY(start());
        // many(SOF, definition, EOF): at least one definition.
        do {
            Definition def;
            TRY(definition(def));
            doc.definitions.push_back(std::move(def));
        } while (tok_.kind != TokenKind::Eof);
        doc.token_count = tokens_;
        doc.field_count = fields_;
        return true;
    }

    bool lone_value(Value& v) {
        TRY(start());
        TRY(value(v, true));
        return expect(TokenKind::Eof);
    }

    bool lone_type(TypeRef& t) {
        TRY(start());
        TRY(type_ref(t));
        return expect(TokenKind::Eof);
    }

private:
    // --- token helpers -------------------------------------------------------------------

    bool advance() {
        TRY(lexer_.next(tok_, err_));
        if (tok_.kind != TokenKind::Eof && ++tokens_ > limits_.max_tokens) {
            return fail_at(tok_.loc, "Document has more than " +
                                         std::to_string(limits_.max_tokens) +
                                         " tokens, walcast's limit; send a smaller document. "
                                         "Parsing aborted.");
        }
        return true;
    }

    bool fail_at(SourceLocation loc, std::string message) {
        err_.message = std::move(message);
        err_.locations = {loc};
        return false;
    }

    static std::string describe(const Token& t) {
        std::string d = token_kind_description(t.kind);
        const bool has_value = t.kind == TokenKind::Name || t.kind == TokenKind::Int ||
                               t.kind == TokenKind::Float || t.kind == TokenKind::String ||
                               t.kind == TokenKind::BlockString;
        if (has_value) d += " \"" + t.value + "\"";
        return d;
    }

    bool unexpected(const Token& t) {
        return fail_at(t.loc, "Syntax Error: Unexpected " + describe(t) + ".");
    }
    bool unexpected() { return unexpected(tok_); }

    bool peek(TokenKind k) const { return tok_.kind == k; }

    bool expect(TokenKind k) {
        if (tok_.kind == k) return advance();
        return fail_at(tok_.loc, "Syntax Error: Expected " + token_kind_description(k) +
                                     ", found " + describe(tok_) + ".");
    }

    bool optional(TokenKind k, bool& found) {
        found = tok_.kind == k;
        if (found) return advance();
        return true;
    }

    bool is_keyword(std::string_view kw) const {
        return tok_.kind == TokenKind::Name && tok_.value == kw;
    }

    bool expect_keyword(std::string_view kw) {
        if (is_keyword(kw)) return advance();
        return fail_at(tok_.loc, "Syntax Error: Expected \"" + std::string(kw) + "\", found " +
                                     describe(tok_) + ".");
    }

    bool optional_keyword(std::string_view kw, bool& found) {
        found = is_keyword(kw);
        if (found) return advance();
        return true;
    }

    bool lookahead(Token& out) {
        const auto saved = lexer_.state();
        const bool ok = lexer_.next(out, err_);
        lexer_.restore(saved);
        return ok;
    }

    // Bounds recursion: every construct that can nest (selection sets, list and object
    // values, list types) enters a level.
    struct Level {
        Parser& p;
        bool ok;
        explicit Level(Parser& parser)
            : p(parser), ok(++parser.depth_ <= parser.limits_.max_depth) {
            if (!ok) {
                p.fail_at(p.tok_.loc, "Document is nested more than " +
                                          std::to_string(p.limits_.max_depth) +
                                          " levels deep (selection sets, lists, input objects "
                                          "and list types count), walcast's limit; flatten the "
                                          "operation. Parsing aborted.");
            }
        }
        ~Level() { --p.depth_; }
    };

    bool name(Name& n) {
        if (tok_.kind != TokenKind::Name) {
            return fail_at(tok_.loc, "Syntax Error: Expected Name, found " + describe(tok_) + ".");
        }
        n.value = std::move(tok_.value);
        n.loc = tok_.loc;
        return advance();
    }

    // --- definitions ---------------------------------------------------------------------

    bool peek_description() const {
        return tok_.kind == TokenKind::String || tok_.kind == TokenKind::BlockString;
    }

    bool definition(Definition& def) {
        if (peek(TokenKind::BraceL)) {
            OperationDefinition op;
            TRY(operation_definition(op));
            def = std::move(op);
            return true;
        }
        const bool has_description = peek_description();
        Token keyword;
        if (has_description) {
            TRY(lookahead(keyword));
        } else {
            keyword = tok_;
        }
        if (keyword.kind == TokenKind::Name) {
            using K = TypeSystemDefinition::Kind;
            static constexpr std::array<std::pair<std::string_view, K>, 8> kinds = {{
                {"schema", K::Schema},
                {"scalar", K::Scalar},
                {"type", K::Object},
                {"interface", K::Interface},
                {"union", K::Union},
                {"enum", K::Enum},
                {"input", K::InputObject},
                {"directive", K::Directive},
            }};
            for (const auto& [kw, kind] : kinds) {
                if (keyword.value == kw) {
                    TypeSystemDefinition ts;
                    TRY(type_system_definition(ts, kind, false));
                    def = std::move(ts);
                    return true;
                }
            }
            if (has_description) {
                return fail_at(tok_.loc, "Syntax Error: Unexpected description, descriptions "
                                         "are supported only on type definitions.");
            }
            if (keyword.value == "query" || keyword.value == "mutation" ||
                keyword.value == "subscription") {
                OperationDefinition op;
                TRY(operation_definition(op));
                def = std::move(op);
                return true;
            }
            if (keyword.value == "fragment") {
                FragmentDefinition frag;
                TRY(fragment_definition(frag));
                def = std::move(frag);
                return true;
            }
            if (keyword.value == "extend") {
                Token next;
                TRY(lookahead(next));
                if (next.kind == TokenKind::Name) {
                    for (const auto& [kw, kind] : kinds) {
                        if (next.value == kw && kind != K::Directive) {
                            TypeSystemDefinition ts;
                            TRY(type_system_definition(ts, kind, true));
                            def = std::move(ts);
                            return true;
                        }
                    }
                }
                return unexpected(next);
            }
        }
        return unexpected(keyword);
    }

    bool operation_type(OperationType& op) {
        if (tok_.kind != TokenKind::Name) {
            return fail_at(tok_.loc, "Syntax Error: Expected Name, found " + describe(tok_) + ".");
        }
        if (tok_.value == "query") {
            op = OperationType::Query;
        } else if (tok_.value == "mutation") {
            op = OperationType::Mutation;
        } else if (tok_.value == "subscription") {
            op = OperationType::Subscription;
        } else {
            return unexpected();
        }
        return advance();
    }

    bool operation_definition(OperationDefinition& op) {
        op.loc = tok_.loc;
        if (peek(TokenKind::BraceL)) {
            op.operation = OperationType::Query;
            return selection_set(op.selection_set);
        }
        TRY(operation_type(op.operation));
        if (peek(TokenKind::Name)) {
            op.name.emplace();
            TRY(name(*op.name));
        }
        TRY(variable_definitions(op.variables));
        TRY(directives(op.directives, false));
        return selection_set(op.selection_set);
    }

    bool variable_definitions(std::vector<VariableDefinition>& out) {
        bool open;
        TRY(optional(TokenKind::ParenL, open));
        if (!open) return true;
        bool close = false;
        do {
            VariableDefinition var;
            var.loc = tok_.loc;
            TRY(expect(TokenKind::Dollar));
            TRY(name(var.name));
            TRY(expect(TokenKind::Colon));
            TRY(type_ref(var.type));
            bool eq;
            TRY(optional(TokenKind::Equals, eq));
            if (eq) {
                var.default_value.emplace();
                TRY(value(*var.default_value, true));
            }
            TRY(directives(var.directives, true));
            out.push_back(std::move(var));
            TRY(optional(TokenKind::ParenR, close));
        } while (!close);
        return true;
    }

    bool selection_set(SelectionSet& set) {
        Level level(*this);
        TRY(level.ok);
        set.loc = tok_.loc;
        TRY(expect(TokenKind::BraceL));
        bool close = false;
        do {
            Selection sel;
            TRY(selection(sel));
            set.selections.push_back(std::move(sel));
            TRY(optional(TokenKind::BraceR, close));
        } while (!close);
        return true;
    }

    bool selection(Selection& sel) {
        sel.loc = tok_.loc;
        if (peek(TokenKind::Spread)) {
            TRY(advance());
            bool on;
            TRY(optional_keyword("on", on));
            if (!on && peek(TokenKind::Name)) {
                sel.kind = Selection::Kind::FragmentSpread;
                TRY(fragment_name(sel.name));
                return directives(sel.directives, false);
            }
            sel.kind = Selection::Kind::InlineFragment;
            if (on) {
                sel.type_condition.emplace();
                TRY(name(*sel.type_condition));
            }
            TRY(directives(sel.directives, false));
            sel.has_selection_set = true;
            return selection_set(sel.selection_set);
        }
        sel.kind = Selection::Kind::Field;
        if (++fields_ > limits_.max_fields) {
            return fail_at(tok_.loc, "Document selects more than " +
                                         std::to_string(limits_.max_fields) +
                                         " fields (aliases included), walcast's limit; select "
                                         "fewer fields. Parsing aborted.");
        }
        Name first;
        TRY(name(first));
        bool colon;
        TRY(optional(TokenKind::Colon, colon));
        if (colon) {
            sel.alias = std::move(first);
            TRY(name(sel.name));
        } else {
            sel.name = std::move(first);
        }
        TRY(arguments(sel.arguments, false));
        TRY(directives(sel.directives, false));
        if (peek(TokenKind::BraceL)) {
            sel.has_selection_set = true;
            TRY(selection_set(sel.selection_set));
        }
        return true;
    }

    bool fragment_name(Name& n) {
        if (tok_.kind == TokenKind::Name && tok_.value == "on") return unexpected();
        return name(n);
    }

    bool fragment_definition(FragmentDefinition& frag) {
        frag.loc = tok_.loc;
        TRY(expect_keyword("fragment"));
        TRY(fragment_name(frag.name));
        TRY(expect_keyword("on"));
        TRY(name(frag.type_condition));
        TRY(directives(frag.directives, false));
        return selection_set(frag.selection_set);
    }

    bool arguments(std::vector<Argument>& out, bool is_const) {
        bool open;
        TRY(optional(TokenKind::ParenL, open));
        if (!open) return true;
        bool close = false;
        do {
            Argument arg;
            TRY(name(arg.name));
            TRY(expect(TokenKind::Colon));
            TRY(value(arg.value, is_const));
            out.push_back(std::move(arg));
            TRY(optional(TokenKind::ParenR, close));
        } while (!close);
        return true;
    }

    bool directives(std::vector<Directive>& out, bool is_const) {
        while (peek(TokenKind::At)) {
            Directive d;
            d.loc = tok_.loc;
            TRY(advance());
            TRY(name(d.name));
            TRY(arguments(d.arguments, is_const));
            out.push_back(std::move(d));
        }
        return true;
    }

    bool value(Value& v, bool is_const) {
        v.loc = tok_.loc;
        switch (tok_.kind) {
        case TokenKind::BracketL: {
            Level level(*this);
            TRY(level.ok);
            v.kind = ValueKind::List;
            TRY(advance());
            bool close;
            TRY(optional(TokenKind::BracketR, close));
            while (!close) {
                Value item;
                TRY(value(item, is_const));
                v.list.push_back(std::move(item));
                TRY(optional(TokenKind::BracketR, close));
            }
            return true;
        }
        case TokenKind::BraceL: {
            Level level(*this);
            TRY(level.ok);
            v.kind = ValueKind::Object;
            TRY(advance());
            bool close;
            TRY(optional(TokenKind::BraceR, close));
            while (!close) {
                ObjectField f;
                TRY(name(f.name));
                TRY(expect(TokenKind::Colon));
                TRY(value(f.value, is_const));
                v.fields.push_back(std::move(f));
                TRY(optional(TokenKind::BraceR, close));
            }
            return true;
        }
        case TokenKind::Int:
        case TokenKind::Float:
            v.kind = tok_.kind == TokenKind::Int ? ValueKind::Int : ValueKind::Float;
            v.text = std::move(tok_.value);
            return advance();
        case TokenKind::String:
        case TokenKind::BlockString:
            v.kind = ValueKind::String;
            v.block = tok_.kind == TokenKind::BlockString;
            v.text = std::move(tok_.value);
            return advance();
        case TokenKind::Name:
            if (tok_.value == "true" || tok_.value == "false") {
                v.kind = ValueKind::Boolean;
                v.boolean = tok_.value == "true";
            } else if (tok_.value == "null") {
                v.kind = ValueKind::Null;
            } else {
                v.kind = ValueKind::Enum;
                v.text = std::move(tok_.value);
            }
            return advance();
        case TokenKind::Dollar:
            if (is_const) {
                const Token dollar = tok_;
                TRY(advance());
                if (tok_.kind == TokenKind::Name) {
                    return fail_at(dollar.loc, "Syntax Error: Unexpected variable \"$" +
                                                   tok_.value + "\" in constant value.");
                }
                return unexpected(dollar);
            }
            v.kind = ValueKind::Variable;
            TRY(advance());
            {
                Name n;
                TRY(name(n));
                v.text = std::move(n.value);
            }
            return true;
        default:
            return unexpected();
        }
    }

    bool type_ref(TypeRef& t) {
        t.loc = tok_.loc;
        if (peek(TokenKind::BracketL)) {
            Level level(*this);
            TRY(level.ok);
            TRY(advance());
            TypeRef inner;
            TRY(type_ref(inner));
            TRY(expect(TokenKind::BracketR));
            t.kind = TypeRef::Kind::List;
            t.of.push_back(std::move(inner));
        } else {
            t.kind = TypeRef::Kind::Named;
            TRY(name(t.name));
        }
        if (peek(TokenKind::Bang)) {
            TRY(advance());
            TypeRef inner = std::move(t);
            t = TypeRef{};
            t.kind = TypeRef::Kind::NonNull;
            t.loc = inner.loc;
            t.of.push_back(std::move(inner));
        }
        return true;
    }

    // --- type system ---------------------------------------------------------------------

    bool description(std::optional<std::string>& out) {
        if (peek_description()) {
            out = std::move(tok_.value);
            return advance();
        }
        return true;
    }

    bool type_system_definition(TypeSystemDefinition& ts, TypeSystemDefinition::Kind kind,
                                bool extension) {
        using K = TypeSystemDefinition::Kind;
        ts.kind = kind;
        ts.extension = extension;
        ts.loc = tok_.loc;
        if (extension) {
            TRY(expect_keyword("extend"));
        } else {
            TRY(description(ts.description));
        }
        static constexpr std::array<std::string_view, 8> keywords = {
            "schema", "scalar", "type", "interface", "union", "enum", "input", "directive"};
        TRY(expect_keyword(keywords[static_cast<int>(kind)]));
        switch (kind) {
        case K::Schema: {
            TRY(directives(ts.directives, true));
            bool open = true;
            if (extension) {
                TRY(optional(TokenKind::BraceL, open));
            } else {
                TRY(expect(TokenKind::BraceL));
            }
            if (open) {
                bool close = false;
                do {
                    std::pair<OperationType, Name> entry;
                    TRY(operation_type(entry.first));
                    TRY(expect(TokenKind::Colon));
                    TRY(name(entry.second));
                    ts.operation_types.push_back(std::move(entry));
                    TRY(optional(TokenKind::BraceR, close));
                } while (!close);
            }
            if (extension && ts.directives.empty() && ts.operation_types.empty()) {
                return unexpected();
            }
            return true;
        }
        case K::Scalar:
            TRY(name(ts.name));
            TRY(directives(ts.directives, true));
            if (extension && ts.directives.empty()) return unexpected();
            return true;
        case K::Object:
        case K::Interface: {
            TRY(name(ts.name));
            bool implements;
            TRY(optional_keyword("implements", implements));
            if (implements) {
                bool amp;
                TRY(optional(TokenKind::Amp, amp));
                do {
                    Name n;
                    TRY(name(n));
                    ts.interfaces.push_back(std::move(n));
                    TRY(optional(TokenKind::Amp, amp));
                } while (amp);
            }
            TRY(directives(ts.directives, true));
            TRY(field_definitions(ts.fields));
            if (extension && ts.interfaces.empty() && ts.directives.empty() && ts.fields.empty()) {
                return unexpected();
            }
            return true;
        }
        case K::Union: {
            TRY(name(ts.name));
            TRY(directives(ts.directives, true));
            bool eq;
            TRY(optional(TokenKind::Equals, eq));
            if (eq) {
                bool pipe;
                TRY(optional(TokenKind::Pipe, pipe));
                do {
                    Name n;
                    TRY(name(n));
                    ts.members.push_back(std::move(n));
                    TRY(optional(TokenKind::Pipe, pipe));
                } while (pipe);
            }
            if (extension && ts.directives.empty() && ts.members.empty()) return unexpected();
            return true;
        }
        case K::Enum: {
            TRY(name(ts.name));
            TRY(directives(ts.directives, true));
            bool open;
            TRY(optional(TokenKind::BraceL, open));
            if (open) {
                bool close = false;
                do {
                    EnumValueDefinition ev;
                    ev.loc = tok_.loc;
                    TRY(description(ev.description));
                    if (tok_.kind == TokenKind::Name &&
                        (tok_.value == "true" || tok_.value == "false" || tok_.value == "null")) {
                        return fail_at(tok_.loc, "Syntax Error: " + describe(tok_) +
                                                     " is reserved and cannot be used for an "
                                                     "enum value.");
                    }
                    TRY(name(ev.name));
                    TRY(directives(ev.directives, true));
                    ts.enum_values.push_back(std::move(ev));
                    TRY(optional(TokenKind::BraceR, close));
                } while (!close);
            }
            if (extension && ts.directives.empty() && ts.enum_values.empty()) {
                return unexpected();
            }
            return true;
        }
        case K::InputObject: {
            TRY(name(ts.name));
            TRY(directives(ts.directives, true));
            TRY(input_value_definitions(ts.input_fields, TokenKind::BraceL, TokenKind::BraceR));
            if (extension && ts.directives.empty() && ts.input_fields.empty()) {
                return unexpected();
            }
            return true;
        }
        case K::Directive: {
            TRY(expect(TokenKind::At));
            TRY(name(ts.name));
            TRY(input_value_definitions(ts.arguments, TokenKind::ParenL, TokenKind::ParenR));
            TRY(optional_keyword("repeatable", ts.repeatable));
            TRY(expect_keyword("on"));
            bool pipe;
            TRY(optional(TokenKind::Pipe, pipe));
            do {
                const Token start = tok_;
                Name n;
                TRY(name(n));
                bool known = false;
                for (auto loc : directive_location_names)
                    known = known || n.value == loc;
                if (!known) return unexpected(start);
                ts.locations.push_back(std::move(n));
                TRY(optional(TokenKind::Pipe, pipe));
            } while (pipe);
            return true;
        }
        }
        return true;
    }

    bool field_definitions(std::vector<FieldDefinition>& out) {
        bool open;
        TRY(optional(TokenKind::BraceL, open));
        if (!open) return true;
        bool close = false;
        do {
            FieldDefinition f;
            f.loc = tok_.loc;
            TRY(description(f.description));
            TRY(name(f.name));
            TRY(input_value_definitions(f.arguments, TokenKind::ParenL, TokenKind::ParenR));
            TRY(expect(TokenKind::Colon));
            TRY(type_ref(f.type));
            TRY(directives(f.directives, true));
            out.push_back(std::move(f));
            TRY(optional(TokenKind::BraceR, close));
        } while (!close);
        return true;
    }

    bool input_value_definitions(std::vector<InputValueDefinition>& out, TokenKind open_kind,
                                 TokenKind close_kind) {
        bool open;
        TRY(optional(open_kind, open));
        if (!open) return true;
        bool close = false;
        do {
            InputValueDefinition iv;
            iv.loc = tok_.loc;
            TRY(description(iv.description));
            TRY(name(iv.name));
            TRY(expect(TokenKind::Colon));
            TRY(type_ref(iv.type));
            bool eq;
            TRY(optional(TokenKind::Equals, eq));
            if (eq) {
                iv.default_value.emplace();
                TRY(value(*iv.default_value, true));
            }
            TRY(directives(iv.directives, true));
            out.push_back(std::move(iv));
            TRY(optional(close_kind, close));
        } while (!close);
        return true;
    }

    Lexer lexer_;
    const ParseLimits& limits_;
    std::size_t source_size_;
    Token tok_;
    GraphQLError err_;
    std::uint32_t tokens_ = 0;
    std::uint32_t fields_ = 0;
    std::uint32_t depth_ = 0;
};

#undef TRY

} // namespace

Result<Document, GraphQLError> parse(std::string_view source, const ParseLimits& limits) {
    Parser p(source, limits);
    Document doc;
    if (!p.document(doc)) return std::move(p.error());
    return doc;
}

Result<Value, GraphQLError> parse_const_value(std::string_view source, const ParseLimits& limits) {
    Parser p(source, limits);
    Value v;
    if (!p.lone_value(v)) return std::move(p.error());
    return v;
}

Result<TypeRef, GraphQLError> parse_type_ref(std::string_view source, const ParseLimits& limits) {
    Parser p(source, limits);
    TypeRef t;
    if (!p.lone_type(t)) return std::move(p.error());
    return t;
}

} // namespace walcast::graphql
