#include "graphql/operation.hpp"

#include "graphql/printer.hpp"
#include "graphql/scalars.hpp"
#include "graphql/suggest.hpp"

#include <boost/json.hpp>

#include <set>

namespace walcast::graphql {

namespace json = boost::json;

const TypedSelection* ResolvedField::for_type(const NamedType& object_type) const {
    for (const auto& s : selections) {
        if (s.object_type == &object_type) return &s;
    }
    return nullptr;
}

// --- input coercion ------------------------------------------------------------------------

namespace {

std::string path_text(const std::vector<PathSegment>& path) {
    std::string out;
    for (const auto& seg : path) {
        if (const auto* key = std::get_if<std::string>(&seg)) {
            out += "." + *key;
        } else {
            out += "[" + std::to_string(std::get<std::int64_t>(seg)) + "]";
        }
    }
    return out;
}

struct InputCoercer {
    // Each error: (path, invalid value, message).
    struct Failure {
        std::vector<PathSegment> path;
        json::value value;
        std::string message;
    };
    std::vector<Failure> failures;

    json::value coerce(const json::value& v, const TypeExpr& type, std::vector<PathSegment>& path) {
        if (type.is_non_null()) {
            if (!v.is_null()) return coerce(v, type.of_type(), path);
            failures.push_back(
                {path, v,
                 "Expected non-nullable type \"" + type.to_string() + "\" not to be null."});
            return nullptr;
        }
        if (v.is_null()) return nullptr;
        if (type.is_list()) {
            const TypeExpr item = type.of_type();
            json::array out;
            if (v.is_array()) {
                std::int64_t i = 0;
                for (const auto& x : v.as_array()) {
                    path.emplace_back(i++);
                    out.push_back(coerce(x, item, path));
                    path.pop_back();
                }
            } else {
                out.push_back(coerce(v, item, path));
            }
            return out;
        }
        const NamedType* named = type.named_type();
        if (named->kind == TypeKind::InputObject) {
            if (!v.is_object()) {
                failures.push_back(
                    {path, v, "Expected type \"" + named->name + "\" to be an object."});
                return nullptr;
            }
            const auto& obj = v.as_object();
            json::object out;
            for (const auto& field : named->input_fields) {
                const json::value* given = obj.if_contains(field.name);
                if (!given) {
                    if (field.default_value) {
                        if (auto d = coerce_literal(*field.default_value, field.type, {})) {
                            out[field.name] = std::move(*d);
                        }
                    } else if (field.type.is_non_null()) {
                        failures.push_back({path, v,
                                            "Field \"" + field.name + "\" of required type \"" +
                                                field.type.to_string() + "\" was not provided."});
                    }
                    continue;
                }
                path.emplace_back(field.name);
                out[field.name] = coerce(*given, field.type, path);
                path.pop_back();
            }
            for (const auto& kv : obj) {
                if (!named->input_field(kv.key())) {
                    std::vector<std::string> names;
                    for (const auto& f : named->input_fields)
                        names.push_back(f.name);
                    failures.push_back({path, v,
                                        "Field \"" + std::string(kv.key()) +
                                            "\" is not defined by type \"" + named->name + "\"." +
                                            did_you_mean(suggestion_list(kv.key(), names))});
                }
            }
            return out;
        }
        if (named->kind == TypeKind::Enum) {
            std::vector<std::string> names;
            for (const auto& ev : named->enum_values)
                names.push_back(ev.name);
            if (!v.is_string()) {
                failures.push_back(
                    {path, v,
                     "Enum \"" + named->name +
                         "\" cannot represent non-string "
                         "value: " +
                         inspect(v) + "." +
                         did_you_mean(suggestion_list(inspect(v), names), "the enum value")});
                return nullptr;
            }
            const std::string s(v.as_string());
            if (!named->enum_value(s)) {
                failures.push_back({path, v,
                                    "Value \"" + s + "\" does not exist in \"" + named->name +
                                        "\" enum." +
                                        did_you_mean(suggestion_list(s, names), "the enum value")});
                return nullptr;
            }
            return v;
        }
        if (!named->coercion.parse_value) return v;
        auto r = named->coercion.parse_value(v);
        if (!r) {
            failures.push_back({path, v, r.error()});
            return nullptr;
        }
        return std::move(*r);
    }
};

bool is_missing_variable(const Value& v, const json::object& variables) {
    return v.kind == ValueKind::Variable && !variables.contains(v.text);
}

// A literal with every variable replaced by its value (for custom scalars' parse_literal).
Value substitute(const Value& v, const json::object& variables) {
    Value out = v;
    std::function<void(Value&)> fix = [&](Value& x) {
        if (x.kind == ValueKind::Variable) {
            const json::value* j = variables.if_contains(x.text);
            std::function<Value(const json::value&)> to_literal = [&](const json::value& jv) {
                Value lit;
                lit.loc = x.loc;
                switch (jv.kind()) {
                case json::kind::null:
                    lit.kind = ValueKind::Null;
                    break;
                case json::kind::bool_:
                    lit.kind = ValueKind::Boolean;
                    lit.boolean = jv.get_bool();
                    break;
                case json::kind::int64:
                case json::kind::uint64:
                    lit.kind = ValueKind::Int;
                    lit.text = inspect(jv);
                    break;
                case json::kind::double_:
                    lit.kind = ValueKind::Float;
                    lit.text = inspect(jv);
                    break;
                case json::kind::string:
                    lit.kind = ValueKind::String;
                    lit.text = std::string(jv.get_string());
                    break;
                case json::kind::array:
                    lit.kind = ValueKind::List;
                    for (const auto& e : jv.get_array())
                        lit.list.push_back(to_literal(e));
                    break;
                case json::kind::object:
                    lit.kind = ValueKind::Object;
                    for (const auto& kv : jv.get_object()) {
                        lit.fields.push_back(ObjectField{Name{std::string(kv.key()), x.loc},
                                                         to_literal(kv.value())});
                    }
                    break;
                }
                return lit;
            };
            x = j ? to_literal(*j) : Value{ValueKind::Null, x.loc};
            return;
        }
        for (auto& item : x.list)
            fix(item);
        for (auto& f : x.fields)
            fix(f.value);
    };
    fix(out);
    return out;
}

} // namespace

Result<json::value, std::vector<std::string>> coerce_input_value(const json::value& value,
                                                                 const TypeExpr& type) {
    InputCoercer c;
    std::vector<PathSegment> path;
    json::value out = c.coerce(value, type, path);
    if (c.failures.empty()) return out;
    std::vector<std::string> messages;
    for (const auto& f : c.failures) {
        std::string prefix = "Invalid value " + inspect(f.value);
        if (!f.path.empty()) prefix += " at \"value" + path_text(f.path) + "\"";
        messages.push_back(prefix + ": " + f.message);
    }
    return messages;
}

std::optional<json::value> coerce_literal(const Value& v, const TypeExpr& type,
                                          const json::object& variables) {
    if (v.kind == ValueKind::Variable) {
        const json::value* val = variables.if_contains(v.text);
        if (!val) return std::nullopt;
        if (val->is_null() && type.is_non_null()) return std::nullopt;
        return *val;
    }
    if (type.is_non_null()) {
        if (v.kind == ValueKind::Null) return std::nullopt;
        return coerce_literal(v, type.of_type(), variables);
    }
    if (v.kind == ValueKind::Null) return json::value(nullptr);
    if (type.is_list()) {
        const TypeExpr item = type.of_type();
        json::array out;
        if (v.kind == ValueKind::List) {
            for (const auto& x : v.list) {
                if (is_missing_variable(x, variables)) {
                    if (item.is_non_null()) return std::nullopt;
                    out.push_back(nullptr);
                    continue;
                }
                auto c = coerce_literal(x, item, variables);
                if (!c) return std::nullopt;
                out.push_back(std::move(*c));
            }
        } else {
            auto c = coerce_literal(v, item, variables);
            if (!c) return std::nullopt;
            out.push_back(std::move(*c));
        }
        return json::value(std::move(out));
    }
    const NamedType* named = type.named_type();
    if (!named) return std::nullopt;
    if (named->kind == TypeKind::InputObject) {
        if (v.kind != ValueKind::Object) return std::nullopt;
        json::object out;
        for (const auto& field : named->input_fields) {
            const ObjectField* given = nullptr;
            for (const auto& f : v.fields) {
                if (f.name.value == field.name) given = &f;
            }
            if (!given || is_missing_variable(given->value, variables)) {
                if (field.default_value) {
                    auto d = coerce_literal(*field.default_value, field.type, {});
                    if (!d) return std::nullopt;
                    out[field.name] = std::move(*d);
                } else if (field.type.is_non_null()) {
                    return std::nullopt;
                }
                continue;
            }
            auto c = coerce_literal(given->value, field.type, variables);
            if (!c) return std::nullopt;
            out[field.name] = std::move(*c);
        }
        return json::value(std::move(out));
    }
    if (named->kind == TypeKind::Enum) {
        if (v.kind != ValueKind::Enum || !named->enum_value(v.text)) return std::nullopt;
        return json::value(v.text);
    }
    const Value literal = substitute(v, variables);
    if (!named->coercion.parse_literal) return literal_to_json(literal);
    auto r = named->coercion.parse_literal(literal);
    if (!r) return std::nullopt;
    return std::move(*r);
}

// --- CollectFields and the resolved tree ----------------------------------------------------

namespace {

class Preparer {
public:
    Preparer(const Schema& schema, const Document& doc, const OperationLimits& limits)
        : schema_(schema), doc_(doc), limits_(limits) {
        for (const auto& def : doc.definitions) {
            if (const auto* f = std::get_if<FragmentDefinition>(&def))
                fragments_[f->name.value] = f;
        }
    }

    GraphQLErrors errors;
    json::object variables;
    std::size_t count = 0;

    bool coerce_variables(const OperationDefinition& op, const json::object& inputs) {
        for (const auto& var : op.variables) {
            const std::string& name = var.name.value;
            auto type = schema_.type_from_ast(var.type);
            if (!type || !type->named_type()->is_input()) {
                errors.push_back({"Variable \"$" + name + "\" expected value of type \"" +
                                      print_type(var.type) +
                                      "\" which cannot be used as an input type.",
                                  {var.type.loc},
                                  {}});
                continue;
            }
            const json::value* given = inputs.if_contains(name);
            if (!given) {
                if (var.default_value) {
                    if (auto d = coerce_literal(*var.default_value, *type, {}))
                        variables[name] = *d;
                } else if (type->is_non_null()) {
                    errors.push_back({"Variable \"$" + name + "\" of required type \"" +
                                          type->to_string() + "\" was not provided.",
                                      {var.loc},
                                      {}});
                }
                continue;
            }
            if (given->is_null() && type->is_non_null()) {
                errors.push_back({"Variable \"$" + name + "\" of non-null type \"" +
                                      type->to_string() + "\" must not be null.",
                                  {var.loc},
                                  {}});
                continue;
            }
            InputCoercer c;
            std::vector<PathSegment> path;
            json::value out = c.coerce(*given, *type, path);
            for (const auto& f : c.failures) {
                std::string prefix =
                    "Variable \"$" + name + "\" got invalid value " + inspect(f.value);
                if (!f.path.empty()) prefix += " at \"" + name + path_text(f.path) + "\"";
                errors.push_back({prefix + "; " + f.message, {var.loc}, {}});
            }
            if (c.failures.empty()) variables[name] = std::move(out);
        }
        return errors.empty();
    }

    bool include(const std::vector<Directive>& directives) {
        for (const auto& d : directives) {
            if (d.name.value != "skip" && d.name.value != "include") continue;
            const DirectiveDef* def = schema_.directive(d.name.value);
            if (!def) continue;
            auto args = coerce_arguments(def->args, d.arguments, d.loc);
            if (!args) return false;
            const json::value* v = args->if_contains("if");
            const bool flag = v && v->is_bool() && v->get_bool();
            if (d.name.value == "skip" && flag) return false;
            if (d.name.value == "include" && !flag) return false;
        }
        return true;
    }

    std::optional<json::object> coerce_arguments(const std::vector<InputValueDef>& defs,
                                                 const std::vector<Argument>& given,
                                                 SourceLocation loc) {
        json::object out;
        bool ok = true;
        for (const auto& def : defs) {
            const Argument* node = nullptr;
            for (const auto& a : given) {
                if (a.name.value == def.name) node = &a;
            }
            auto use_default = [&]() {
                if (def.default_value) {
                    if (auto d = coerce_literal(*def.default_value, def.type, {}))
                        out[def.name] = *d;
                    return true;
                }
                return false;
            };
            if (!node) {
                if (!use_default() && def.type.is_non_null()) {
                    errors.push_back({"Argument \"" + def.name + "\" of required type \"" +
                                          def.type.to_string() + "\" was not provided.",
                                      {loc},
                                      {}});
                    ok = false;
                }
                continue;
            }
            if (node->value.kind == ValueKind::Variable && !variables.contains(node->value.text)) {
                if (!use_default() && def.type.is_non_null()) {
                    errors.push_back({"Argument \"" + def.name + "\" of required type \"" +
                                          def.type.to_string() +
                                          "\" was provided the variable \"$" + node->value.text +
                                          "\" which was not provided a runtime value.",
                                      {node->value.loc},
                                      {}});
                    ok = false;
                }
                continue;
            }
            const bool is_null =
                node->value.kind == ValueKind::Null || (node->value.kind == ValueKind::Variable &&
                                                        variables.at(node->value.text).is_null());
            if (is_null && def.type.is_non_null()) {
                errors.push_back({"Argument \"" + def.name + "\" of non-null type \"" +
                                      def.type.to_string() + "\" must not be null.",
                                  {node->value.loc},
                                  {}});
                ok = false;
                continue;
            }
            auto c = coerce_literal(node->value, def.type, variables);
            if (!c) {
                errors.push_back({"Argument \"" + def.name + "\" has invalid value " +
                                      print_value(node->value) + ".",
                                  {node->value.loc},
                                  {}});
                ok = false;
                continue;
            }
            out[def.name] = std::move(*c);
        }
        if (!ok) return std::nullopt;
        return out;
    }

    bool condition_matches(const std::string& condition, const NamedType& type) const {
        const NamedType* c = schema_.type(condition);
        if (!c) return false;
        if (c == &type) return true;
        return c->is_abstract() && schema_.is_sub_type(*c, type);
    }

    // Spec 6.3.2 CollectFields: response key → field nodes, in order.
    void collect(const NamedType& type, const SelectionSet& set,
                 std::vector<std::pair<std::string, std::vector<const Selection*>>>& out,
                 std::set<std::string_view>& visited) {
        for (const auto& sel : set.selections) {
            if (!include(sel.directives)) continue;
            switch (sel.kind) {
            case Selection::Kind::Field: {
                auto it = std::find_if(out.begin(), out.end(),
                                       [&](auto& e) { return e.first == sel.response_key(); });
                if (it == out.end()) {
                    out.emplace_back(sel.response_key(), std::vector<const Selection*>{&sel});
                } else {
                    it->second.push_back(&sel);
                }
                break;
            }
            case Selection::Kind::FragmentSpread: {
                if (!visited.insert(sel.name.value).second) break;
                auto it = fragments_.find(sel.name.value);
                if (it == fragments_.end()) break;
                if (!condition_matches(it->second->type_condition.value, type)) break;
                collect(type, it->second->selection_set, out, visited);
                break;
            }
            case Selection::Kind::InlineFragment:
                if (sel.type_condition && !condition_matches(sel.type_condition->value, type))
                    break;
                collect(type, sel.selection_set, out, visited);
                break;
            }
        }
    }

    bool build(const NamedType& type, const std::vector<const SelectionSet*>& sets,
               TypedSelection& out) {
        out.object_type = &type;
        std::vector<std::pair<std::string, std::vector<const Selection*>>> fields;
        std::set<std::string_view> visited;
        for (const auto* set : sets)
            collect(type, *set, fields, visited);
        for (auto& [key, nodes] : fields) {
            if (++count > limits_.max_resolved_fields) {
                errors.push_back({"Operation selects more than " +
                                      std::to_string(limits_.max_resolved_fields) +
                                      " fields once fragments are expanded, walcast's limit; "
                                      "select fewer fields or spread fragments less often.",
                                  {nodes.front()->loc},
                                  {}});
                return false;
            }
            ResolvedField rf;
            rf.response_key = key;
            rf.name = nodes.front()->name.value;
            rf.parent_type = &type;
            rf.def = schema_.field_def(type, rf.name);
            for (const auto* n : nodes)
                rf.locations.push_back(n->loc);
            if (!rf.def) continue; // validated documents select existing fields
            auto args =
                coerce_arguments(rf.def->args, nodes.front()->arguments, nodes.front()->loc);
            if (!args) return false;
            rf.arguments = std::move(*args);
            const NamedType* field_type = rf.def->type.named_type();
            if (field_type && field_type->is_composite()) {
                std::vector<const SelectionSet*> subsets;
                for (const auto* n : nodes) {
                    if (n->has_selection_set) subsets.push_back(&n->selection_set);
                }
                std::vector<const NamedType*> objects;
                if (field_type->kind == TypeKind::Object) {
                    objects.push_back(field_type);
                } else {
                    objects = field_type->possible_types();
                }
                for (const NamedType* object : objects) {
                    TypedSelection ts;
                    if (!build(*object, subsets, ts)) return false;
                    rf.selections.push_back(std::move(ts));
                }
            }
            out.fields.push_back(std::move(rf));
        }
        return true;
    }

private:
    const Schema& schema_;
    const Document& doc_;
    const OperationLimits& limits_;
    std::unordered_map<std::string_view, const FragmentDefinition*> fragments_;
};

} // namespace

Result<PreparedOperation, GraphQLErrors>
prepare_operation(const Schema& schema, const Document& document,
                  const std::optional<std::string>& operation_name, const json::object& variables,
                  const OperationLimits& limits) {
    const OperationDefinition* op = nullptr;
    int count = 0;
    for (const auto& def : document.definitions) {
        const auto* o = std::get_if<OperationDefinition>(&def);
        if (!o) continue;
        ++count;
        if (operation_name) {
            if (o->name && o->name->value == *operation_name) op = o;
        } else if (!op) {
            op = o;
        }
    }
    if (operation_name && !op) {
        return GraphQLErrors{{"Unknown operation named \"" + *operation_name + "\".", {}, {}}};
    }
    if (!operation_name && count > 1) {
        return GraphQLErrors{
            {"Must provide operation name if query contains multiple operations.", {}, {}}};
    }
    if (!op) return GraphQLErrors{{"Must provide an operation.", {}, {}}};
    const NamedType* root = schema.root_type(op->operation);
    if (!root) {
        return GraphQLErrors{{"Schema is not configured to execute " +
                                  std::string(operation_type_name(op->operation)) + " operation.",
                              {op->loc},
                              {}}};
    }
    Preparer p(schema, document, limits);
    if (!p.coerce_variables(*op, variables)) return std::move(p.errors);
    PreparedOperation out;
    out.operation = op->operation;
    if (op->name) out.name = op->name->value;
    out.root_type = root;
    out.variables = p.variables;
    if (!p.build(*root, {&op->selection_set}, out.root)) return std::move(p.errors);
    out.field_count = p.count;
    return out;
}

} // namespace walcast::graphql
