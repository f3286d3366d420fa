#include "graphql/sdl.hpp"

namespace walcast::graphql {

namespace {

std::optional<std::string> deprecation(const std::vector<Directive>& directives) {
    for (const auto& d : directives) {
        if (d.name.value != "deprecated") continue;
        for (const auto& a : d.arguments) {
            if (a.name.value == "reason" && a.value.kind == ValueKind::String) return a.value.text;
        }
        return std::string("No longer supported");
    }
    return std::nullopt;
}

InputValueDef input_value(const InputValueDefinition& def) {
    InputValueDef v;
    v.name = def.name.value;
    v.description = def.description;
    v.type = TypeExpr::from_ast(def.type);
    v.default_value = def.default_value;
    v.deprecation_reason = deprecation(def.directives);
    return v;
}

FieldDef field(const FieldDefinition& def) {
    FieldDef f;
    f.name = def.name.value;
    f.description = def.description;
    for (const auto& a : def.arguments)
        f.args.push_back(input_value(a));
    f.type = TypeExpr::from_ast(def.type);
    f.deprecation_reason = deprecation(def.directives);
    return f;
}

Error located(std::string message, SourceLocation loc) {
    return make_error(Errc::InvalidInput, "SDL " + std::to_string(loc.line) + ":" +
                                              std::to_string(loc.column) + ": " +
                                              std::move(message));
}

} // namespace

Status add_sdl_definitions(SchemaBuilder& builder, std::string_view sdl, bool internal) {
    auto doc = parse(sdl, sdl_parse_limits());
    if (!doc) {
        const auto& e = doc.error();
        return located(e.message, e.locations.empty() ? SourceLocation{} : e.locations.front());
    }
    using K = TypeSystemDefinition::Kind;
    for (const auto& def : doc->definitions) {
        if (const auto* op = std::get_if<OperationDefinition>(&def)) {
            return located("an operation is not a type definition; SDL may only define types",
                           op->loc);
        }
        if (const auto* frag = std::get_if<FragmentDefinition>(&def)) {
            return located("a fragment is not a type definition; SDL may only define types",
                           frag->loc);
        }
        const auto& ts = std::get<TypeSystemDefinition>(def);
        for (const auto& d : ts.directives) {
            if (d.name.value == "oneOf") {
                return located("@oneOf input objects are not supported by walcast", d.loc);
            }
        }
        if (!internal && ts.name.value.rfind("__", 0) == 0) {
            return located("Name \"" + ts.name.value +
                               "\" must not begin with \"__\", which is reserved by GraphQL "
                               "introspection.",
                           ts.name.loc);
        }
        if (ts.kind == K::Schema) {
            if (!ts.extension) builder.set_description(ts.description);
            for (const auto& [op, name] : ts.operation_types)
                builder.set_root_type(op, name.value);
            continue;
        }
        if (ts.kind == K::Directive) {
            DirectiveDef d;
            d.name = ts.name.value;
            d.description = ts.description;
            for (const auto& a : ts.arguments)
                d.args.push_back(input_value(a));
            d.repeatable = ts.repeatable;
            for (const auto& l : ts.locations) {
                d.locations.push_back(*directive_location_from_name(l.value));
            }
            builder.add_directive(std::move(d));
            continue;
        }
        NamedType* target = nullptr;
        if (ts.extension) {
            target = builder.find_type(ts.name.value);
            if (!target) {
                return located("Cannot extend type \"" + ts.name.value +
                                   "\" because it is not defined.",
                               ts.name.loc);
            }
        } else {
            NamedType t;
            t.name = ts.name.value;
            t.description = ts.description;
            switch (ts.kind) {
            case K::Scalar:
                t.kind = TypeKind::Scalar;
                break;
            case K::Object:
                t.kind = TypeKind::Object;
                break;
            case K::Interface:
                t.kind = TypeKind::Interface;
                break;
            case K::Union:
                t.kind = TypeKind::Union;
                break;
            case K::Enum:
                t.kind = TypeKind::Enum;
                break;
            case K::InputObject:
                t.kind = TypeKind::InputObject;
                break;
            default:
                break;
            }
            target = &builder.add_type(std::move(t));
        }
        for (const auto& d : ts.directives) {
            if (d.name.value != "specifiedBy") continue;
            for (const auto& a : d.arguments) {
                if (a.name.value == "url" && a.value.kind == ValueKind::String) {
                    target->specified_by_url = a.value.text;
                }
            }
        }
        for (const auto& i : ts.interfaces)
            target->interfaces.push_back(i.value);
        for (const auto& f : ts.fields)
            target->fields.push_back(field(f));
        for (const auto& m : ts.members)
            target->members.push_back(m.value);
        for (const auto& ev : ts.enum_values) {
            target->enum_values.push_back(
                EnumValueDef{ev.name.value, ev.description, deprecation(ev.directives)});
        }
        for (const auto& f : ts.input_fields)
            target->input_fields.push_back(input_value(f));
    }
    return {};
}

Result<std::shared_ptr<const Schema>>
build_schema(std::string_view sdl,
             const std::vector<std::pair<std::string, ScalarCoercion>>& scalars) {
    SchemaBuilder builder;
    if (auto st = add_sdl_definitions(builder, sdl); !st) return st.error();
    for (const auto& [name, coercion] : scalars)
        builder.set_scalar_coercion(name, coercion);
    return std::move(builder).build();
}

} // namespace walcast::graphql
