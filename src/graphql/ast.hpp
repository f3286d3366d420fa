// The GraphQL document tree (GraphQL spec, October 2021, section 2 and 3): executable
// definitions and type-system definitions, every node with its source location. Built by
// graphql::parse (parser.hpp); read by validation, the schema builder and operation preparation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace walcast::graphql {

/// A position in the document: 1-based line and column. Columns count UTF-16 code units from
/// the line start, as graphql-js does, so error locations agree with the reference
/// implementation for any input.
struct SourceLocation {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};

struct Name {
    std::string value;
    SourceLocation loc;
};

enum class ValueKind : std::uint8_t {
    Variable,
    Int,
    Float,
    String,
    Boolean,
    Null,
    Enum,
    List,
    Object
};

struct ObjectField;

/// An input value literal. `text` holds the variable name (without `$`), the Int/Float literal
/// as written, the decoded String, or the Enum name; `list` / `fields` hold List items and
/// Object fields in document order.
struct Value {
    ValueKind kind = ValueKind::Null;
    SourceLocation loc;
    bool boolean = false; ///< Boolean
    bool block = false;   ///< String written as a block string
    std::string text;
    std::vector<Value> list;
    std::vector<ObjectField> fields;
};

struct ObjectField {
    Name name; ///< name.loc is the field's location
    Value value;
};

/// A type reference: `Name`, `[T]` or `T!`. `of` holds the wrapped type (one element) for List
/// and NonNull.
struct TypeRef {
    enum class Kind : std::uint8_t { Named, List, NonNull };
    Kind kind = Kind::Named;
    SourceLocation loc;
    Name name; ///< Named only
    std::vector<TypeRef> of;
};

struct Argument {
    Name name; ///< name.loc is the argument's location
    Value value;
};

struct Directive {
    SourceLocation loc; ///< the `@`
    Name name;
    std::vector<Argument> arguments;
};

struct Selection;

struct SelectionSet {
    SourceLocation loc; ///< the `{`
    std::vector<Selection> selections;
};

/// A field, fragment spread or inline fragment. For a Field, `name` is the field name and
/// `alias` the optional alias; for a FragmentSpread, `name` is the fragment's name; an
/// InlineFragment has an optional `type_condition`.
struct Selection {
    enum class Kind : std::uint8_t { Field, FragmentSpread, InlineFragment };
    Kind kind = Kind::Field;
    SourceLocation loc;
    std::optional<Name> alias;
    Name name;
    std::vector<Argument> arguments;
    std::vector<Directive> directives;
    std::optional<Name> type_condition;
    bool has_selection_set = false; ///< a Field's `{ … }` (always true for inline fragments)
    SelectionSet selection_set;

    /// The key under which the field appears in the result: the alias, else the name.
    const std::string& response_key() const { return alias ? alias->value : name.value; }
};

enum class OperationType : std::uint8_t { Query, Mutation, Subscription };

struct VariableDefinition {
    SourceLocation loc; ///< the `$`
    Name name;          ///< without `$`; name.loc is just after the `$`
    TypeRef type;
    std::optional<Value> default_value;
    std::vector<Directive> directives;
};

struct OperationDefinition {
    SourceLocation loc;
    OperationType operation = OperationType::Query;
    std::optional<Name> name;
    std::vector<VariableDefinition> variables;
    std::vector<Directive> directives;
    SelectionSet selection_set;
};

struct FragmentDefinition {
    SourceLocation loc;
    Name name;
    Name type_condition;
    std::vector<Directive> directives;
    SelectionSet selection_set;
};

struct InputValueDefinition {
    SourceLocation loc;
    std::optional<std::string> description;
    Name name;
    TypeRef type;
    std::optional<Value> default_value;
    std::vector<Directive> directives;
};

struct FieldDefinition {
    SourceLocation loc;
    std::optional<std::string> description;
    Name name;
    std::vector<InputValueDefinition> arguments;
    TypeRef type;
    std::vector<Directive> directives;
};

struct EnumValueDefinition {
    SourceLocation loc;
    std::optional<std::string> description;
    Name name;
    std::vector<Directive> directives;
};

/// A type-system definition or extension (SDL). Which members are used depends on `kind`:
/// Schema: operation_types; Object/Interface: interfaces, fields; Union: members; Enum:
/// enum_values; InputObject: input_fields; Directive: arguments, repeatable, locations.
struct TypeSystemDefinition {
    enum class Kind : std::uint8_t {
        Schema,
        Scalar,
        Object,
        Interface,
        Union,
        Enum,
        InputObject,
        Directive
    };
    Kind kind = Kind::Scalar;
    bool extension = false; ///< `extend …`
    SourceLocation loc;
    std::optional<std::string> description;
    Name name; ///< empty for Schema
    std::vector<Directive> directives;
    std::vector<Name> interfaces;
    std::vector<FieldDefinition> fields;
    std::vector<Name> members;
    std::vector<EnumValueDefinition> enum_values;
    std::vector<InputValueDefinition> input_fields;
    std::vector<std::pair<OperationType, Name>> operation_types;
    std::vector<InputValueDefinition> arguments;
    bool repeatable = false;
    std::vector<Name> locations;
};

using Definition = std::variant<OperationDefinition, FragmentDefinition, TypeSystemDefinition>;

/// A parsed document: the definitions in document order.
struct Document {
    std::vector<Definition> definitions;
    std::uint32_t token_count = 0; ///< lexical tokens, excluding comments
    std::uint32_t field_count = 0; ///< field selections (aliases included)
};

std::string_view operation_type_name(OperationType op);

} // namespace walcast::graphql
