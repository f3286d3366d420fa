#include "graphql/sql/compiler.hpp"

#include "pg/sql_text.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <string_view>
#include <utility>

namespace walcast::graphql::sql {
namespace {

using catalog::FieldBinding;
using catalog::GeneratedSchema;
using catalog::ObjectBinding;
using catalog::Oid;
using catalog::RelationInfo;
using catalog::TypeInfo;
using pg::quote_identifier;
using pg::quote_literal;

/// json_build_object takes at most 100 arguments (FUNC_MAX_ARGS): 50 key/value pairs.
constexpr std::size_t max_pairs_per_call = 50;

/// A JSON value as a text parameter: strings as they are, other scalars as their JSON text.
std::optional<std::string> param_text(const boost::json::value& v) {
    if (v.is_null()) return std::nullopt;
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_bool()) return std::string(v.get_bool() ? "true" : "false");
    return boost::json::serialize(v);
}

/// `{"k": v, …}` built in SQL, keys in order. Up to 50 pairs one json_build_object call; more
/// are concatenated as text (json_build_object's argument limit), the values through to_json.
std::string json_object(const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::string out;
    if (pairs.size() <= max_pairs_per_call) {
        out = "json_build_object(";
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            if (i) out += ", ";
            out += quote_literal(pairs[i].first) + ", " + pairs[i].second;
        }
        return out + ")";
    }
    out = "('{' || ";
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        // Response keys are GraphQL names ([_A-Za-z][_0-9A-Za-z]*): no JSON escaping needed.
        out += quote_literal((i ? ",\"" : "\"") + pairs[i].first + "\":") +
               " || coalesce(to_json(" + pairs[i].second + ")::text, 'null') || ";
    }
    return out + "'}')::json";
}

/// Adds a level's correlation conditions over its relation's alias (null: none).
using Where = std::function<void(const std::string& alias, std::vector<std::string>& out)>;

class Compiler {
public:
    explicit Compiler(const GeneratedSchema& g) : catalog_(*g.catalog), bindings_(g.bindings) {}

    Result<CompiledField, GraphQLErrors> root(const ResolvedField& f) {
        params_.clear();
        path_ = {f.response_key};
        auto rb = bindings_.roots.find(f.name);
        const RelationInfo* rel =
            rb == bindings_.roots.end() ? nullptr : catalog_.relation(rb->second.relation);
        if (!rel) return fail(f, "no binding for the root field \"" + f.name + "\"");
        std::string expr;
        root_eq_.clear();
        collect_root_ = true; // the first level() is the root's
        if (rb->second.by_pk) {
            Where where = [&](const std::string& s, std::vector<std::string>& out) {
                for (std::size_t i = 0; i < f.def->args.size() && i < rel->primary_key.size();
                     ++i) {
                    const auto* v = f.arguments.if_contains(f.def->args[i].name);
                    out.push_back(s + "." + quote_identifier(rel->primary_key[i]) + " = " +
                                  param(v ? *v : boost::json::value()));
                    if (v && !v->is_null())
                        root_eq_.emplace_back(rel->primary_key[i], params_.size());
                }
            };
            expr = rows(*rel, f, where, false);
        } else {
            expr = rows(*rel, f, nullptr, true);
        }
        if (!error_.message.empty()) return GraphQLErrors{error_};
        if (params_.size() > max_parameters)
            return fail(f, "this field needs " + std::to_string(params_.size()) +
                               " values, more than Postgres takes in one statement (65535); "
                               "split it into several operations");
        CompiledField out;
        out.response_key = f.response_key;
        out.sql = "SELECT " + expr + " AS data";
        out.params = std::move(params_);
        out.non_null = f.def->type.is_non_null();
        out.refresh = refresh_conditions(*rel);
        return out;
    }

private:
    GraphQLErrors fail(const ResolvedField& f, std::string what) {
        GraphQLError e;
        e.message = "walcast cannot compile this field: " + std::move(what);
        e.locations = f.locations;
        e.path = path_;
        return {std::move(e)};
    }
    void failed(const ResolvedField& f, std::string what) {
        if (error_.message.empty()) error_ = fail(f, std::move(what)).front();
    }

    /// CompiledField::refresh from the root level's equalities (root_eq_).
    std::vector<RefreshCondition> refresh_conditions(const RelationInfo& rel) const {
        std::vector<RefreshCondition> out;
        if (rel.kind != catalog::RelationKind::Table) return out;
        if (auto n = levels_.find(rel.oid); n == levels_.end() || n->second != 1) return out;
        for (const auto& [column, n] : root_eq_) {
            // Names the filter grammar takes as they are; types the engine's equality index
            // files under one text form (the values GraphQL validated cast to them).
            const bool plain =
                !column.empty() && std::all_of(column.begin(), column.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                });
            Oid oid = 0;
            for (const auto& c : rel.columns)
                if (c.name == column) oid = c.type_oid;
            const TypeInfo* t = catalog_.type(resolve_domain(oid));
            static constexpr std::array indexed{"int2", "int4", "int8", "text", "varchar", "uuid"};
            if (!plain || !t || t->kind != TypeInfo::Kind::Base ||
                std::find(indexed.begin(), indexed.end(), t->name) == indexed.end())
                continue;
            RefreshCondition c{rel.schema + "." + rel.name, column + "=eq.$" + std::to_string(n)};
            if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
        }
        return out;
    }

    std::string param(const boost::json::value& v) {
        params_.push_back(param_text(v));
        return "$" + std::to_string(params_.size());
    }

    static std::string qualified(const RelationInfo& rel) {
        return quote_identifier(rel.schema) + "." + quote_identifier(rel.name);
    }

    const ObjectBinding* object_of(const ResolvedField& f) const {
        const NamedType* t = f.def ? f.def->type.named_type() : nullptr;
        if (!t) return nullptr;
        auto it = bindings_.objects.find(t->name);
        return it == bindings_.objects.end() ? nullptr : &it->second;
    }

    const TypedSelection* selection_of(const ResolvedField& f) {
        if (f.selections.empty()) {
            failed(f, "\"" + f.name + "\" has no selection");
            return nullptr;
        }
        return &f.selections.front();
    }

    Oid resolve_domain(Oid oid) const {
        for (int guard = 0; guard < 64; ++guard) {
            const TypeInfo* t = catalog_.type(oid);
            if (!t || t->kind != TypeInfo::Kind::Domain) return oid;
            oid = t->element_oid;
        }
        return oid;
    }

    /// The GraphQL enum's value name → label map when some label was renamed; else null.
    const catalog::EnumBinding* renamed_enum(Oid oid) const {
        for (const auto& [name, e] : bindings_.enums) {
            if (e.type != oid) continue;
            for (const auto& [value, label] : e.labels)
                if (value != label) return &e;
            return nullptr;
        }
        return nullptr;
    }

    /// The label of an enum value name (unchanged when the enum renamed nothing).
    std::string enum_label(Oid oid, const std::string& value) const {
        if (const auto* e = renamed_enum(resolve_domain(oid))) {
            auto it = e->labels.find(value);
            if (it != e->labels.end()) return it->second;
        }
        return value;
    }

    /// A value of Postgres type `oid` as the JSON the schema promises for `f`.
    std::string value_expr(const std::string& expr, Oid oid, const ResolvedField& f) {
        oid = resolve_domain(oid);
        const TypeInfo* t = catalog_.type(oid);
        if (!t) return expr;
        switch (t->kind) {
        case TypeInfo::Kind::Array: {
            // Element by element, in order, so elements get the same conversion as a column.
            const std::string i = "i" + std::to_string(next_alias_++);
            return "CASE WHEN " + expr + " IS NULL THEN NULL ELSE coalesce((SELECT json_agg(" +
                   value_expr("(" + expr + ")[" + i + "]", t->element_oid, f) + " ORDER BY " + i +
                   ") FROM generate_subscripts(" + expr + ", 1) AS " + i + "), '[]'::json) END";
        }
        case TypeInfo::Kind::Composite: {
            const ObjectBinding* ob = object_of(f);
            const TypedSelection* sel = selection_of(f);
            if (!ob || !sel) {
                failed(f, "no binding for the composite type of \"" + f.name + "\"");
                return "NULL";
            }
            // Not `IS NULL`: that holds for a row whose attributes are all null.
            return "CASE WHEN num_nulls(" + expr + ") = 1 THEN NULL ELSE " +
                   object("(" + expr + ")", *ob, *sel, nullptr) + " END";
        }
        case TypeInfo::Kind::Enum: {
            const auto* e = renamed_enum(oid);
            if (!e) return expr;
            std::string out = "CASE " + expr + "::text";
            for (const auto& [value, label] : e->labels)
                out += " WHEN " + quote_literal(label) + " THEN " + quote_literal(value);
            return out + " END";
        }
        default:
            break;
        }
        const std::string scalar = catalog::scalar_for_typname(t->name);
        // BigInt and BigFloat are strings (no precision lost); String is the text form.
        if (scalar == "BigInt" || scalar == "BigFloat" || scalar == "String")
            return "(" + expr + ")::text";
        return expr;
    }

    /// The JSON object of one row (alias `t`, a relation's derived table) or of one composite
    /// value (`t` = the parenthesized value; rel = null).
    std::string object(const std::string& t, const ObjectBinding& ob, const TypedSelection& sel,
                       const RelationInfo* rel) {
        std::vector<std::pair<std::string, std::string>> pairs;
        const std::string type_name = sel.object_type ? sel.object_type->name : std::string();
        for (const auto& f : sel.fields) {
            if (f.name == "__typename") {
                pairs.emplace_back(f.response_key, quote_literal(type_name) + "::text");
                continue;
            }
            auto it = ob.fields.find(f.name);
            if (it == ob.fields.end()) {
                failed(f, "no binding for " + type_name + "." + f.name);
                continue;
            }
            const FieldBinding& b = it->second;
            path_.push_back(f.response_key);
            std::string value;
            if (b.kind == FieldBinding::Kind::Column) {
                value = value_expr(t + "." + quote_identifier(b.column), b.type_oid, f);
            } else {
                const RelationInfo* target = catalog_.relation(b.target);
                if (!target || !rel) {
                    failed(f, "no relation for " + type_name + "." + f.name);
                    value = "NULL";
                } else {
                    Where where = [&](const std::string& s, std::vector<std::string>& out) {
                        for (const auto& [mine, theirs] : b.join)
                            out.push_back(s + "." + quote_identifier(theirs) + " = " + t + "." +
                                          quote_identifier(mine));
                    };
                    value = rows(*target, f, where, b.kind == FieldBinding::Kind::ToMany);
                }
            }
            path_.pop_back();
            pairs.emplace_back(f.response_key, std::move(value));
        }
        return json_object(pairs);
    }

    /// The columns the derived table of a relation level must carry: those selected, this
    /// side of every join below, the primary key, the ordering columns.
    static void add_column(std::vector<std::string>& cols, const std::string& c) {
        for (const auto& have : cols)
            if (have == c) return;
        cols.push_back(c);
    }
    void needed_columns(const ObjectBinding& ob, const TypedSelection& sel,
                        std::vector<std::string>& cols) const {
        for (const auto& f : sel.fields) {
            auto it = ob.fields.find(f.name);
            if (it == ob.fields.end()) continue;
            if (it->second.kind == FieldBinding::Kind::Column) add_column(cols, it->second.column);
            for (const auto& [mine, theirs] : it->second.join)
                add_column(cols, mine);
        }
    }

    /// `FROM (SELECT … FROM rel AS s WHERE … ORDER BY … LIMIT … OFFSET …) AS t`, with t's
    /// ORDER BY for the aggregate. `list`: filter / orderBy / limit / offset apply.
    struct Level {
        std::string alias;    ///< t<n>
        std::string from;     ///< FROM (…) AS t<n>
        std::string order_by; ///< the ordering over t<n> ("" = none)
    };
    Level level(const RelationInfo& rel, const ResolvedField& f, const ObjectBinding& ob,
                const TypedSelection& sel, const Where& correlate, bool list) {
        const std::string n = std::to_string(next_alias_++);
        const std::string s = "s" + n, t = "t" + n;
        ++levels_[rel.oid];
        const bool at_root = std::exchange(collect_root_, false);
        std::vector<std::string> where;
        if (correlate) correlate(s, where);
        std::vector<std::string> cols;
        needed_columns(ob, sel, cols);
        for (const auto& k : rel.primary_key)
            add_column(cols, k);
        std::vector<std::pair<std::string, std::string>> order; // column, direction SQL
        std::string limits;
        if (list) {
            if (const auto* v = f.arguments.if_contains("filter"); v && v->is_object())
                where.push_back(
                    filter(ob.filter_type, v->get_object(), f, s, at_root ? &root_eq_ : nullptr));
            if (const auto* v = f.arguments.if_contains("orderBy"); v && v->is_array())
                order_keys(ob.order_by_type, v->get_array(), order);
            if (const auto* v = f.arguments.if_contains("limit"); v && !v->is_null())
                limits += " LIMIT " + param(*v);
            if (const auto* v = f.arguments.if_contains("offset"); v && !v->is_null())
                limits += " OFFSET " + param(*v);
        }
        for (const auto& k : rel.primary_key) {
            bool have = false;
            for (const auto& [c, d] : order)
                have = have || c == k;
            if (!have) order.emplace_back(k, "ASC");
        }
        for (const auto& [c, d] : order)
            add_column(cols, c);
        if (cols.empty()) cols.push_back(""); // a row with nothing selected: SELECT FROM
        std::string select;
        for (const auto& c : cols)
            if (!c.empty()) select += (select.empty() ? "" : ", ") + s + "." + quote_identifier(c);
        auto ordering = [&](const std::string& alias) {
            std::string out;
            for (const auto& [c, d] : order)
                out += (out.empty() ? "" : ", ") + alias + "." + quote_identifier(c) + " " + d;
            return out;
        };
        std::string inner = "SELECT " + select + " FROM " + qualified(rel) + " AS " + s;
        for (std::size_t i = 0; i < where.size(); ++i)
            inner += (i ? " AND " : " WHERE ") + where[i];
        if (!order.empty()) inner += " ORDER BY " + ordering(s);
        inner += limits;
        return {t, "FROM (" + inner + ") AS " + t, ordering(t)};
    }

    /// A list field, `(SELECT coalesce(json_agg(obj ORDER BY …), '[]') FROM (…) AS t)`, or a
    /// to-one / by-primary-key field, `(SELECT obj FROM (…) AS t)` (null without a row).
    std::string rows(const RelationInfo& rel, const ResolvedField& f, const Where& where,
                     bool list) {
        const ObjectBinding* ob = object_of(f);
        const TypedSelection* sel = selection_of(f);
        if (!ob || !sel) {
            failed(f, "no binding for the type of \"" + f.name + "\"");
            return "NULL";
        }
        Level l = level(rel, f, *ob, *sel, where, list);
        std::string obj = object(l.alias, *ob, *sel, &rel);
        if (!list) return "(SELECT " + obj + " " + l.from + ")";
        return "(SELECT coalesce(json_agg(" + obj +
               (l.order_by.empty() ? "" : " ORDER BY " + l.order_by) + "), '[]'::json) " + l.from +
               ")";
    }

    /// A `<T>Filter` value as a condition over the relation's alias `s`: every entry holds.
    /// `eqs` (when not null) receives (column, parameter number) of each `eq` term that is a
    /// conjunct of the whole condition: the object's own and those of its `and` lists.
    using Equalities = std::vector<std::pair<std::string, std::size_t>>;
    std::string filter(const std::string& type, const boost::json::object& value,
                       const ResolvedField& f, const std::string& s, Equalities* eqs) {
        auto ib = bindings_.filters.find(type);
        if (ib == bindings_.filters.end()) {
            failed(f, "no binding for the filter type " + type);
            return "FALSE";
        }
        const RelationInfo* rel = catalog_.relation(ib->second.relation);
        std::vector<std::string> conds;
        for (const auto& [key, v] : value) {
            if (v.is_null()) continue; // an absent condition
            if (key == "and" || key == "or") {
                std::vector<std::string> parts;
                if (v.is_array())
                    for (const auto& item : v.get_array())
                        if (item.is_object())
                            parts.push_back(filter(type, item.get_object(), f, s,
                                                   key == "and" ? eqs : nullptr));
                if (parts.empty()) {
                    conds.push_back(key == "and" ? "TRUE" : "FALSE");
                    continue;
                }
                std::string joined;
                for (const auto& p : parts)
                    joined += (joined.empty() ? "" : (key == "and" ? " AND " : " OR ")) + p;
                conds.push_back("(" + joined + ")");
                continue;
            }
            if (key == "not") {
                if (v.is_object())
                    conds.push_back("NOT (" + filter(type, v.get_object(), f, s, nullptr) + ")");
                continue;
            }
            auto col = ib->second.columns.find(key);
            if (col == ib->second.columns.end() || !v.is_object()) {
                failed(f, "no binding for " + type + "." + std::string(key));
                continue;
            }
            Oid oid = 0;
            if (rel)
                for (const auto& c : rel->columns)
                    if (c.name == col->second) oid = c.type_oid;
            const std::string c = s + "." + quote_identifier(col->second);
            for (const auto& [op, arg] : v.get_object()) {
                if (arg.is_null()) continue;
                auto value_param = [&](const boost::json::value& x) {
                    if (x.is_string())
                        return param(
                            boost::json::value(enum_label(oid, std::string(x.get_string()))));
                    return param(x);
                };
                if (op == "eq") {
                    conds.push_back(c + " = " + value_param(arg));
                    if (eqs) eqs->emplace_back(col->second, params_.size());
                } else if (op == "neq")
                    conds.push_back(c + " <> " + value_param(arg));
                else if (op == "gt")
                    conds.push_back(c + " > " + value_param(arg));
                else if (op == "gte")
                    conds.push_back(c + " >= " + value_param(arg));
                else if (op == "lt")
                    conds.push_back(c + " < " + value_param(arg));
                else if (op == "lte")
                    conds.push_back(c + " <= " + value_param(arg));
                else if (op == "like")
                    conds.push_back(c + "::text LIKE " + param(arg));
                else if (op == "ilike")
                    conds.push_back(c + "::text ILIKE " + param(arg));
                else if (op == "isNull")
                    conds.push_back("(" + c + " IS NULL) = " + param(arg));
                else if (op == "in") {
                    std::vector<std::string> items;
                    if (arg.is_array())
                        for (const auto& x : arg.get_array()) {
                            auto text = param_text(x);
                            items.push_back(x.is_string() ? enum_label(oid, *text)
                                                          : text.value_or(""));
                        }
                    params_.push_back(pg::array_literal(items));
                    conds.push_back(c + " = ANY($" + std::to_string(params_.size()) + ")");
                } else {
                    failed(f, "unknown filter operator " + std::string(op));
                }
            }
        }
        if (conds.empty()) return "TRUE";
        if (conds.size() == 1) return conds.front();
        std::string out;
        for (const auto& p : conds)
            out += (out.empty() ? "(" : " AND ") + p;
        return out + ")";
    }

    /// `orderBy`'s keys in order: each object's entries in order.
    void order_keys(const std::string& type, const boost::json::array& list,
                    std::vector<std::pair<std::string, std::string>>& out) const {
        auto ib = bindings_.order_bys.find(type);
        if (ib == bindings_.order_bys.end()) return;
        for (const auto& item : list) {
            if (!item.is_object()) continue;
            for (const auto& [key, dir] : item.get_object()) {
                auto col = ib->second.columns.find(key);
                if (col == ib->second.columns.end() || !dir.is_string()) continue;
                const std::string_view d = dir.get_string();
                std::string sql = d.starts_with("DESC") ? "DESC" : "ASC";
                if (d.ends_with("_NULLS_FIRST"))
                    sql += " NULLS FIRST";
                else if (d.ends_with("_NULLS_LAST"))
                    sql += " NULLS LAST";
                bool have = false;
                for (const auto& [c, _] : out)
                    have = have || c == col->second;
                if (!have) out.emplace_back(col->second, std::move(sql));
            }
        }
    }

    const catalog::CatalogSnapshot& catalog_;
    const catalog::SchemaBindings& bindings_;
    std::vector<std::optional<std::string>> params_;
    std::vector<PathSegment> path_;
    GraphQLError error_;
    int next_alias_ = 0;
    std::map<Oid, int> levels_; ///< how many levels read each relation
    bool collect_root_ = false; ///< the next level() is the root field's
    Equalities root_eq_;        ///< the root level's conjunct equalities
};

} // namespace

Result<CompiledOperation, GraphQLErrors> compile_operation(const GeneratedSchema& schema,
                                                           const PreparedOperation& operation) {
    CompiledOperation out;
    for (const auto& f : operation.root.fields) {
        if (f.name == "__typename" || f.name == "__schema" || f.name == "__type") continue;
        Compiler c(schema);
        auto field = c.root(f);
        if (!field) return field.error();
        out.fields.push_back(std::move(field).value());
    }
    return out;
}

} // namespace walcast::graphql::sql
