#include "graphql/validation.hpp"

#include "graphql/printer.hpp"
#include "graphql/suggest.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace walcast::graphql {

namespace {

using K = TypeSystemDefinition::Kind;

constexpr std::array<std::string_view, 13> standard_type_names = {"String",
                                                                  "Int",
                                                                  "Float",
                                                                  "Boolean",
                                                                  "ID",
                                                                  "__Schema",
                                                                  "__Type",
                                                                  "__TypeKind",
                                                                  "__Field",
                                                                  "__InputValue",
                                                                  "__EnumValue",
                                                                  "__Directive",
                                                                  "__DirectiveLocation"};

struct VarUsage {
    const Value* node;
    std::optional<TypeExpr> type;
    bool location_has_default;
};

// Overlapping fields (spec 5.3.2), graphql-js's algorithm with its caches.
struct NodeAndDef {
    const NamedType* parent;
    const Selection* node;
    const FieldDef* def;
};
struct FieldMap {
    std::vector<std::pair<std::string_view, std::vector<NodeAndDef>>> entries;
    std::unordered_map<std::string_view, std::size_t> index;
    std::vector<NodeAndDef>* find(std::string_view key) {
        auto it = index.find(key);
        return it == index.end() ? nullptr : &entries[it->second].second;
    }
    void add(std::string_view key, NodeAndDef nd) {
        auto it = index.find(key);
        if (it == index.end()) {
            index.emplace(key, entries.size());
            entries.emplace_back(key, std::vector<NodeAndDef>{nd});
        } else {
            entries[it->second].second.push_back(nd);
        }
    }
};
struct FieldsAndFragments {
    FieldMap fields;
    std::vector<std::string_view> fragments;
};
struct Conflict {
    std::string response_name;
    std::string reason;        // when `sub` is empty
    std::vector<Conflict> sub; // sub-field conflicts (fields lists unused inside)
    std::vector<SourceLocation> fields1, fields2;
};

std::string reason_message(const Conflict& c) {
    if (c.sub.empty()) return c.reason;
    std::string out;
    for (std::size_t i = 0; i < c.sub.size(); ++i) {
        if (i) out += " and ";
        out += "subfields \"" + c.sub[i].response_name + "\" conflict because " +
               reason_message(c.sub[i]);
    }
    return out;
}

class Validator {
public:
    Validator(const Schema& schema, const Document& doc, const ValidationOptions& options)
        : schema_(schema), doc_(doc), opt_(options) {}

    GraphQLErrors run() {
        for (const auto& def : doc_.definitions) {
            if (const auto* f = std::get_if<FragmentDefinition>(&def)) {
                fragments_[f->name.value] = f;
            } else if (const auto* ts = std::get_if<TypeSystemDefinition>(&def)) {
                if (ts->kind == K::Directive) {
                    doc_directives_[ts->name.value] = ts;
                } else if (ts->kind != K::Schema && !ts->extension) {
                    doc_type_names_.insert(ts->name.value);
                }
            }
        }
        document_rules();
        for (const auto& def : doc_.definitions) {
            if (aborted_) break;
            std::visit([this](const auto& d) { walk(d); }, def);
        }
        if (!aborted_) after_walk();
        return std::move(errors_);
    }

private:
    // --- reporting -------------------------------------------------------------------------

    void report(std::string message, std::vector<SourceLocation> locations) {
        if (aborted_) return;
        if (errors_.size() >= opt_.max_errors) {
            errors_.push_back(GraphQLError{
                "Too many validation errors, error limit reached. Validation aborted.", {}, {}});
            aborted_ = true;
            return;
        }
        errors_.push_back(GraphQLError{std::move(message), std::move(locations), {}});
    }

    // --- type info -------------------------------------------------------------------------

    std::optional<TypeExpr> input_top() const {
        if (input_stack_.empty()) return std::nullopt;
        return input_stack_.back();
    }
    std::optional<TypeExpr> input_parent() const {
        if (input_stack_.size() < 2) return std::nullopt;
        return input_stack_[input_stack_.size() - 2];
    }
    const NamedType* parent_top() const {
        return parent_stack_.empty() ? nullptr : parent_stack_.back();
    }
    const FieldDef* field_top() const {
        return field_stack_.empty() ? nullptr : field_stack_.back();
    }
    std::optional<TypeExpr> type_top() const {
        if (type_stack_.empty()) return std::nullopt;
        return type_stack_.back();
    }
    static const NamedType* named(const std::optional<TypeExpr>& t) {
        return t ? t->named_type() : nullptr;
    }
    std::optional<TypeExpr> input_or_none(std::optional<TypeExpr> t) const {
        if (t && t->named_type() && t->named_type()->is_input()) return t;
        return std::nullopt;
    }
    std::optional<TypeExpr> output_or_none(std::optional<TypeExpr> t) const {
        if (t && t->named_type() && t->named_type()->is_output()) return t;
        return std::nullopt;
    }
    std::optional<TypeExpr> named_expr(const NamedType* t) const {
        if (!t) return std::nullopt;
        return TypeExpr::named(t->name).with_type(t);
    }

    // --- document-level rules ----------------------------------------------------------------

    void document_rules() {
        // ExecutableDefinitions, LoneAnonymousOperation's count.
        for (const auto& def : doc_.definitions) {
            if (const auto* ts = std::get_if<TypeSystemDefinition>(&def)) {
                const std::string name =
                    ts->kind == K::Schema ? "schema" : "\"" + ts->name.value + "\"";
                report("The " + name + " definition is not executable.", {ts->loc});
            } else if (std::holds_alternative<OperationDefinition>(def)) {
                ++operation_count_;
            }
        }
    }

    // --- definitions -----------------------------------------------------------------------

    void walk(const OperationDefinition& op) {
        current_usages_ = &usages_[&op];
        if (op.name) {
            auto [it, inserted] = operation_names_.emplace(op.name->value, op.name->loc);
            if (!inserted) {
                report("There can be only one operation named \"" + op.name->value + "\".",
                       {it->second, op.name->loc});
            }
        } else if (operation_count_ > 1) {
            report("This anonymous operation must be the only defined operation.", {op.loc});
        }
        single_field_subscription(op);
        const NamedType* root = schema_.root_type(op.operation);
        type_stack_.push_back(named_expr(root));
        // UniqueVariableNames
        {
            std::vector<std::pair<std::string_view, std::vector<SourceLocation>>> groups;
            for (const auto& v : op.variables) {
                auto it = std::find_if(groups.begin(), groups.end(),
                                       [&](const auto& g) { return g.first == v.name.value; });
                if (it == groups.end()) {
                    groups.emplace_back(v.name.value, std::vector<SourceLocation>{v.name.loc});
                } else {
                    it->second.push_back(v.name.loc);
                }
            }
            for (auto& [name, locs] : groups) {
                if (locs.size() > 1) {
                    report("There can be only one variable named \"$" + std::string(name) + "\".",
                           locs);
                }
            }
        }
        for (const auto& v : op.variables)
            walk_variable_definition(v);
        const DirectiveLocation loc =
            op.operation == OperationType::Query      ? DirectiveLocation::Query
            : op.operation == OperationType::Mutation ? DirectiveLocation::Mutation
                                                      : DirectiveLocation::Subscription;
        walk_directives(op.directives, loc, nullptr);
        walk_selection_set(op.selection_set);
        type_stack_.pop_back();
        current_usages_ = nullptr;
    }

    void walk_variable_definition(const VariableDefinition& v) {
        const auto type = schema_.type_from_ast(v.type);
        input_stack_.push_back(input_or_none(type));
        if (type && !type->named_type()->is_input()) {
            report("Variable \"$" + v.name.value + "\" cannot be non-input type \"" +
                       print_type(v.type) + "\".",
                   {v.type.loc});
        }
        known_type_names(v.type, false);
        if (v.default_value) walk_value(*v.default_value, true);
        walk_directives(v.directives, DirectiveLocation::VariableDefinition, nullptr);
        input_stack_.pop_back();
    }

    void walk(const FragmentDefinition& frag) {
        current_usages_ = &usages_[&frag];
        auto [it, inserted] = fragment_names_.emplace(frag.name.value, frag.name.loc);
        if (!inserted) {
            report("There can be only one fragment named \"" + frag.name.value + "\".",
                   {it->second, frag.name.loc});
        }
        const NamedType* cond = schema_.type(frag.type_condition.value);
        type_stack_.push_back(output_or_none(named_expr(cond)));
        if (cond && !cond->is_composite()) {
            report("Fragment \"" + frag.name.value +
                       "\" cannot condition on non composite type \"" + frag.type_condition.value +
                       "\".",
                   {frag.type_condition.loc});
        }
        known_type_name(frag.type_condition, false);
        walk_directives(frag.directives, DirectiveLocation::FragmentDefinition, nullptr);
        walk_selection_set(frag.selection_set);
        type_stack_.pop_back();
        current_usages_ = nullptr;
    }

    void walk(const TypeSystemDefinition& ts) {
        // Type-system definitions are not executable (reported above); the rules that apply to
        // any node still look at them, as in graphql-js.
        current_usages_ = nullptr;
        std::map<std::string_view, SourceLocation>* seen = nullptr;
        std::map<std::string_view, SourceLocation> fresh;
        if (ts.kind == K::Schema) {
            seen = &schema_directives_seen_;
        } else if (ts.kind != K::Directive) {
            seen = &type_directives_seen_[ts.name.value];
        }
        std::optional<DirectiveLocation> loc;
        switch (ts.kind) {
        case K::Schema:
            loc = DirectiveLocation::Schema;
            break;
        case K::Scalar:
            loc = DirectiveLocation::Scalar;
            break;
        case K::Object:
            loc = DirectiveLocation::Object;
            break;
        case K::Interface:
            loc = DirectiveLocation::Interface;
            break;
        case K::Union:
            loc = DirectiveLocation::Union;
            break;
        case K::Enum:
            loc = DirectiveLocation::Enum;
            break;
        case K::InputObject:
            loc = DirectiveLocation::InputObject;
            break;
        case K::Directive:
            break;
        }
        if (loc) walk_directives(ts.directives, *loc, seen ? seen : &fresh);
        for (const auto& [op, name] : ts.operation_types)
            known_type_name(name, true);
        for (const auto& i : ts.interfaces)
            known_type_name(i, true);
        for (const auto& f : ts.fields) {
            for (const auto& a : f.arguments)
                walk_input_value_definition(a, false);
            known_type_names(f.type, true);
            walk_directives(f.directives, DirectiveLocation::FieldDefinition, nullptr);
        }
        for (const auto& m : ts.members)
            known_type_name(m, true);
        for (const auto& ev : ts.enum_values) {
            walk_directives(ev.directives, DirectiveLocation::EnumValue, nullptr);
        }
        const bool input_definition = ts.kind == K::InputObject && !ts.extension;
        for (const auto& f : ts.input_fields)
            walk_input_value_definition(f, input_definition);
        for (const auto& a : ts.arguments)
            walk_input_value_definition(a, false);
    }

    void walk_input_value_definition(const InputValueDefinition& iv, bool input_field) {
        known_type_names(iv.type, true);
        if (iv.default_value) walk_value(*iv.default_value, true);
        walk_directives(iv.directives,
                        input_field ? DirectiveLocation::InputFieldDefinition
                                    : DirectiveLocation::ArgumentDefinition,
                        nullptr);
    }

    // --- KnownTypeNames -----------------------------------------------------------------------

    void known_type_names(const TypeRef& t, bool sdl) {
        const TypeRef* cur = &t;
        while (cur->kind != TypeRef::Kind::Named)
            cur = &cur->of.front();
        known_type_name(cur->name, sdl);
    }

    void known_type_name(const Name& name, bool sdl) {
        if (schema_.type(name.value) || doc_type_names_.count(name.value)) return;
        const bool standard = std::find(standard_type_names.begin(), standard_type_names.end(),
                                        name.value) != standard_type_names.end();
        if (sdl && standard) return;
        std::vector<std::string> options;
        if (sdl) {
            for (auto n : standard_type_names)
                options.emplace_back(n);
        }
        for (const auto* t : schema_.types())
            options.push_back(t->name);
        for (auto n : doc_type_names_)
            options.emplace_back(n);
        report("Unknown type \"" + name.value + "\"." +
                   did_you_mean(suggestion_list(name.value, options)),
               {name.loc});
    }

    // --- selections ---------------------------------------------------------------------------

    void walk_selection_set(const SelectionSet& set) {
        const NamedType* t = named(type_top());
        parent_stack_.push_back(t && t->is_composite() ? t : nullptr);
        overlapping_fields(parent_top(), set);
        for (const auto& sel : set.selections) {
            if (aborted_) break;
            switch (sel.kind) {
            case Selection::Kind::Field:
                walk_field(sel);
                break;
            case Selection::Kind::FragmentSpread:
                walk_spread(sel);
                break;
            case Selection::Kind::InlineFragment:
                walk_inline_fragment(sel);
                break;
            }
        }
        parent_stack_.pop_back();
    }

    void walk_field(const Selection& f) {
        const NamedType* parent = parent_top();
        const FieldDef* def = parent ? schema_.field_def(*parent, f.name.value) : nullptr;
        field_stack_.push_back(def);
        type_stack_.push_back(def ? output_or_none(def->type) : std::nullopt);
        const auto type = type_top();
        // ScalarLeafs
        if (type) {
            const NamedType* nt = type->named_type();
            if (nt->is_leaf()) {
                if (f.has_selection_set) {
                    report("Field \"" + f.name.value +
                               "\" must not have a selection since type \"" + type->to_string() +
                               "\" has no subfields.",
                           {f.selection_set.loc});
                }
            } else if (!f.has_selection_set) {
                report("Field \"" + f.name.value + "\" of type \"" + type->to_string() +
                           "\" must have a selection of subfields. Did you mean \"" + f.name.value +
                           " { ... }\"?",
                       {f.loc});
            }
        }
        // FieldsOnCorrectType
        if (parent && !def) fields_on_correct_type(*parent, f);
        // MaxIntrospectionDepth
        if ((f.name.value == "__schema" || f.name.value == "__type") && introspection_too_deep(f)) {
            report("Maximum introspection depth exceeded", {f.loc});
        }
        walk_arguments(f.arguments, true);
        walk_directives(f.directives, DirectiveLocation::Field, nullptr);
        if (f.has_selection_set) walk_selection_set(f.selection_set);
        // ProvidedRequiredArguments
        if (def) {
            for (const auto& a : def->args) {
                const bool provided =
                    std::any_of(f.arguments.begin(), f.arguments.end(),
                                [&](const Argument& x) { return x.name.value == a.name; });
                if (!provided && a.type.is_non_null() && !a.default_value) {
                    report("Field \"" + def->name + "\" argument \"" + a.name + "\" of type \"" +
                               a.type.to_string() + "\" is required, but it was not provided.",
                           {f.loc});
                }
            }
        }
        type_stack_.pop_back();
        field_stack_.pop_back();
    }

    void fields_on_correct_type(const NamedType& parent, const Selection& f) {
        const std::string& field_name = f.name.value;
        std::string suggestion;
        if (parent.is_abstract()) {
            // Types (and their interfaces) that have the field, most used first.
            std::vector<const NamedType*> suggested;
            std::map<std::string_view, int> usage;
            auto add = [&](const NamedType* t) {
                if (std::find(suggested.begin(), suggested.end(), t) == suggested.end()) {
                    suggested.push_back(t);
                }
            };
            for (const NamedType* possible : parent.possible_types()) {
                if (!possible->field(field_name)) continue;
                add(possible);
                usage[possible->name] = 1;
                for (const NamedType* iface : possible->interface_types()) {
                    if (!iface->field(field_name)) continue;
                    add(iface);
                    usage[iface->name] += 1;
                }
            }
            std::stable_sort(
                suggested.begin(), suggested.end(), [&](const NamedType* a, const NamedType* b) {
                    const int diff = usage[b->name] - usage[a->name];
                    if (diff != 0) return diff < 0;
                    if (a->kind == TypeKind::Interface && schema_.is_sub_type(*a, *b)) {
                        return true;
                    }
                    if (b->kind == TypeKind::Interface && schema_.is_sub_type(*b, *a)) {
                        return false;
                    }
                    return natural_compare(a->name, b->name) < 0;
                });
            std::vector<std::string> names;
            for (const auto* t : suggested)
                names.push_back(t->name);
            suggestion = did_you_mean(names, "to use an inline fragment on");
        }
        if (suggestion.empty() &&
            (parent.kind == TypeKind::Object || parent.kind == TypeKind::Interface)) {
            std::vector<std::string> names;
            for (const auto& fd : parent.fields)
                names.push_back(fd.name);
            suggestion = did_you_mean(suggestion_list(field_name, names));
        }
        report("Cannot query field \"" + field_name + "\" on type \"" + parent.name + "\"." +
                   suggestion,
               {f.loc});
    }

    bool types_overlap(const NamedType& a, const NamedType& b) const {
        if (&a == &b) return true;
        if (a.is_abstract()) {
            if (b.is_abstract()) {
                for (const NamedType* t : a.possible_types()) {
                    if (schema_.is_sub_type(b, *t)) return true;
                }
                return false;
            }
            return schema_.is_sub_type(a, b);
        }
        if (b.is_abstract()) return schema_.is_sub_type(b, a);
        return false;
    }

    void walk_spread(const Selection& s) {
        auto it = fragments_.find(s.name.value);
        if (it == fragments_.end()) {
            report("Unknown fragment \"" + s.name.value + "\".", {s.name.loc});
        } else {
            const NamedType* frag_type = schema_.type(it->second->type_condition.value);
            const NamedType* parent = parent_top();
            if (frag_type && frag_type->is_composite() && parent &&
                !types_overlap(*frag_type, *parent)) {
                report("Fragment \"" + s.name.value +
                           "\" cannot be spread here as objects of type \"" + parent->name +
                           "\" can never be of type \"" + frag_type->name + "\".",
                       {s.loc});
            }
        }
        walk_directives(s.directives, DirectiveLocation::FragmentSpread, nullptr);
    }

    void walk_inline_fragment(const Selection& s) {
        std::optional<TypeExpr> t;
        if (s.type_condition) {
            t = named_expr(schema_.type(s.type_condition->value));
        } else {
            t = named_expr(named(type_top()));
        }
        type_stack_.push_back(output_or_none(t));
        if (s.type_condition) {
            const NamedType* cond = schema_.type(s.type_condition->value);
            if (cond && !cond->is_composite()) {
                report("Fragment cannot condition on non composite type \"" +
                           s.type_condition->value + "\".",
                       {s.type_condition->loc});
            }
            known_type_name(*s.type_condition, false);
        }
        const NamedType* frag_type = named(type_top());
        const NamedType* parent = parent_top();
        if (frag_type && frag_type->is_composite() && parent &&
            !types_overlap(*frag_type, *parent)) {
            report("Fragment cannot be spread here as objects of type \"" + parent->name +
                       "\" can never be of type \"" + frag_type->name + "\".",
                   {s.loc});
        }
        walk_directives(s.directives, DirectiveLocation::InlineFragment, nullptr);
        walk_selection_set(s.selection_set);
        type_stack_.pop_back();
    }

    // --- directives and arguments -------------------------------------------------------------

    struct DirectiveInfo {
        bool known = false;
        bool unique = false;
        std::vector<std::string> locations;
        std::vector<std::string> args;
        std::vector<std::pair<std::string, std::string>> required; // name, type text
    };

    DirectiveInfo directive_info(std::string_view name) const {
        DirectiveInfo info;
        auto doc_it = doc_directives_.find(name);
        if (doc_it != doc_directives_.end()) {
            const auto& d = *doc_it->second;
            info.known = true;
            info.unique = !d.repeatable;
            for (const auto& l : d.locations)
                info.locations.push_back(l.value);
            for (const auto& a : d.arguments) {
                info.args.push_back(a.name.value);
                if (a.type.kind == TypeRef::Kind::NonNull &&
                    (!a.default_value || a.default_value->kind == ValueKind::Null)) {
                    info.required.emplace_back(a.name.value, print_type(a.type));
                }
            }
            return info;
        }
        if (const DirectiveDef* d = schema_.directive(name)) {
            info.known = true;
            info.unique = !d->repeatable;
            for (auto l : d->locations)
                info.locations.emplace_back(directive_location_name(l));
            for (const auto& a : d->args) {
                info.args.push_back(a.name);
                if (a.type.is_non_null() && !a.default_value) {
                    info.required.emplace_back(a.name, a.type.to_string());
                }
            }
        }
        return info;
    }

    void walk_directives(const std::vector<Directive>& directives, DirectiveLocation location,
                         std::map<std::string_view, SourceLocation>* seen_shared) {
        std::map<std::string_view, SourceLocation> fresh;
        auto& seen = seen_shared ? *seen_shared : fresh;
        for (const auto& d : directives) {
            if (aborted_) return;
            const DirectiveInfo info = directive_info(d.name.value);
            // KnownDirectives
            if (!info.known) {
                report("Unknown directive \"@" + d.name.value + "\".", {d.loc});
            } else {
                const std::string_view loc_name = directive_location_name(location);
                if (std::find(info.locations.begin(), info.locations.end(), loc_name) ==
                    info.locations.end()) {
                    report("Directive \"@" + d.name.value + "\" may not be used on " +
                               std::string(loc_name) + ".",
                           {d.loc});
                }
            }
            // UniqueDirectivesPerLocation
            if (info.known && info.unique) {
                auto [it, inserted] = seen.emplace(d.name.value, d.loc);
                if (!inserted) {
                    report("The directive \"@" + d.name.value +
                               "\" can only be used once at this location.",
                           {it->second, d.loc});
                }
            }
            // KnownArgumentNamesOnDirectives
            if (info.known) {
                for (const auto& a : d.arguments) {
                    if (std::find(info.args.begin(), info.args.end(), a.name.value) ==
                        info.args.end()) {
                        report("Unknown argument \"" + a.name.value + "\" on directive \"@" +
                                   d.name.value + "\"." +
                                   did_you_mean(suggestion_list(a.name.value, info.args)),
                               {a.name.loc});
                    }
                }
            }
            directive_ = schema_.directive(d.name.value);
            walk_arguments(d.arguments, false);
            directive_ = nullptr;
            // ProvidedRequiredArgumentsOnDirectives
            if (info.known) {
                for (const auto& [name, type] : info.required) {
                    const bool provided = std::any_of(
                        d.arguments.begin(), d.arguments.end(),
                        [&name = name](const Argument& x) { return x.name.value == name; });
                    if (!provided) {
                        report("Directive \"@" + d.name.value + "\" argument \"" + name +
                                   "\" of type \"" + type +
                                   "\" is required, but it was not provided.",
                               {d.loc});
                    }
                }
            }
        }
    }

    void walk_arguments(const std::vector<Argument>& args, bool on_field) {
        // UniqueArgumentNames
        std::vector<std::pair<std::string_view, std::vector<SourceLocation>>> groups;
        for (const auto& a : args) {
            auto it = std::find_if(groups.begin(), groups.end(),
                                   [&](const auto& g) { return g.first == a.name.value; });
            if (it == groups.end()) {
                groups.emplace_back(a.name.value, std::vector<SourceLocation>{a.name.loc});
            } else {
                it->second.push_back(a.name.loc);
            }
        }
        for (auto& [name, locs] : groups) {
            if (locs.size() > 1) {
                report("There can be only one argument named \"" + std::string(name) + "\".", locs);
            }
        }
        for (const auto& a : args) {
            if (aborted_) return;
            const InputValueDef* def = nullptr;
            if (directive_) {
                def = directive_->arg(a.name.value);
            } else if (const FieldDef* f = field_top()) {
                def = f->arg(a.name.value);
            }
            // KnownArgumentNames (fields; directive arguments are checked above)
            if (on_field && !def && field_top() && parent_top()) {
                std::vector<std::string> names;
                for (const auto& x : field_top()->args)
                    names.push_back(x.name);
                report("Unknown argument \"" + a.name.value + "\" on field \"" +
                           parent_top()->name + "." + field_top()->name + "\"." +
                           did_you_mean(suggestion_list(a.name.value, names)),
                       {a.name.loc});
            }
            default_stack_.push_back(def && def->default_value.has_value());
            input_stack_.push_back(def ? input_or_none(def->type) : std::nullopt);
            walk_value(a.value, true);
            input_stack_.pop_back();
            default_stack_.pop_back();
        }
    }

    // --- values ---------------------------------------------------------------------------------

    void walk_value(const Value& v, bool check) {
        switch (v.kind) {
        case ValueKind::List: {
            const auto location = input_top();
            std::optional<TypeExpr> item;
            if (location) {
                const TypeExpr nullable = location->nullable();
                item = nullable.is_list() ? nullable.of_type() : nullable;
            }
            default_stack_.push_back(false);
            input_stack_.push_back(input_or_none(item));
            if (check) {
                const auto parent = input_parent();
                if (!(parent && parent->nullable().is_list())) {
                    valid_value_node(v);
                    check = false;
                }
            }
            for (const auto& item_value : v.list)
                walk_value(item_value, check);
            input_stack_.pop_back();
            default_stack_.pop_back();
            return;
        }
        case ValueKind::Object: {
            const NamedType* type = named(input_top());
            if (check) {
                if (!type || type->kind != TypeKind::InputObject) {
                    valid_value_node(v);
                    check = false;
                } else {
                    for (const auto& fd : type->input_fields) {
                        const bool given =
                            std::any_of(v.fields.begin(), v.fields.end(),
                                        [&](auto& f) { return f.name.value == fd.name; });
                        if (!given && fd.type.is_non_null() && !fd.default_value) {
                            report("Field \"" + type->name + "." + fd.name +
                                       "\" of required type \"" + fd.type.to_string() +
                                       "\" was not provided.",
                                   {v.loc});
                        }
                    }
                }
            }
            // UniqueInputFieldNames
            std::map<std::string_view, SourceLocation> known;
            for (const auto& f : v.fields) {
                auto [it, inserted] = known.emplace(f.name.value, f.name.loc);
                if (!inserted) {
                    report("There can be only one input field named \"" + f.name.value + "\".",
                           {it->second, f.name.loc});
                }
            }
            for (const auto& f : v.fields) {
                const NamedType* object_type = named(input_top());
                const InputValueDef* field =
                    object_type && object_type->kind == TypeKind::InputObject
                        ? object_type->input_field(f.name.value)
                        : nullptr;
                default_stack_.push_back(field && field->default_value.has_value());
                input_stack_.push_back(field ? input_or_none(field->type) : std::nullopt);
                if (check && !field && object_type && object_type->kind == TypeKind::InputObject) {
                    std::vector<std::string> names;
                    for (const auto& x : object_type->input_fields)
                        names.push_back(x.name);
                    report("Field \"" + f.name.value + "\" is not defined by type \"" +
                               object_type->name + "\"." +
                               did_you_mean(suggestion_list(f.name.value, names)),
                           {f.name.loc});
                }
                walk_value(f.value, check);
                input_stack_.pop_back();
                default_stack_.pop_back();
            }
            return;
        }
        case ValueKind::Null:
            if (check) {
                const auto t = input_top();
                if (t && t->is_non_null()) {
                    report("Expected value of type \"" + t->to_string() + "\", found null.",
                           {v.loc});
                }
            }
            return;
        case ValueKind::Variable:
            if (current_usages_) {
                current_usages_->push_back(
                    VarUsage{&v, input_top(), !default_stack_.empty() && default_stack_.back()});
            }
            return;
        default:
            if (check) valid_value_node(v);
            return;
        }
    }

    void valid_value_node(const Value& v) {
        const auto location = input_top();
        if (!location) return;
        const NamedType* type = location->named_type();
        if (!type->is_leaf()) {
            report("Expected value of type \"" + location->to_string() + "\", found " +
                       print_value(v) + ".",
                   {v.loc});
            return;
        }
        if (type->kind == TypeKind::Enum) {
            std::vector<std::string> names;
            for (const auto& ev : type->enum_values)
                names.push_back(ev.name);
            if (v.kind != ValueKind::Enum) {
                const std::string shown = print_value(v);
                report("Enum \"" + type->name + "\" cannot represent non-enum value: " + shown +
                           "." + did_you_mean(suggestion_list(shown, names), "the enum value"),
                       {v.loc});
            } else if (!type->enum_value(v.text)) {
                report("Value \"" + v.text + "\" does not exist in \"" + type->name + "\" enum." +
                           did_you_mean(suggestion_list(v.text, names), "the enum value"),
                       {v.loc});
            }
            return;
        }
        if (!type->coercion.parse_literal) return;
        auto r = type->coercion.parse_literal(v);
        if (!r) report(r.error(), {v.loc});
    }

    // --- SingleFieldSubscriptions
    // -----------------------------------------------------------------

    bool literal_skip(const std::vector<Directive>& directives) const {
        for (const auto& d : directives) {
            if (d.name.value != "skip" && d.name.value != "include") continue;
            for (const auto& a : d.arguments) {
                if (a.name.value != "if" || a.value.kind != ValueKind::Boolean) continue;
                if (d.name.value == "skip" && a.value.boolean) return true;
                if (d.name.value == "include" && !a.value.boolean) return true;
            }
        }
        return false;
    }

    void
    collect_root_fields(const NamedType& type, const SelectionSet& set,
                        std::vector<std::pair<std::string, std::vector<const Selection*>>>& out,
                        std::set<std::string_view>& visited) const {
        for (const auto& sel : set.selections) {
            if (literal_skip(sel.directives)) continue;
            switch (sel.kind) {
            case Selection::Kind::Field: {
                auto it = std::find_if(out.begin(), out.end(), [&](const auto& e) {
                    return e.first == sel.response_key();
                });
                if (it == out.end()) {
                    out.emplace_back(sel.response_key(), std::vector<const Selection*>{&sel});
                } else {
                    it->second.push_back(&sel);
                }
                break;
            }
            case Selection::Kind::InlineFragment:
                if (sel.type_condition && !condition_matches(sel.type_condition->value, type))
                    break;
                collect_root_fields(type, sel.selection_set, out, visited);
                break;
            case Selection::Kind::FragmentSpread: {
                if (!visited.insert(sel.name.value).second) break;
                auto it = fragments_.find(sel.name.value);
                if (it == fragments_.end()) break;
                if (!condition_matches(it->second->type_condition.value, type)) break;
                collect_root_fields(type, it->second->selection_set, out, visited);
                break;
            }
            }
        }
    }

    bool condition_matches(std::string_view condition, const NamedType& type) const {
        const NamedType* c = schema_.type(condition);
        if (!c) return false;
        if (c == &type) return true;
        return c->is_abstract() && schema_.is_sub_type(*c, type);
    }

    void single_field_subscription(const OperationDefinition& op) {
        if (op.operation != OperationType::Subscription || !schema_.subscription_type()) return;
        std::vector<std::pair<std::string, std::vector<const Selection*>>> fields;
        std::set<std::string_view> visited;
        collect_root_fields(*schema_.subscription_type(), op.selection_set, fields, visited);
        const std::string prefix =
            op.name ? "Subscription \"" + op.name->value + "\"" : "Anonymous Subscription";
        if (fields.size() > 1) {
            std::vector<SourceLocation> locs;
            for (std::size_t i = 1; i < fields.size(); ++i) {
                for (const auto* s : fields[i].second)
                    locs.push_back(s->loc);
            }
            report(prefix + " must select only one top level field.", locs);
        }
        for (const auto& [key, nodes] : fields) {
            if (nodes.front()->name.value.rfind("__", 0) == 0) {
                std::vector<SourceLocation> locs;
                for (const auto* s : nodes)
                    locs.push_back(s->loc);
                report(prefix + " must not select an introspection top level field.", locs);
            }
        }
    }

    // --- MaxIntrospectionDepth
    // ----------------------------------------------------------------------

    bool introspection_too_deep(const Selection& field) {
        std::set<std::string_view> visited;
        std::map<std::pair<std::string_view, int>, bool> memo;
        return depth_check(field, visited, memo, 0);
    }

    bool depth_check(const Selection& node, std::set<std::string_view>& visited,
                     std::map<std::pair<std::string_view, int>, bool>& memo, int depth) {
        if (node.kind == Selection::Kind::FragmentSpread) {
            if (visited.count(node.name.value)) return false;
            auto it = fragments_.find(node.name.value);
            if (it == fragments_.end()) return false;
            auto key = std::make_pair(std::string_view(node.name.value), depth);
            if (auto m = memo.find(key); m != memo.end()) return m->second;
            visited.insert(node.name.value);
            bool deep = false;
            for (const auto& child : it->second->selection_set.selections) {
                if ((deep = depth_check(child, visited, memo, depth))) break;
            }
            visited.erase(node.name.value);
            memo[key] = deep;
            return deep;
        }
        if (node.kind == Selection::Kind::Field &&
            (node.name.value == "fields" || node.name.value == "interfaces" ||
             node.name.value == "possibleTypes" || node.name.value == "inputFields")) {
            if (++depth >= 3) return true;
        }
        if (node.has_selection_set) {
            for (const auto& child : node.selection_set.selections) {
                if (depth_check(child, visited, memo, depth)) return true;
            }
        }
        return false;
    }

    // --- OverlappingFieldsCanBeMerged
    // ---------------------------------------------------------------

    FieldsAndFragments& fields_and_fragments(const NamedType* parent, const SelectionSet& set) {
        auto it = merge_cache_.find(&set);
        if (it != merge_cache_.end()) return *it->second;
        auto result = std::make_unique<FieldsAndFragments>();
        std::set<std::string_view> names;
        collect_fields_and_fragments(parent, set, *result, names);
        auto& ref = *result;
        merge_cache_.emplace(&set, std::move(result));
        return ref;
    }

    void collect_fields_and_fragments(const NamedType* parent, const SelectionSet& set,
                                      FieldsAndFragments& out, std::set<std::string_view>& names) {
        for (const auto& sel : set.selections) {
            switch (sel.kind) {
            case Selection::Kind::Field: {
                const FieldDef* def = nullptr;
                if (parent &&
                    (parent->kind == TypeKind::Object || parent->kind == TypeKind::Interface)) {
                    def = parent->field(sel.name.value);
                }
                out.fields.add(sel.response_key(), NodeAndDef{parent, &sel, def});
                break;
            }
            case Selection::Kind::FragmentSpread:
                if (names.insert(sel.name.value).second) out.fragments.push_back(sel.name.value);
                break;
            case Selection::Kind::InlineFragment: {
                const NamedType* t =
                    sel.type_condition ? schema_.type(sel.type_condition->value) : parent;
                collect_fields_and_fragments(t, sel.selection_set, out, names);
                break;
            }
            }
        }
    }

    FieldsAndFragments* referenced_fields_and_fragments(const FragmentDefinition& frag) {
        auto it = merge_cache_.find(&frag.selection_set);
        if (it != merge_cache_.end()) return it->second.get();
        return &fields_and_fragments(schema_.type(frag.type_condition.value), frag.selection_set);
    }

    const FragmentDefinition* fragment(std::string_view name) const {
        auto it = fragments_.find(name);
        return it == fragments_.end() ? nullptr : it->second;
    }

    void overlapping_fields(const NamedType* parent, const SelectionSet& set) {
        if (merge_aborted_) return;
        std::vector<Conflict> conflicts;
        auto& ff = fields_and_fragments(parent, set);
        collect_conflicts_within(conflicts, ff.fields);
        const auto fragments = ff.fragments; // copy: the cache may grow
        for (std::size_t i = 0; i < fragments.size(); ++i) {
            collect_conflicts_between_fields_and_fragment(conflicts, false, ff.fields,
                                                          fragments[i]);
            for (std::size_t j = i + 1; j < fragments.size(); ++j) {
                collect_conflicts_between_fragments(conflicts, false, fragments[i], fragments[j]);
            }
        }
        if (merge_aborted_) {
            report("Validation aborted: checking that this document's fields can be merged (spec "
                   "5.3.2) needs more than " +
                       std::to_string(opt_.max_merge_comparisons) +
                       " field comparisons, walcast's limit; use fewer repeated fields and "
                       "fragment spreads.",
                   {set.loc});
            aborted_ = true;
            return;
        }
        for (const auto& c : conflicts) {
            std::vector<SourceLocation> locs = c.fields1;
            locs.insert(locs.end(), c.fields2.begin(), c.fields2.end());
            report("Fields \"" + c.response_name + "\" conflict because " + reason_message(c) +
                       ". Use different aliases on the fields to fetch both if this was "
                       "intentional.",
                   std::move(locs));
        }
    }

    void collect_conflicts_between_fields_and_fragment(std::vector<Conflict>& conflicts,
                                                       bool exclusive, FieldMap& fields,
                                                       std::string_view fragment_name) {
        if (merge_aborted_) return;
        auto& compared = compared_fields_fragment_[&fields];
        if (auto it = compared.find(fragment_name); it != compared.end()) {
            if (exclusive || it->second == exclusive) return;
        }
        compared[fragment_name] = exclusive;
        const FragmentDefinition* frag = fragment(fragment_name);
        if (!frag) return;
        FieldsAndFragments* other = referenced_fields_and_fragments(*frag);
        if (&other->fields == &fields) return;
        collect_conflicts_between(conflicts, exclusive, fields, other->fields);
        const auto referenced = other->fragments;
        for (auto name : referenced) {
            collect_conflicts_between_fields_and_fragment(conflicts, exclusive, fields, name);
        }
    }

    void collect_conflicts_between_fragments(std::vector<Conflict>& conflicts, bool exclusive,
                                             std::string_view name1, std::string_view name2) {
        if (merge_aborted_ || name1 == name2) return;
        auto key = name1 < name2 ? std::make_pair(name1, name2) : std::make_pair(name2, name1);
        if (auto it = compared_fragments_.find(key); it != compared_fragments_.end()) {
            if (exclusive || it->second == exclusive) return;
        }
        compared_fragments_[key] = exclusive;
        const FragmentDefinition* f1 = fragment(name1);
        const FragmentDefinition* f2 = fragment(name2);
        if (!f1 || !f2) return;
        FieldsAndFragments* a = referenced_fields_and_fragments(*f1);
        FieldsAndFragments* b = referenced_fields_and_fragments(*f2);
        collect_conflicts_between(conflicts, exclusive, a->fields, b->fields);
        const auto refs2 = b->fragments;
        for (auto n : refs2)
            collect_conflicts_between_fragments(conflicts, exclusive, name1, n);
        const auto refs1 = a->fragments;
        for (auto n : refs1)
            collect_conflicts_between_fragments(conflicts, exclusive, n, name2);
    }

    std::vector<Conflict> conflicts_between_sub_selection_sets(bool exclusive,
                                                               const NamedType* parent1,
                                                               const SelectionSet& set1,
                                                               const NamedType* parent2,
                                                               const SelectionSet& set2) {
        std::vector<Conflict> conflicts;
        auto& a = fields_and_fragments(parent1, set1);
        auto& b = fields_and_fragments(parent2, set2);
        collect_conflicts_between(conflicts, exclusive, a.fields, b.fields);
        const auto frags_b = b.fragments;
        const auto frags_a = a.fragments;
        for (auto n : frags_b)
            collect_conflicts_between_fields_and_fragment(conflicts, exclusive, a.fields, n);
        for (auto n : frags_a)
            collect_conflicts_between_fields_and_fragment(conflicts, exclusive, b.fields, n);
        for (auto n1 : frags_a) {
            for (auto n2 : frags_b)
                collect_conflicts_between_fragments(conflicts, exclusive, n1, n2);
        }
        return conflicts;
    }

    void collect_conflicts_within(std::vector<Conflict>& conflicts, FieldMap& fields) {
        for (auto& [name, list] : fields.entries) {
            for (std::size_t i = 0; i < list.size() && !merge_aborted_; ++i) {
                for (std::size_t j = i + 1; j < list.size() && !merge_aborted_; ++j) {
                    if (auto c = find_conflict(false, name, list[i], list[j])) {
                        conflicts.push_back(std::move(*c));
                    }
                }
            }
        }
    }

    void collect_conflicts_between(std::vector<Conflict>& conflicts, bool exclusive,
                                   FieldMap& fields1, FieldMap& fields2) {
        for (auto& [name, list1] : fields1.entries) {
            auto* list2 = fields2.find(name);
            if (!list2) continue;
            for (const auto& f1 : list1) {
                for (const auto& f2 : *list2) {
                    if (merge_aborted_) return;
                    if (auto c = find_conflict(exclusive, name, f1, f2)) {
                        conflicts.push_back(std::move(*c));
                    }
                }
            }
        }
    }

    static bool same_arguments(const Selection& a, const Selection& b) {
        if (a.arguments.size() != b.arguments.size()) return false;
        for (const auto& x : a.arguments) {
            auto it = std::find_if(b.arguments.begin(), b.arguments.end(),
                                   [&](const Argument& y) { return y.name.value == x.name.value; });
            if (it == b.arguments.end()) return false;
            if (print_value_sorted(x.value) != print_value_sorted(it->value)) return false;
        }
        return true;
    }

    static bool types_conflict(const TypeExpr& a, const TypeExpr& b) {
        if (a.is_list()) return b.is_list() ? types_conflict(a.of_type(), b.of_type()) : true;
        if (b.is_list()) return true;
        if (a.is_non_null())
            return b.is_non_null() ? types_conflict(a.of_type(), b.of_type()) : true;
        if (b.is_non_null()) return true;
        const NamedType* na = a.named_type();
        const NamedType* nb = b.named_type();
        if ((na && na->is_leaf()) || (nb && nb->is_leaf())) return na != nb;
        return false;
    }

    std::optional<Conflict> find_conflict(bool parent_exclusive, std::string_view response_name,
                                          const NodeAndDef& f1, const NodeAndDef& f2) {
        if (++merge_comparisons_ > opt_.max_merge_comparisons) {
            merge_aborted_ = true;
            return std::nullopt;
        }
        const bool exclusive =
            parent_exclusive ||
            (f1.parent != f2.parent && f1.parent && f1.parent->kind == TypeKind::Object &&
             f2.parent && f2.parent->kind == TypeKind::Object);
        auto simple = [&](std::string reason) {
            Conflict c;
            c.response_name = std::string(response_name);
            c.reason = std::move(reason);
            c.fields1 = {f1.node->loc};
            c.fields2 = {f2.node->loc};
            return c;
        };
        if (!exclusive) {
            if (f1.node->name.value != f2.node->name.value) {
                return simple("\"" + f1.node->name.value + "\" and \"" + f2.node->name.value +
                              "\" are different fields");
            }
            if (!same_arguments(*f1.node, *f2.node)) return simple("they have differing arguments");
        }
        if (f1.def && f2.def && types_conflict(f1.def->type, f2.def->type)) {
            return simple("they return conflicting types \"" + f1.def->type.to_string() +
                          "\" and \"" + f2.def->type.to_string() + "\"");
        }
        if (f1.node->has_selection_set && f2.node->has_selection_set) {
            auto sub = conflicts_between_sub_selection_sets(
                exclusive, f1.def ? f1.def->type.named_type() : nullptr, f1.node->selection_set,
                f2.def ? f2.def->type.named_type() : nullptr, f2.node->selection_set);
            if (!sub.empty()) {
                Conflict c;
                c.response_name = std::string(response_name);
                c.fields1 = {f1.node->loc};
                c.fields2 = {f2.node->loc};
                for (auto& s : sub) {
                    c.fields1.insert(c.fields1.end(), s.fields1.begin(), s.fields1.end());
                    c.fields2.insert(c.fields2.end(), s.fields2.begin(), s.fields2.end());
                    Conflict reason;
                    reason.response_name = s.response_name;
                    reason.reason = std::move(s.reason);
                    reason.sub = std::move(s.sub);
                    c.sub.push_back(std::move(reason));
                }
                return c;
            }
        }
        return std::nullopt;
    }

    // --- after the walk: fragments and variables
    // --------------------------------------------------

    // graphql-js getFragmentSpreads: spreads of a selection set, nested sets visited LIFO.
    std::vector<const Selection*> fragment_spreads(const SelectionSet& root) const {
        std::vector<const Selection*> spreads;
        std::vector<const SelectionSet*> stack{&root};
        while (!stack.empty()) {
            const SelectionSet* set = stack.back();
            stack.pop_back();
            for (const auto& sel : set->selections) {
                if (sel.kind == Selection::Kind::FragmentSpread) {
                    spreads.push_back(&sel);
                } else if (sel.has_selection_set) {
                    stack.push_back(&sel.selection_set);
                }
            }
        }
        return spreads;
    }

    std::vector<const FragmentDefinition*>
    referenced_fragments(const OperationDefinition& op) const {
        std::vector<const FragmentDefinition*> out;
        std::set<std::string_view> collected;
        std::vector<const SelectionSet*> stack{&op.selection_set};
        while (!stack.empty()) {
            const SelectionSet* set = stack.back();
            stack.pop_back();
            for (const Selection* spread : fragment_spreads(*set)) {
                if (!collected.insert(spread->name.value).second) continue;
                if (const FragmentDefinition* f = fragment(spread->name.value)) {
                    out.push_back(f);
                    stack.push_back(&f->selection_set);
                }
            }
        }
        return out;
    }

    void detect_cycles(const FragmentDefinition& frag) {
        if (!cycle_visited_.insert(frag.name.value).second) return;
        const auto spreads = fragment_spreads(frag.selection_set);
        if (spreads.empty()) return;
        cycle_index_[frag.name.value] = cycle_path_.size();
        for (const Selection* spread : spreads) {
            auto idx = cycle_index_.find(spread->name.value);
            cycle_path_.push_back(spread);
            if (idx == cycle_index_.end()) {
                if (const FragmentDefinition* f = fragment(spread->name.value)) detect_cycles(*f);
            } else {
                std::vector<SourceLocation> locs;
                std::string via;
                for (std::size_t i = idx->second; i < cycle_path_.size(); ++i) {
                    locs.push_back(cycle_path_[i]->loc);
                    if (i + 1 < cycle_path_.size()) {
                        if (!via.empty()) via += ", ";
                        via += "\"" + cycle_path_[i]->name.value + "\"";
                    }
                }
                report("Cannot spread fragment \"" + spread->name.value + "\" within itself" +
                           (via.empty() ? std::string(".") : " via " + via + "."),
                       locs);
            }
            cycle_path_.pop_back();
        }
        cycle_index_.erase(frag.name.value);
    }

    void after_walk() {
        // NoFragmentCycles
        for (const auto& def : doc_.definitions) {
            if (const auto* f = std::get_if<FragmentDefinition>(&def)) detect_cycles(*f);
        }
        // NoUnusedFragments
        std::set<std::string_view> used;
        for (const auto& def : doc_.definitions) {
            if (const auto* op = std::get_if<OperationDefinition>(&def)) {
                for (const auto* f : referenced_fragments(*op))
                    used.insert(f->name.value);
            }
        }
        for (const auto& def : doc_.definitions) {
            if (const auto* f = std::get_if<FragmentDefinition>(&def)) {
                if (!used.count(f->name.value)) {
                    report("Fragment \"" + f->name.value + "\" is never used.", {f->loc});
                }
            }
        }
        // NoUndefinedVariables, NoUnusedVariables, VariablesInAllowedPosition
        for (const auto& def : doc_.definitions) {
            const auto* op = std::get_if<OperationDefinition>(&def);
            if (!op) continue;
            std::vector<const VarUsage*> usages;
            for (const auto& u : usages_[op])
                usages.push_back(&u);
            for (const auto* f : referenced_fragments(*op)) {
                for (const auto& u : usages_[f])
                    usages.push_back(&u);
            }
            std::map<std::string_view, const VariableDefinition*> defs;
            for (const auto& v : op->variables)
                defs[v.name.value] = &v;
            for (const auto* u : usages) {
                if (!defs.count(u->node->text)) {
                    report(op->name
                               ? "Variable \"$" + u->node->text +
                                     "\" is not defined by operation \"" + op->name->value + "\"."
                               : "Variable \"$" + u->node->text + "\" is not defined.",
                           {u->node->loc, op->loc});
                }
            }
            for (const auto& v : op->variables) {
                const bool is_used = std::any_of(usages.begin(), usages.end(), [&](auto* u) {
                    return u->node->text == v.name.value;
                });
                if (!is_used) {
                    report(op->name
                               ? "Variable \"$" + v.name.value +
                                     "\" is never used in operation \"" + op->name->value + "\"."
                               : "Variable \"$" + v.name.value + "\" is never used.",
                           {v.loc});
                }
            }
            for (const auto* u : usages) {
                auto it = defs.find(u->node->text);
                if (it == defs.end() || !u->type) continue;
                const VariableDefinition& var = *it->second;
                const auto var_type = schema_.type_from_ast(var.type);
                if (!var_type) continue;
                if (!allowed_variable_usage(*var_type, var.default_value, *u->type,
                                            u->location_has_default)) {
                    report("Variable \"$" + u->node->text + "\" of type \"" +
                               var_type->to_string() + "\" used in position expecting type \"" +
                               u->type->to_string() + "\".",
                           {var.loc, u->node->loc});
                }
            }
        }
    }

    bool allowed_variable_usage(const TypeExpr& var_type, const std::optional<Value>& var_default,
                                const TypeExpr& location_type, bool location_default) const {
        if (location_type.is_non_null() && !var_type.is_non_null()) {
            const bool non_null_default = var_default && var_default->kind != ValueKind::Null;
            if (!non_null_default && !location_default) return false;
            return schema_.is_type_sub_type_of(var_type, location_type.of_type());
        }
        return schema_.is_type_sub_type_of(var_type, location_type);
    }

    const Schema& schema_;
    const Document& doc_;
    const ValidationOptions& opt_;
    GraphQLErrors errors_;
    bool aborted_ = false;

    std::unordered_map<std::string_view, const FragmentDefinition*> fragments_;
    std::unordered_map<std::string_view, const TypeSystemDefinition*> doc_directives_;
    std::set<std::string_view> doc_type_names_;
    int operation_count_ = 0;
    std::map<std::string_view, SourceLocation> operation_names_;
    std::map<std::string_view, SourceLocation> fragment_names_;
    std::map<std::string_view, SourceLocation> schema_directives_seen_;
    std::map<std::string_view, std::map<std::string_view, SourceLocation>> type_directives_seen_;

    std::vector<std::optional<TypeExpr>> type_stack_;
    std::vector<const NamedType*> parent_stack_;
    std::vector<std::optional<TypeExpr>> input_stack_;
    std::vector<const FieldDef*> field_stack_;
    std::vector<bool> default_stack_;
    const DirectiveDef* directive_ = nullptr;

    std::unordered_map<const void*, std::vector<VarUsage>> usages_;
    std::vector<VarUsage>* current_usages_ = nullptr;

    std::unordered_map<const SelectionSet*, std::unique_ptr<FieldsAndFragments>> merge_cache_;
    std::unordered_map<const FieldMap*, std::map<std::string_view, bool>> compared_fields_fragment_;
    std::map<std::pair<std::string_view, std::string_view>, bool> compared_fragments_;
    std::uint64_t merge_comparisons_ = 0;
    bool merge_aborted_ = false;

    std::set<std::string_view> cycle_visited_;
    std::map<std::string_view, std::size_t> cycle_index_;
    std::vector<const Selection*> cycle_path_;
};

} // namespace

GraphQLErrors validate(const Schema& schema, const Document& document,
                       const ValidationOptions& options) {
    return Validator(schema, document, options).run();
}

} // namespace walcast::graphql
