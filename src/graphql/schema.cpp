#include "graphql/schema.hpp"

#include "graphql/parser.hpp"
#include "graphql/printer.hpp"
#include "graphql/sdl.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace walcast::graphql {

// --- TypeExpr --------------------------------------------------------------------------------

TypeExpr TypeExpr::named(std::string name) {
    TypeExpr t;
    t.name_ = std::move(name);
    return t;
}

TypeExpr TypeExpr::from_ast(const TypeRef& ref) {
    TypeExpr t;
    const TypeRef* cur = &ref;
    while (cur->kind != TypeRef::Kind::Named) {
        t.wraps_.push_back(cur->kind == TypeRef::Kind::List ? Wrap::List : Wrap::NonNull);
        cur = &cur->of.front();
    }
    t.name_ = cur->name.value;
    return t;
}

Result<TypeExpr> TypeExpr::parse(std::string_view text) {
    auto ref = parse_type_ref(text);
    if (!ref) {
        return make_error(Errc::InvalidInput, "invalid GraphQL type \"" + std::string(text) +
                                                  "\": " + ref.error().message);
    }
    return from_ast(*ref);
}

TypeExpr TypeExpr::list() const {
    TypeExpr t = *this;
    t.wraps_.insert(t.wraps_.begin(), Wrap::List);
    return t;
}

TypeExpr TypeExpr::non_null() const {
    if (is_non_null()) return *this;
    TypeExpr t = *this;
    t.wraps_.insert(t.wraps_.begin(), Wrap::NonNull);
    return t;
}

TypeExpr TypeExpr::of_type() const {
    TypeExpr t = *this;
    if (!t.wraps_.empty()) t.wraps_.erase(t.wraps_.begin());
    return t;
}

std::string TypeExpr::to_string() const {
    std::string out = name_;
    for (auto it = wraps_.rbegin(); it != wraps_.rend(); ++it) {
        out = *it == Wrap::List ? "[" + out + "]" : out + "!";
    }
    return out;
}

// --- lookups ---------------------------------------------------------------------------------

const InputValueDef* FieldDef::arg(std::string_view n) const {
    for (const auto& a : args) {
        if (a.name == n) return &a;
    }
    return nullptr;
}

const InputValueDef* DirectiveDef::arg(std::string_view n) const {
    for (const auto& a : args) {
        if (a.name == n) return &a;
    }
    return nullptr;
}

bool DirectiveDef::allows(DirectiveLocation loc) const {
    return std::find(locations.begin(), locations.end(), loc) != locations.end();
}

const FieldDef* NamedType::field(std::string_view n) const {
    if (kind != TypeKind::Object && kind != TypeKind::Interface) return nullptr;
    auto it = index_.find(n);
    return it == index_.end() ? nullptr : &fields[it->second];
}

const InputValueDef* NamedType::input_field(std::string_view n) const {
    if (kind != TypeKind::InputObject) return nullptr;
    auto it = index_.find(n);
    return it == index_.end() ? nullptr : &input_fields[it->second];
}

const EnumValueDef* NamedType::enum_value(std::string_view n) const {
    if (kind != TypeKind::Enum) return nullptr;
    auto it = index_.find(n);
    return it == index_.end() ? nullptr : &enum_values[it->second];
}

namespace {
constexpr std::array<std::string_view, 19> location_names = {"QUERY",
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
} // namespace

std::string_view directive_location_name(DirectiveLocation loc) {
    return location_names[static_cast<std::size_t>(loc)];
}

std::optional<DirectiveLocation> directive_location_from_name(std::string_view name) {
    for (std::size_t i = 0; i < location_names.size(); ++i) {
        if (location_names[i] == name) return static_cast<DirectiveLocation>(i);
    }
    return std::nullopt;
}

const NamedType* Schema::type(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

const DirectiveDef* Schema::directive(std::string_view name) const {
    auto it = directive_by_name_.find(name);
    return it == directive_by_name_.end() ? nullptr : it->second;
}

const NamedType* Schema::root_type(OperationType op) const {
    switch (op) {
    case OperationType::Query:
        return query_;
    case OperationType::Mutation:
        return mutation_;
    case OperationType::Subscription:
        return subscription_;
    }
    return nullptr;
}

const FieldDef* Schema::field_def(const NamedType& parent, std::string_view name) const {
    if (name == "__schema" && &parent == query_) return &schema_field_;
    if (name == "__type" && &parent == query_) return &type_field_;
    if (name == "__typename" && parent.is_composite()) return &typename_field_;
    return parent.field(name);
}

std::optional<TypeExpr> Schema::type_from_ast(const TypeRef& ref) const {
    TypeExpr t = TypeExpr::from_ast(ref);
    const NamedType* named = type(t.name());
    if (!named) return std::nullopt;
    return t.with_type(named);
}

bool Schema::is_possible_type(const NamedType& abstract, const NamedType& object) const {
    const auto& p = abstract.possible_types();
    return std::find(p.begin(), p.end(), &object) != p.end();
}

bool Schema::is_sub_type(const NamedType& super, const NamedType& sub) const {
    if (&super == &sub) return true;
    if (super.kind == TypeKind::Union) return is_possible_type(super, sub);
    if (super.kind == TypeKind::Interface) {
        const auto& impl = sub.interface_types();
        return std::find(impl.begin(), impl.end(), &super) != impl.end();
    }
    return false;
}

bool Schema::is_type_sub_type_of(const TypeExpr& sub, const TypeExpr& super) const {
    if (sub == super) return true;
    if (super.is_non_null()) {
        return sub.is_non_null() && is_type_sub_type_of(sub.of_type(), super.of_type());
    }
    if (sub.is_non_null()) return is_type_sub_type_of(sub.of_type(), super);
    if (super.is_list())
        return sub.is_list() && is_type_sub_type_of(sub.of_type(), super.of_type());
    if (sub.is_list()) return false;
    const NamedType* a = super.named_type();
    const NamedType* b = sub.named_type();
    return a && b && a->is_abstract() &&
           (b->kind == TypeKind::Interface || b->kind == TypeKind::Object) && is_sub_type(*a, *b);
}

// --- built-ins -------------------------------------------------------------------------------

namespace {

// The introspection types (spec 4.2 "Schema Introspection"), as graphql-js 16 defines them
// (with `includeDeprecated` on args/inputFields, `isOneOf`, `specifiedByURL`).
constexpr std::string_view introspection_sdl = R"(
"A GraphQL schema: its types, its root operation types and its directives."
type __Schema {
  description: String
  "Every type in the schema."
  types: [__Type!]!
  "The type of query operations."
  queryType: __Type!
  "The type of mutation operations, if the schema has mutations."
  mutationType: __Type
  "The type of subscription operations, if the schema has subscriptions."
  subscriptionType: __Type
  "The directives the schema supports."
  directives: [__Directive!]!
}

"A type of the schema: a named type, or a List or NonNull wrapper around one (`ofType`)."
type __Type {
  kind: __TypeKind!
  name: String
  description: String
  specifiedByURL: String
  fields(includeDeprecated: Boolean = false): [__Field!]
  interfaces: [__Type!]
  possibleTypes: [__Type!]
  enumValues(includeDeprecated: Boolean = false): [__EnumValue!]
  inputFields(includeDeprecated: Boolean = false): [__InputValue!]
  ofType: __Type
  isOneOf: Boolean
}

"What kind of type a `__Type` is."
enum __TypeKind {
  "A leaf value: Int, String, a custom scalar."
  SCALAR
  "An object with fields."
  OBJECT
  "An abstract type whose fields several object types implement."
  INTERFACE
  "An abstract type that is one of several object types."
  UNION
  "A leaf with a fixed set of values."
  ENUM
  "An input object (arguments and variables)."
  INPUT_OBJECT
  "A list of `ofType`."
  LIST
  "`ofType`, never null."
  NON_NULL
}

"A field of an object or interface type."
type __Field {
  name: String!
  description: String
  args(includeDeprecated: Boolean = false): [__InputValue!]!
  type: __Type!
  isDeprecated: Boolean!
  deprecationReason: String
}

"An argument or an input object's field."
type __InputValue {
  name: String!
  description: String
  type: __Type!
  "The default value as a GraphQL literal, if there is one."
  defaultValue: String
  isDeprecated: Boolean!
  deprecationReason: String
}

"A value of an enum type."
type __EnumValue {
  name: String!
  description: String
  isDeprecated: Boolean!
  deprecationReason: String
}

"A directive: where it may appear and what arguments it takes."
type __Directive {
  name: String!
  description: String
  isRepeatable: Boolean!
  locations: [__DirectiveLocation!]!
  args(includeDeprecated: Boolean = false): [__InputValue!]!
}

"Where a directive may appear."
enum __DirectiveLocation {
  QUERY
  MUTATION
  SUBSCRIPTION
  FIELD
  FRAGMENT_DEFINITION
  FRAGMENT_SPREAD
  INLINE_FRAGMENT
  VARIABLE_DEFINITION
  SCHEMA
  SCALAR
  OBJECT
  FIELD_DEFINITION
  ARGUMENT_DEFINITION
  INTERFACE
  UNION
  ENUM
  ENUM_VALUE
  INPUT_OBJECT
  INPUT_FIELD_DEFINITION
}
)";

constexpr std::string_view builtin_directives_sdl = R"(
"Include the field or fragment only when `if` is true."
directive @include(
  "Included when true."
  if: Boolean!
) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT

"Skip the field or fragment when `if` is true."
directive @skip(
  "Skipped when true."
  if: Boolean!
) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT

"Marks an element of the schema as no longer supported."
directive @deprecated(
  "Why it is deprecated and what to use instead (Markdown)."
  reason: String = "No longer supported"
) on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE

"Names the specification a custom scalar follows."
directive @specifiedBy(
  "The URL of the specification."
  url: String!
) on SCALAR

"An input object of which exactly one field must be given (not supported by walcast's schemas)."
directive @oneOf on INPUT_OBJECT
)";

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> builtin_scalars = {{
    {"String", "The `String` scalar type represents textual data, represented as UTF-8 "
               "character sequences."},
    {"Int", "The `Int` scalar type represents non-fractional signed whole numeric values "
            "between -(2^31) and 2^31 - 1."},
    {"Float", "The `Float` scalar type represents signed double-precision fractional values as "
              "specified by IEEE 754."},
    {"Boolean", "The `Boolean` scalar type represents `true` or `false`."},
    {"ID", "The `ID` scalar type represents a unique identifier; it is serialized as a String "
           "and accepts a string or an integer as input."},
}};

bool is_builtin_scalar(std::string_view name) {
    for (const auto& [n, d] : builtin_scalars) {
        if (n == name) return true;
    }
    return false;
}

} // namespace

SchemaBuilder::SchemaBuilder() {}

NamedType& SchemaBuilder::add_type(NamedType type) {
    types_.push_back(std::move(type));
    return types_.back();
}

void SchemaBuilder::add_directive(DirectiveDef directive) {
    directives_.push_back(std::move(directive));
}

void SchemaBuilder::set_root_type(OperationType op, std::string type_name) {
    roots_[static_cast<int>(op)] = std::move(type_name);
}

void SchemaBuilder::set_description(std::optional<std::string> description) {
    description_ = std::move(description);
}

NamedType* SchemaBuilder::find_type(std::string_view name) {
    for (auto& t : types_) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

void SchemaBuilder::set_scalar_coercion(std::string name, ScalarCoercion coercion) {
    scalar_coercions_[std::move(name)] = std::move(coercion);
}

Result<std::shared_ptr<const Schema>> SchemaBuilder::build() && {
    std::vector<std::string> problems;
    auto schema = std::make_shared<Schema>();
    schema->description_ = description_;

    // User types, then the built-in scalars not redefined, then the introspection types.
    std::set<std::string, std::less<>> user_names;
    for (auto& t : types_) {
        if (t.kind == TypeKind::Scalar && is_builtin_scalar(t.name)) continue;
        if (t.name.rfind("__", 0) == 0) {
            problems.push_back("Name \"" + t.name +
                               "\" must not begin with \"__\", which is reserved by GraphQL "
                               "introspection.");
            continue;
        }
        if (!user_names.insert(t.name).second) {
            problems.push_back("There can be only one type named \"" + t.name + "\".");
            continue;
        }
        schema->owned_.push_back(std::make_unique<NamedType>(std::move(t)));
    }
    const std::size_t user_count = schema->owned_.size();
    for (const auto& [name, description] : builtin_scalars) {
        NamedType s;
        s.kind = TypeKind::Scalar;
        s.name = std::string(name);
        s.description = std::string(description);
        s.coercion = builtin_scalar_coercion(name);
        schema->owned_.push_back(std::make_unique<NamedType>(std::move(s)));
    }
    {
        SchemaBuilder internal;
        auto added = add_sdl_definitions(internal, introspection_sdl, true);
        (void)added;
        for (auto& t : internal.types_) {
            schema->owned_.push_back(std::make_unique<NamedType>(std::move(t)));
        }
        SchemaBuilder dirs;
        auto d = add_sdl_definitions(dirs, builtin_directives_sdl, true);
        (void)d;
        std::set<std::string, std::less<>> user_directives;
        for (const auto& ud : directives_)
            user_directives.insert(ud.name);
        for (auto& bd : dirs.directives_) {
            if (!user_directives.count(bd.name)) directives_.insert(directives_.begin(), bd);
        }
        // Keep the built-ins first and in their defined order.
        std::stable_partition(directives_.begin(), directives_.end(), [](const DirectiveDef& x) {
            return x.name == "include" || x.name == "skip" || x.name == "deprecated" ||
                   x.name == "specifiedBy" || x.name == "oneOf";
        });
    }
    for (auto& t : schema->owned_) {
        schema->by_name_.emplace(t->name, t.get());
        if (t->kind == TypeKind::Scalar && !t->coercion.parse_literal) {
            auto it = scalar_coercions_.find(t->name);
            if (it != scalar_coercions_.end()) t->coercion = it->second;
        }
        auto index = [&](const auto& items, std::string_view what) {
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (!t->index_.emplace(items[i].name, i).second) {
                    problems.push_back(std::string(what) + " \"" + t->name + "." + items[i].name +
                                       "\" can only be defined once.");
                }
            }
        };
        switch (t->kind) {
        case TypeKind::Object:
        case TypeKind::Interface:
            index(t->fields, "Field");
            break;
        case TypeKind::InputObject:
            index(t->input_fields, "Field");
            break;
        case TypeKind::Enum:
            index(t->enum_values, "Enum value");
            break;
        default:
            break;
        }
    }

    std::set<std::string, std::less<>> referenced;
    auto resolve = [&](TypeExpr& expr, bool input, const std::string& where) {
        auto it = schema->by_name_.find(expr.name_);
        if (it == schema->by_name_.end()) {
            problems.push_back("Unknown type \"" + expr.name_ + "\" referenced by " + where + ".");
            return;
        }
        expr.type_ = it->second;
        referenced.insert(expr.name_);
        if (input && !it->second->is_input()) {
            problems.push_back("The type of " + where +
                               " must be an input type but got: " + expr.to_string() + ".");
        }
        if (!input && !it->second->is_output()) {
            problems.push_back("The type of " + where +
                               " must be an output type but got: " + expr.to_string() + ".");
        }
    };
    auto resolve_args = [&](std::vector<InputValueDef>& args, const std::string& owner) {
        std::set<std::string, std::less<>> seen;
        for (auto& a : args) {
            if (!seen.insert(a.name).second) {
                problems.push_back("Argument \"" + owner + "(" + a.name +
                                   ":)\" can only be defined once.");
            }
            resolve(a.type, true, owner + "(" + a.name + ":)");
        }
    };
    for (std::size_t i = 0; i < schema->owned_.size(); ++i) {
        NamedType& t = *schema->owned_[i];
        const bool user = i < user_count;
        for (auto& f : t.fields) {
            resolve(f.type, false, "field \"" + t.name + "." + f.name + "\"");
            resolve_args(f.args, t.name + "." + f.name);
        }
        for (auto& f : t.input_fields) {
            resolve(f.type, true, "field \"" + t.name + "." + f.name + "\"");
        }
        if ((t.kind == TypeKind::Object || t.kind == TypeKind::Interface) && t.fields.empty()) {
            problems.push_back("Type " + t.name + " must define one or more fields.");
        }
        if (t.kind == TypeKind::InputObject && t.input_fields.empty()) {
            problems.push_back("Input Object type " + t.name + " must define one or more fields.");
        }
        if (t.kind == TypeKind::Union && t.members.empty()) {
            problems.push_back("Union type " + t.name + " must define one or more member types.");
        }
        if (t.kind == TypeKind::Enum && t.enum_values.empty()) {
            problems.push_back("Enum type " + t.name + " must define one or more values.");
        }
        for (const auto& iname : t.interfaces) {
            const NamedType* iface = schema->type(iname);
            if (!iface || iface->kind != TypeKind::Interface) {
                problems.push_back("Type " + t.name +
                                   " must only implement Interface types, it "
                                   "cannot implement " +
                                   iname + ".");
                continue;
            }
            referenced.insert(iname);
            t.interface_types_.push_back(iface);
            const_cast<NamedType*>(iface)->implementing_.push_back(t.name);
        }
        for (const auto& m : t.members) {
            const NamedType* member = schema->type(m);
            if (!member || member->kind != TypeKind::Object) {
                problems.push_back("Union type " + t.name +
                                   " can only include Object types, it "
                                   "cannot include " +
                                   m + ".");
                continue;
            }
            referenced.insert(m);
            t.possible_types_.push_back(member);
        }
        (void)user;
    }
    for (auto& d : directives_) {
        resolve_args(d.args, "@" + d.name);
        if (d.locations.empty()) {
            problems.push_back("Directive @" + d.name + " must include one or more locations.");
        }
    }
    // Interface implementations (spec 3.7.1 IsValidImplementation, the field and argument
    // checks) once every type is resolved.
    for (auto& tp : schema->owned_) {
        NamedType& t = *tp;
        for (const NamedType* iface : t.interface_types_) {
            for (const auto& ifield : iface->fields) {
                const FieldDef* f = t.field(ifield.name);
                if (!f) {
                    problems.push_back("Interface field " + iface->name + "." + ifield.name +
                                       " expected but " + t.name + " does not provide it.");
                    continue;
                }
                if (f->type.named_type() && ifield.type.named_type() &&
                    !schema->is_type_sub_type_of(f->type, ifield.type)) {
                    // is_sub_type needs interface_types_ of every type; checked after the loop.
                }
                for (const auto& iarg : ifield.args) {
                    const InputValueDef* a = f->arg(iarg.name);
                    if (!a) {
                        problems.push_back("Interface field argument " + iface->name + "." +
                                           ifield.name + "(" + iarg.name + ":) expected but " +
                                           t.name + "." + ifield.name + " does not provide it.");
                    } else if (!(a->type == iarg.type)) {
                        problems.push_back("Interface field argument " + iface->name + "." +
                                           ifield.name + "(" + iarg.name + ":) expects type " +
                                           iarg.type.to_string() + " but " + t.name + "." +
                                           ifield.name + "(" + iarg.name + ":) is type " +
                                           a->type.to_string() + ".");
                    }
                }
            }
        }
        if (t.kind == TypeKind::Interface) {
            for (const auto& n : t.implementing_) {
                const NamedType* impl = schema->type(n);
                if (impl && impl->kind == TypeKind::Object) t.possible_types_.push_back(impl);
            }
        }
    }
    for (auto& tp : schema->owned_) {
        for (const NamedType* iface : tp->interface_types_) {
            for (const auto& ifield : iface->fields) {
                const FieldDef* f = tp->field(ifield.name);
                if (f && f->type.named_type() && ifield.type.named_type() &&
                    !schema->is_type_sub_type_of(f->type, ifield.type)) {
                    problems.push_back("Interface field " + iface->name + "." + ifield.name +
                                       " expects type " + ifield.type.to_string() + " but " +
                                       tp->name + "." + ifield.name + " is type " +
                                       f->type.to_string() + ".");
                }
            }
        }
    }

    // Roots.
    static constexpr std::array<std::string_view, 3> default_roots = {"Query", "Mutation",
                                                                      "Subscription"};
    const NamedType** roots[3] = {&schema->query_, &schema->mutation_, &schema->subscription_};
    for (int i = 0; i < 3; ++i) {
        const std::string name = roots_[i] ? *roots_[i] : std::string(default_roots[i]);
        const NamedType* t = schema->type(name);
        if (!t) {
            if (roots_[i]) problems.push_back("Root type \"" + name + "\" is not defined.");
            continue;
        }
        if (t->kind != TypeKind::Object) {
            problems.push_back("Root type \"" + name + "\" must be an Object type.");
            continue;
        }
        *roots[i] = t;
    }
    if (!schema->query_) problems.push_back("Query root type must be provided.");

    if (!problems.empty()) {
        std::string msg = "invalid GraphQL schema: ";
        for (std::size_t i = 0; i < problems.size(); ++i) {
            if (i) msg += " ";
            msg += problems[i];
        }
        return make_error(Errc::InvalidInput, std::move(msg));
    }

    // Only the built-in scalars that are used stay (graphql-js's type map: an unused Float is
    // an unknown type in documents).
    for (const auto& tp : schema->owned_) {
        const NamedType* t = tp.get();
        const bool builtin_unused =
            t->kind == TypeKind::Scalar && is_builtin_scalar(t->name) && !referenced.count(t->name);
        if (builtin_unused) {
            schema->by_name_.erase(t->name);
            continue;
        }
        schema->types_.push_back(t);
    }
    auto meta = [&](FieldDef& f, std::string name, std::string type, std::string description) {
        f.name = std::move(name);
        f.description = std::move(description);
        f.type = TypeExpr::parse(type).value();
        f.type.type_ = schema->type(f.type.name());
    };
    meta(schema->schema_field_, "__schema", "__Schema!",
         "Access the current type schema of this server.");
    meta(schema->type_field_, "__type", "__Type", "Request the type information of a single type.");
    {
        InputValueDef name_arg;
        name_arg.name = "name";
        name_arg.type = TypeExpr::named("String").non_null();
        name_arg.type.type_ = schema->type("String");
        schema->type_field_.args.push_back(std::move(name_arg));
    }
    meta(schema->typename_field_, "__typename", "String!",
         "The name of the current Object type at runtime.");
    for (auto& d : directives_) {
        schema->owned_directives_.push_back(std::make_unique<DirectiveDef>(std::move(d)));
        const DirectiveDef* p = schema->owned_directives_.back().get();
        if (!schema->directive_by_name_.emplace(p->name, p).second) {
            return make_error(Errc::InvalidInput, "invalid GraphQL schema: There can be only one "
                                                  "directive named \"@" +
                                                      p->name + "\".");
        }
        schema->directive_list_.push_back(p);
    }
    return std::shared_ptr<const Schema>(std::move(schema));
}

} // namespace walcast::graphql
