// The GraphQL schema model (GraphQL spec, October 2021, section 3 "Type System"): named types
// (scalar, object, interface, union, enum, input object), fields with arguments and defaults,
// List/NonNull wrappers, directives, descriptions, deprecation. Built programmatically (the
// catalog generator) or from SDL (sdl.hpp) with SchemaBuilder; immutable once built and shared
// read-only between threads as std::shared_ptr<const Schema>.
#pragma once

#include "common/result.hpp"
#include "graphql/ast.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace walcast::graphql {

struct NamedType;

/// A type expression: a named type under List / NonNull wrappers (`[Order!]!`). Built with
/// TypeExpr::named("Order").non_null().list().non_null(), or parsed from text; the schema
/// resolves `named_type()` when it is built.
class TypeExpr {
public:
    enum class Wrap : std::uint8_t { List, NonNull };

    TypeExpr() = default;
    static TypeExpr named(std::string name);
    /// Parses `[Int!]!`; Errc::InvalidInput when it is not a type reference.
    static Result<TypeExpr> parse(std::string_view text);
    static TypeExpr from_ast(const TypeRef& ref);

    TypeExpr list() const;     ///< [this]
    TypeExpr non_null() const; ///< this! (unchanged when already non-null)

    bool is_non_null() const { return !wraps_.empty() && wraps_.front() == Wrap::NonNull; }
    bool is_list() const { return !wraps_.empty() && wraps_.front() == Wrap::List; }
    bool is_named() const { return wraps_.empty(); }
    /// The type under the outermost wrapper (`[Int]!` → `[Int]`); itself when named.
    TypeExpr of_type() const;
    /// Without an outer NonNull.
    TypeExpr nullable() const { return is_non_null() ? of_type() : *this; }

    const std::string& name() const { return name_; }
    const NamedType* named_type() const { return type_; }
    /// This expression bound to a named type (as the schema does when it is built).
    TypeExpr with_type(const NamedType* type) const {
        TypeExpr t = *this;
        t.type_ = type;
        return t;
    }
    const std::vector<Wrap>& wraps() const { return wraps_; }
    std::string to_string() const;

    friend bool operator==(const TypeExpr& a, const TypeExpr& b) {
        return a.name_ == b.name_ && a.wraps_ == b.wraps_;
    }

private:
    friend class SchemaBuilder;
    std::vector<Wrap> wraps_; ///< outermost first
    std::string name_;
    const NamedType* type_ = nullptr;
};

/// An argument or input field. `default_value` is a constant literal (as SDL writes it).
struct InputValueDef {
    std::string name;
    std::optional<std::string> description;
    TypeExpr type;
    std::optional<Value> default_value;
    std::optional<std::string> deprecation_reason;
};

struct FieldDef {
    std::string name;
    std::optional<std::string> description;
    std::vector<InputValueDef> args;
    TypeExpr type;
    std::optional<std::string> deprecation_reason;

    const InputValueDef* arg(std::string_view name) const;
};

struct EnumValueDef {
    std::string name;
    std::optional<std::string> description;
    std::optional<std::string> deprecation_reason;
};

/// A scalar's coercion rules (spec 3.5): input from variables (JSON), input from literals, and
/// result serialization. A failure is the GraphQL error message to report ("Int cannot
/// represent non-integer value: 1.5"). Empty functions accept anything — the literal's JSON
/// form, the variable's JSON as it is — as graphql-js does for custom scalars built from SDL.
struct ScalarCoercion {
    std::function<Result<boost::json::value, std::string>(const boost::json::value&)> parse_value;
    std::function<Result<boost::json::value, std::string>(const Value&)> parse_literal;
    std::function<Result<boost::json::value, std::string>(const boost::json::value&)> serialize;
};

enum class TypeKind : std::uint8_t { Scalar, Object, Interface, Union, Enum, InputObject };

/// A named type. Which members apply depends on `kind` (fields: Object/Interface; interfaces:
/// Object/Interface; members: Union; enum_values: Enum; input_fields: InputObject;
/// specified_by_url and coercion: Scalar).
struct NamedType {
    TypeKind kind = TypeKind::Scalar;
    std::string name;
    std::optional<std::string> description;
    std::vector<FieldDef> fields;
    std::vector<std::string> interfaces;
    std::vector<std::string> members;
    std::vector<EnumValueDef> enum_values;
    std::vector<InputValueDef> input_fields;
    std::optional<std::string> specified_by_url;
    ScalarCoercion coercion;

    const FieldDef* field(std::string_view name) const;
    const InputValueDef* input_field(std::string_view name) const;
    const EnumValueDef* enum_value(std::string_view name) const;
    /// Resolved interfaces (Object/Interface) and, for Interface/Union, the object types that
    /// can be returned, in schema order. Set when the schema is built.
    const std::vector<const NamedType*>& interface_types() const { return interface_types_; }
    const std::vector<const NamedType*>& possible_types() const { return possible_types_; }

    bool is_leaf() const { return kind == TypeKind::Scalar || kind == TypeKind::Enum; }
    bool is_composite() const {
        return kind == TypeKind::Object || kind == TypeKind::Interface || kind == TypeKind::Union;
    }
    bool is_abstract() const { return kind == TypeKind::Interface || kind == TypeKind::Union; }
    bool is_input() const { return is_leaf() || kind == TypeKind::InputObject; }
    bool is_output() const { return kind != TypeKind::InputObject; }

private:
    friend class SchemaBuilder;
    std::unordered_map<std::string_view, std::size_t> index_;
    std::vector<const NamedType*> interface_types_;
    std::vector<const NamedType*> possible_types_;
    std::vector<std::string> implementing_; // interface: types implementing it (any kind)
};

/// Spec 3.13 DirectiveLocation, executable then type-system locations.
enum class DirectiveLocation : std::uint8_t {
    Query,
    Mutation,
    Subscription,
    Field,
    FragmentDefinition,
    FragmentSpread,
    InlineFragment,
    VariableDefinition,
    Schema,
    Scalar,
    Object,
    FieldDefinition,
    ArgumentDefinition,
    Interface,
    Union,
    Enum,
    EnumValue,
    InputObject,
    InputFieldDefinition
};
std::string_view directive_location_name(DirectiveLocation loc);
std::optional<DirectiveLocation> directive_location_from_name(std::string_view name);

struct DirectiveDef {
    std::string name;
    std::optional<std::string> description;
    std::vector<DirectiveLocation> locations;
    std::vector<InputValueDef> args;
    bool repeatable = false;

    const InputValueDef* arg(std::string_view name) const;
    bool allows(DirectiveLocation loc) const;
};

/// An immutable, validated schema. Every lookup is by name; types keep the order in which they
/// were added (the built-in scalars that are used, then introspection types, come after).
class Schema {
public:
    const NamedType* type(std::string_view name) const;
    const std::vector<const NamedType*>& types() const { return types_; }
    const NamedType* query_type() const { return query_; }
    const NamedType* mutation_type() const { return mutation_; }
    const NamedType* subscription_type() const { return subscription_; }
    const NamedType* root_type(OperationType op) const;
    const DirectiveDef* directive(std::string_view name) const;
    const std::vector<const DirectiveDef*>& directives() const { return directive_list_; }
    const std::optional<std::string>& description() const { return description_; }

    /// The field `name` of a composite type as documents see it: the type's own fields plus
    /// the meta-fields `__typename` (any composite type) and `__schema`, `__type(name:)` (the
    /// query type). nullptr when there is none.
    const FieldDef* field_def(const NamedType& parent, std::string_view name) const;
    /// A type reference of a document resolved against the schema; nullopt when its named
    /// type is unknown (graphql-js typeFromAST).
    std::optional<TypeExpr> type_from_ast(const TypeRef& ref) const;

    /// Whether `object` is a possible runtime type of the abstract type (spec IsPossibleType).
    bool is_possible_type(const NamedType& abstract, const NamedType& object) const;
    /// Whether `sub` is `super` itself, a possible type of it, or an interface implementing it.
    bool is_sub_type(const NamedType& super, const NamedType& sub) const;
    /// Whether a value of `type` can be `sub` in that position (graphql-js isTypeSubTypeOf).
    bool is_type_sub_type_of(const TypeExpr& sub, const TypeExpr& super) const;

private:
    friend class SchemaBuilder;
    std::vector<std::unique_ptr<NamedType>> owned_;
    std::vector<const NamedType*> types_;
    std::unordered_map<std::string_view, const NamedType*> by_name_;
    std::vector<std::unique_ptr<DirectiveDef>> owned_directives_;
    std::vector<const DirectiveDef*> directive_list_;
    std::unordered_map<std::string_view, const DirectiveDef*> directive_by_name_;
    const NamedType* query_ = nullptr;
    const NamedType* mutation_ = nullptr;
    const NamedType* subscription_ = nullptr;
    std::optional<std::string> description_;
    FieldDef schema_field_, type_field_, typename_field_;
};

/// Collects types and directives, then validates and resolves them into a Schema. The built-in
/// scalars (Int, Float, String, Boolean, ID), directives (@include, @skip, @deprecated,
/// @specifiedBy, @oneOf — the last only so documents naming it validate as in graphql-js) and
/// the introspection types are always present. Not thread-safe; build() once.
class SchemaBuilder {
public:
    SchemaBuilder();

    /// Adds a named type; a later add with the same name is reported by build().
    NamedType& add_type(NamedType type);
    void add_directive(DirectiveDef directive);
    /// Root operation types by name (default: types named Query, Mutation, Subscription).
    void set_root_type(OperationType op, std::string type_name);
    void set_description(std::optional<std::string> description);
    /// Coercion for scalars declared without one (e.g. `scalar BigInt` in SDL).
    void set_scalar_coercion(std::string name, ScalarCoercion coercion);
    /// A type added so far, for edits (SDL extensions); nullptr when absent.
    NamedType* find_type(std::string_view name);

    /// Validates (unknown and duplicate names, input/output positions, unions of objects,
    /// interface implementations, root types) and returns the schema, or Errc::InvalidInput
    /// listing every problem found.
    Result<std::shared_ptr<const Schema>> build() &&;

private:
    std::vector<NamedType> types_;
    std::vector<DirectiveDef> directives_;
    std::optional<std::string> roots_[3];
    std::optional<std::string> description_;
    std::unordered_map<std::string, ScalarCoercion> scalar_coercions_;
};

/// The built-in scalars' coercion (spec 3.5.1–3.5.5, graphql-js's messages).
ScalarCoercion builtin_scalar_coercion(std::string_view name);

} // namespace walcast::graphql
