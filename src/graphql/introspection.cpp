#include "graphql/introspection.hpp"

#include "graphql/printer.hpp"

#include <boost/json.hpp>

#include <variant>

namespace walcast::graphql {

namespace json = boost::json;

namespace {

// The introspection objects a resolver can return.
struct SchemaObj {};
struct TypeObj {
    const NamedType* named;
    std::vector<TypeExpr::Wrap> wraps; // outermost first; empty: the named type itself
};
struct FieldObj {
    const FieldDef* field;
};
struct InputValueObj {
    const InputValueDef* value;
};
struct EnumValueObj {
    const EnumValueDef* value;
};
struct DirectiveObj {
    const DirectiveDef* directive;
};
using Obj = std::variant<SchemaObj, TypeObj, FieldObj, InputValueObj, EnumValueObj, DirectiveObj>;

std::string_view type_name_of(const Obj& o) {
    switch (o.index()) {
    case 0:
        return "__Schema";
    case 1:
        return "__Type";
    case 2:
        return "__Field";
    case 3:
        return "__InputValue";
    case 4:
        return "__EnumValue";
    default:
        return "__Directive";
    }
}

TypeObj type_obj(const TypeExpr& t) {
    return TypeObj{t.named_type(), t.wraps()};
}

class Executor {
public:
    explicit Executor(const Schema& schema) : schema_(schema) {}

    json::value complete(const ResolvedField& field, const Obj& obj) {
        const NamedType* type = schema_.type(type_name_of(obj));
        const TypedSelection* sel = type ? field.for_type(*type) : nullptr;
        json::object out;
        if (!sel) return out;
        for (const auto& f : sel->fields) {
            if (f.name == "__typename") {
                out[f.response_key] = type_name_of(obj);
            } else {
                out[f.response_key] = resolve(f, obj);
            }
        }
        return out;
    }

    template <class T> json::value list(const ResolvedField& f, const std::vector<T>& items) {
        json::array a;
        for (const auto& item : items)
            a.push_back(complete(f, Obj(item)));
        return a;
    }

    static bool include_deprecated(const ResolvedField& f) {
        const json::value* v = f.arguments.if_contains("includeDeprecated");
        return v && v->is_bool() && v->get_bool();
    }

    static json::value opt_string(const std::optional<std::string>& s) {
        return s ? json::value(*s) : json::value(nullptr);
    }

    json::value input_values(const ResolvedField& f, const std::vector<InputValueDef>& values) {
        std::vector<InputValueObj> items;
        for (const auto& v : values) {
            if (v.deprecation_reason && !include_deprecated(f)) continue;
            items.push_back({&v});
        }
        return list(f, items);
    }

    json::value resolve(const ResolvedField& f, const Obj& obj) {
        const std::string& n = f.name;
        if (std::holds_alternative<SchemaObj>(obj)) {
            if (n == "description") return opt_string(schema_.description());
            if (n == "types") {
                std::vector<TypeObj> items;
                for (const NamedType* t : schema_.types())
                    items.push_back({t, {}});
                return list(f, items);
            }
            if (n == "queryType") return complete(f, TypeObj{schema_.query_type(), {}});
            if (n == "mutationType" || n == "subscriptionType") {
                const NamedType* t =
                    n == "mutationType" ? schema_.mutation_type() : schema_.subscription_type();
                return t ? complete(f, TypeObj{t, {}}) : json::value(nullptr);
            }
            if (n == "directives") {
                std::vector<DirectiveObj> items;
                for (const DirectiveDef* d : schema_.directives())
                    items.push_back({d});
                return list(f, items);
            }
        } else if (const auto* t = std::get_if<TypeObj>(&obj)) {
            const bool wrapped = !t->wraps.empty();
            const NamedType& nt = *t->named;
            if (n == "kind") {
                if (wrapped) return t->wraps.front() == TypeExpr::Wrap::List ? "LIST" : "NON_NULL";
                switch (nt.kind) {
                case TypeKind::Scalar:
                    return "SCALAR";
                case TypeKind::Object:
                    return "OBJECT";
                case TypeKind::Interface:
                    return "INTERFACE";
                case TypeKind::Union:
                    return "UNION";
                case TypeKind::Enum:
                    return "ENUM";
                case TypeKind::InputObject:
                    return "INPUT_OBJECT";
                }
            }
            if (n == "ofType") {
                if (!wrapped) return nullptr;
                TypeObj inner{t->named, {t->wraps.begin() + 1, t->wraps.end()}};
                return complete(f, inner);
            }
            if (wrapped) return nullptr; // every other field is null on List and NonNull
            if (n == "name") return json::value(nt.name);
            if (n == "description") return opt_string(nt.description);
            if (n == "specifiedByURL") return opt_string(nt.specified_by_url);
            if (n == "isOneOf")
                return nt.kind == TypeKind::InputObject ? json::value(false) : nullptr;
            if (n == "fields") {
                if (nt.kind != TypeKind::Object && nt.kind != TypeKind::Interface) return nullptr;
                std::vector<FieldObj> items;
                for (const auto& fd : nt.fields) {
                    if (fd.deprecation_reason && !include_deprecated(f)) continue;
                    items.push_back({&fd});
                }
                return list(f, items);
            }
            if (n == "interfaces") {
                if (nt.kind != TypeKind::Object && nt.kind != TypeKind::Interface) return nullptr;
                std::vector<TypeObj> items;
                for (const NamedType* i : nt.interface_types())
                    items.push_back({i, {}});
                return list(f, items);
            }
            if (n == "possibleTypes") {
                if (!nt.is_abstract()) return nullptr;
                std::vector<TypeObj> items;
                for (const NamedType* p : nt.possible_types())
                    items.push_back({p, {}});
                return list(f, items);
            }
            if (n == "enumValues") {
                if (nt.kind != TypeKind::Enum) return nullptr;
                std::vector<EnumValueObj> items;
                for (const auto& ev : nt.enum_values) {
                    if (ev.deprecation_reason && !include_deprecated(f)) continue;
                    items.push_back({&ev});
                }
                return list(f, items);
            }
            if (n == "inputFields") {
                if (nt.kind != TypeKind::InputObject) return nullptr;
                return input_values(f, nt.input_fields);
            }
        } else if (const auto* fo = std::get_if<FieldObj>(&obj)) {
            const FieldDef& fd = *fo->field;
            if (n == "name") return json::value(fd.name);
            if (n == "description") return opt_string(fd.description);
            if (n == "args") return input_values(f, fd.args);
            if (n == "type") return complete(f, type_obj(fd.type));
            if (n == "isDeprecated") return fd.deprecation_reason.has_value();
            if (n == "deprecationReason") return opt_string(fd.deprecation_reason);
        } else if (const auto* iv = std::get_if<InputValueObj>(&obj)) {
            const InputValueDef& v = *iv->value;
            if (n == "name") return json::value(v.name);
            if (n == "description") return opt_string(v.description);
            if (n == "type") return complete(f, type_obj(v.type));
            if (n == "defaultValue") {
                return v.default_value ? json::value(print_value(*v.default_value))
                                       : json::value(nullptr);
            }
            if (n == "isDeprecated") return v.deprecation_reason.has_value();
            if (n == "deprecationReason") return opt_string(v.deprecation_reason);
        } else if (const auto* ev = std::get_if<EnumValueObj>(&obj)) {
            const EnumValueDef& v = *ev->value;
            if (n == "name") return json::value(v.name);
            if (n == "description") return opt_string(v.description);
            if (n == "isDeprecated") return v.deprecation_reason.has_value();
            if (n == "deprecationReason") return opt_string(v.deprecation_reason);
        } else if (const auto* d = std::get_if<DirectiveObj>(&obj)) {
            const DirectiveDef& dd = *d->directive;
            if (n == "name") return json::value(dd.name);
            if (n == "description") return opt_string(dd.description);
            if (n == "isRepeatable") return dd.repeatable;
            if (n == "locations") {
                json::array a;
                for (auto l : dd.locations)
                    a.emplace_back(directive_location_name(l));
                return a;
            }
            if (n == "args") return input_values(f, dd.args);
        }
        return nullptr;
    }

private:
    const Schema& schema_;
};

} // namespace

bool is_introspection_field(const ResolvedField& field) {
    return field.name == "__schema" || field.name == "__type" || field.name == "__typename";
}

IntrospectionResult execute_introspection(const Schema& schema,
                                          const PreparedOperation& operation) {
    IntrospectionResult result;
    Executor exec(schema);
    for (const auto& f : operation.root.fields) {
        if (f.name == "__typename") {
            result.data[f.response_key] = operation.root_type->name;
        } else if (f.name == "__schema") {
            result.data[f.response_key] = exec.complete(f, SchemaObj{});
        } else if (f.name == "__type") {
            const json::value* name = f.arguments.if_contains("name");
            const NamedType* t =
                name && name->is_string() ? schema.type(name->get_string()) : nullptr;
            result.data[f.response_key] =
                t ? exec.complete(f, TypeObj{t, {}}) : json::value(nullptr);
        }
    }
    return result;
}

} // namespace walcast::graphql
