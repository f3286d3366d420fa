#include "graphql/catalog/generate_schema.hpp"

#include "graphql/catalog/naming.hpp"
#include "graphql/scalars.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <set>

namespace walcast::graphql::catalog {

std::string scalar_for_typname(std::string_view t) {
    if (t == "int2" || t == "int4") return "Int";
    if (t == "int8" || t == "oid") return "BigInt";
    if (t == "float4" || t == "float8") return "Float";
    if (t == "numeric") return "BigFloat";
    if (t == "bool") return "Boolean";
    if (t == "uuid") return "UUID";
    if (t == "timestamp" || t == "timestamptz") return "DateTime";
    if (t == "date") return "Date";
    if (t == "time" || t == "timetz") return "Time";
    if (t == "json" || t == "jsonb") return "JSON";
    return "String";
}

namespace {

constexpr std::array<std::string_view, 12> scalar_names = {
    "Int",      "Float", "String",   "Boolean", "ID",   "BigInt",
    "BigFloat", "UUID",  "DateTime", "Date",    "Time", "JSON"};
constexpr int max_type_depth = 32;

/// Names taken in one namespace (types; the fields of one type; enum values). A name is
/// claimed as `base`, else as `prefixed` (the schema-qualified form, when given), else with
/// `_2`, `_3`, … appended to the last form tried.
class Names {
public:
    void reserve(std::string name) { taken_.insert(std::move(name)); }
    bool taken(const std::string& name) const { return taken_.count(name) != 0; }
    std::string claim(const std::string& base, const std::string& prefixed = {}) {
        if (!base.empty() && taken_.insert(base).second) return base;
        if (!prefixed.empty() && taken_.insert(prefixed).second) return prefixed;
        const std::string& root = prefixed.empty() ? base : prefixed;
        for (int i = 2;; ++i) {
            std::string n = root + "_" + std::to_string(i);
            if (taken_.insert(n).second) return n;
        }
    }

private:
    std::set<std::string> taken_;
};

/// The GraphQL type of a column after domains, with what filters and ordering need.
struct Resolved {
    TypeExpr type;    ///< nullable form
    std::string leaf; ///< scalar or enum name when the column is one (not a list)
    bool is_enum = false;
    bool comparable() const { return !leaf.empty() && leaf != "JSON"; }
};

InputValueDef input(std::string name, TypeExpr type, std::optional<std::string> description = {}) {
    InputValueDef v;
    v.name = std::move(name);
    v.type = std::move(type);
    v.description = std::move(description);
    return v;
}

const char* relation_word(RelationKind k) {
    switch (k) {
    case RelationKind::Table:
        return "Table";
    case RelationKind::PartitionedTable:
        return "Partitioned table";
    case RelationKind::View:
        return "View";
    case RelationKind::MaterializedView:
        return "Materialized view";
    case RelationKind::ForeignTable:
        return "Foreign table";
    }
    return "Relation";
}

class Generator {
public:
    explicit Generator(std::shared_ptr<const CatalogSnapshot> catalog)
        : catalog_(std::move(catalog)) {}

    Result<std::shared_ptr<const GeneratedSchema>> run();

private:
    Resolved resolve(Oid oid, int depth = 0);
    std::string enum_type(const TypeInfo& t);
    std::string composite_type(const TypeInfo& t, int depth);
    std::string comparison_filter(const std::string& leaf, bool is_enum);
    std::string type_description(const TypeInfo& t) const {
        return "Postgres type " + t.schema + "." + t.name + ".";
    }
    std::vector<InputValueDef> list_args(const ObjectBinding& ob) const;
    std::string qualified(const RelationInfo& r) const { return r.schema + "." + r.name; }
    bool first_schema(const std::string& schema) const {
        return !catalog_->schemas.empty() && catalog_->schemas.front() == schema;
    }

    std::shared_ptr<const CatalogSnapshot> catalog_;
    SchemaBindings b_;
    Names types_;
    std::vector<NamedType> out_; // enums, composites and filters, in creation order
    std::map<Oid, std::string> enum_names_, composite_names_;
    std::map<std::string, std::string> filter_names_; // leaf → filter input type
};

std::string Generator::enum_type(const TypeInfo& t) {
    if (auto it = enum_names_.find(t.oid); it != enum_names_.end()) return it->second;
    std::string name = types_.claim(pascal_case(t.name).empty() ? "Enum" + std::to_string(t.oid)
                                                                : pascal_case(t.name),
                                    pascal_case(t.schema) + pascal_case(t.name));
    enum_names_[t.oid] = name;
    NamedType e;
    e.kind = TypeKind::Enum;
    e.name = name;
    e.description = type_description(t);
    EnumBinding eb{t.oid, {}};
    Names values;
    for (auto reserved : {"true", "false", "null"})
        values.reserve(reserved);
    for (const auto& label : t.enum_labels) {
        std::string v;
        for (char c : label) {
            bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9');
            v += ok ? c : '_';
        }
        if (v.empty() || (v[0] >= '0' && v[0] <= '9')) v.insert(0, "_");
        if (v.rfind("__", 0) == 0) v.insert(0, "v");
        v = values.claim(v);
        EnumValueDef ev;
        ev.name = v;
        if (v != label) ev.description = "The label \"" + label + "\".";
        e.enum_values.push_back(std::move(ev));
        eb.labels.emplace(v, label);
    }
    b_.enums.emplace(name, std::move(eb));
    out_.push_back(std::move(e));
    return name;
}

std::string Generator::composite_type(const TypeInfo& t, int depth) {
    if (auto it = composite_names_.find(t.oid); it != composite_names_.end()) return it->second;
    std::string base =
        pascal_case(t.name).empty() ? "Composite" + std::to_string(t.oid) : pascal_case(t.name);
    std::string name = types_.claim(base, pascal_case(t.schema) + base);
    composite_names_[t.oid] = name;
    NamedType o;
    o.kind = TypeKind::Object;
    o.name = name;
    o.description = type_description(t);
    ObjectBinding ob;
    ob.composite = t.oid;
    Names fields;
    for (const auto& a : t.attributes) {
        Resolved r = resolve(a.type_oid, depth + 1);
        FieldDef f;
        f.name = fields.claim(camel_case(a.name).empty() ? "attribute" : camel_case(a.name));
        f.type = r.type;
        f.description = "Attribute " + t.name + "." + a.name + ".";
        FieldBinding fb;
        fb.column = a.name;
        fb.type_oid = a.type_oid;
        ob.fields.emplace(f.name, std::move(fb));
        o.fields.push_back(std::move(f));
    }
    b_.objects.emplace(name, std::move(ob));
    out_.push_back(std::move(o));
    return name;
}

Resolved Generator::resolve(Oid oid, int depth) {
    const TypeInfo* t = catalog_->type(oid);
    if (!t || depth > max_type_depth) return {TypeExpr::named("String"), "String", false};
    switch (t->kind) {
    case TypeInfo::Kind::Domain:
        return resolve(t->element_oid, depth + 1);
    case TypeInfo::Kind::Array: {
        Resolved e = resolve(t->element_oid, depth + 1);
        return {e.type.list(), "", false};
    }
    case TypeInfo::Kind::Enum:
        if (t->enum_labels.empty()) return {TypeExpr::named("String"), "String", false};
        {
            std::string n = enum_type(*t);
            return {TypeExpr::named(n), n, true};
        }
    case TypeInfo::Kind::Composite:
        if (t->attributes.empty()) return {TypeExpr::named("JSON"), "", false};
        return {TypeExpr::named(composite_type(*t, depth)), "", false};
    case TypeInfo::Kind::Base:
        break;
    }
    std::string s = t->schema == "pg_catalog" ? scalar_for_typname(t->name) : "String";
    return {TypeExpr::named(s), s, false};
}

std::string Generator::comparison_filter(const std::string& leaf, bool is_enum) {
    if (auto it = filter_names_.find(leaf); it != filter_names_.end()) return it->second;
    std::string name = is_enum ? types_.claim(leaf + "Filter") : leaf + "Filter"; // reserved
    filter_names_[leaf] = name;
    NamedType f;
    f.kind = TypeKind::InputObject;
    f.name = name;
    f.description = "Conditions on a " + leaf + " column; all given ones must hold.";
    auto t = TypeExpr::named(leaf);
    f.input_fields.push_back(input("eq", t, "Equal to (SQL =)."));
    f.input_fields.push_back(input("neq", t, "Not equal to (SQL <>)."));
    if (!is_enum && leaf != "Boolean") {
        f.input_fields.push_back(input("gt", t, "Greater than."));
        f.input_fields.push_back(input("gte", t, "Greater than or equal to."));
        f.input_fields.push_back(input("lt", t, "Less than."));
        f.input_fields.push_back(input("lte", t, "Less than or equal to."));
    }
    if (leaf != "Boolean")
        f.input_fields.push_back(input("in", t.non_null().list(), "One of the values (SQL IN)."));
    if (leaf == "String") {
        f.input_fields.push_back(
            input("like", t, "Matches the SQL LIKE pattern (% any string, _ one character)."));
        f.input_fields.push_back(input("ilike", t, "As like, ignoring case (SQL ILIKE)."));
    }
    f.input_fields.push_back(
        input("isNull", TypeExpr::named("Boolean"), "true: the column is NULL; false: it is not."));
    out_.push_back(std::move(f));
    return name;
}

std::vector<InputValueDef> Generator::list_args(const ObjectBinding& ob) const {
    std::vector<InputValueDef> args;
    args.push_back(input("filter", TypeExpr::named(ob.filter_type),
                         "Only the rows for which every given condition holds."));
    if (!ob.order_by_type.empty())
        args.push_back(input("orderBy", TypeExpr::named(ob.order_by_type).non_null().list(),
                             "Sort keys in order, e.g. { createdAt: DESC }; the primary key "
                             "breaks ties."));
    args.push_back(input("limit", TypeExpr::named("Int"), "At most this many rows (>= 0)."));
    args.push_back(input("offset", TypeExpr::named("Int"), "Skip this many rows first (>= 0)."));
    return args;
}

Result<std::shared_ptr<const GeneratedSchema>> Generator::run() {
    for (auto n : {"Query", "Subscription", "Mutation", "OrderDirection"})
        types_.reserve(n);
    for (auto s : scalar_names) {
        types_.reserve(std::string(s));
        types_.reserve(std::string(s) + "Filter");
    }

    // Pass 1: the relations' type names, in snapshot order.
    std::vector<const RelationInfo*> exposed;
    for (const auto& r : catalog_->relations) {
        bool any_column = false;
        for (const auto& c : r.columns)
            any_column = any_column || c.readable;
        if (!r.readable || !any_column) continue;
        exposed.push_back(&r);
        std::string base =
            pascal_case(r.name).empty() ? "Relation" + std::to_string(r.oid) : pascal_case(r.name);
        b_.relation_types[r.oid] =
            types_.claim(base, first_schema(r.schema) ? "" : pascal_case(r.schema) + base);
    }
    if (exposed.empty())
        return make_error(Errc::NotFound,
                          "no table or view in the exposed schemas is readable by anon, "
                          "authenticated or service_role (GRAPHQL_SCHEMAS, GRANT SELECT)");
    // Pass 2: their filter and orderBy input names.
    for (const auto* r : exposed) {
        const std::string& t = b_.relation_types[r->oid];
        ObjectBinding ob;
        ob.relation = r->oid;
        ob.filter_type = types_.claim(t + "Filter");
        ob.order_by_type = types_.claim(t + "OrderBy");
        b_.objects.emplace(t, std::move(ob));
    }

    // Pass 3: columns (creating enum, composite and comparison types as they are met).
    std::vector<NamedType> relation_types;
    std::vector<NamedType> relation_inputs;
    std::map<Oid, Names> field_names;
    for (const auto* r : exposed) {
        const std::string& tn = b_.relation_types[r->oid];
        ObjectBinding& ob = b_.objects[tn];
        NamedType o;
        o.kind = TypeKind::Object;
        o.name = tn;
        o.description = std::string(relation_word(r->kind)) + " " + qualified(*r) + ".";
        NamedType filter;
        filter.kind = TypeKind::InputObject;
        filter.name = ob.filter_type;
        filter.description = "Conditions on " + qualified(*r) + "; all given ones must hold.";
        NamedType order;
        order.kind = TypeKind::InputObject;
        order.name = ob.order_by_type;
        order.description = "One sort key of " + qualified(*r) +
                            " (give one field per object; several objects sort in order).";
        InputBinding fb{r->oid, {}}, obb{r->oid, {}};
        Names& names = field_names[r->oid];
        for (const auto& c : r->columns) {
            if (!c.readable) continue;
            Resolved res = resolve(c.type_oid);
            bool key = std::find(r->primary_key.begin(), r->primary_key.end(), c.name) !=
                       r->primary_key.end();
            FieldDef f;
            std::string base = camel_case(c.name);
            f.name = names.claim(base.empty() ? "column" + std::to_string(c.attnum) : base);
            f.type = (c.not_null || key) ? res.type.non_null() : res.type;
            const TypeInfo* ti = catalog_->type(c.type_oid);
            f.description = "Column " + r->name + "." + c.name +
                            (ti ? " (" + ti->name + ")" : std::string()) + ".";
            FieldBinding col;
            col.column = c.name;
            col.type_oid = c.type_oid;
            ob.fields.emplace(f.name, std::move(col));
            if (res.comparable() && f.name != "and" && f.name != "or" && f.name != "not") {
                filter.input_fields.push_back(
                    input(f.name, TypeExpr::named(comparison_filter(res.leaf, res.is_enum))));
                fb.columns.emplace(f.name, c.name);
                order.input_fields.push_back(input(f.name, TypeExpr::named("OrderDirection")));
                obb.columns.emplace(f.name, c.name);
            }
            o.fields.push_back(std::move(f));
        }
        filter.input_fields.push_back(
            input("and", TypeExpr::named(filter.name).non_null().list(), "Every one holds."));
        filter.input_fields.push_back(
            input("or", TypeExpr::named(filter.name).non_null().list(), "At least one holds."));
        filter.input_fields.push_back(
            input("not", TypeExpr::named(filter.name), "The condition does not hold."));
        b_.filters.emplace(filter.name, std::move(fb));
        relation_inputs.push_back(std::move(filter));
        if (order.input_fields.empty()) {
            ob.order_by_type.clear();
        } else {
            b_.order_bys.emplace(order.name, std::move(obb));
            relation_inputs.push_back(std::move(order));
        }
        relation_types.push_back(std::move(o));
    }

    // Pass 4: foreign keys, to-one on the referencing type, to-many on the referenced one
    // (outgoing keys of every relation first, in snapshot and constraint-name order).
    auto type_index = [&](Oid rel) -> NamedType* {
        for (auto& t : relation_types)
            if (t.name == b_.relation_types[rel]) return &t;
        return nullptr;
    };
    auto by_columns = [](const std::vector<std::string>& cols) {
        std::string s = "By";
        for (std::size_t i = 0; i < cols.size(); ++i)
            s += (i ? "And" : "") + pascal_case(cols[i]);
        return s;
    };
    for (const auto* r : exposed) {
        for (const auto& fk : r->foreign_keys) {
            const RelationInfo* target = catalog_->relation(fk.referenced_oid);
            if (!target || !b_.relation_types.count(target->oid)) continue;
            std::vector<std::pair<std::string, std::string>> join;
            for (std::size_t i = 0; i < fk.columns.size(); ++i)
                join.emplace_back(fk.columns[i], fk.referenced_columns[i]);
            NamedType* self = type_index(r->oid);
            std::string base;
            if (fk.columns.size() == 1 && fk.columns[0].size() > 3 &&
                fk.columns[0].substr(fk.columns[0].size() - 3) == "_id")
                base = camel_case(fk.columns[0].substr(0, fk.columns[0].size() - 3));
            if (base.empty()) base = camel_case(singular(target->name));
            if (base.empty()) base = "ref";
            Names& own = field_names[r->oid];
            std::string to_one = own.claim(base, base + by_columns(fk.columns));
            FieldDef one;
            one.name = to_one;
            one.type = TypeExpr::named(b_.relation_types[target->oid]);
            one.description = "The " + qualified(*target) + " row that this row's foreign key " +
                              fk.name +
                              " references (null when there is none or it is not "
                              "visible).";
            self->fields.push_back(std::move(one));
            FieldBinding ob1;
            ob1.kind = FieldBinding::Kind::ToOne;
            ob1.target = target->oid;
            ob1.foreign_key = fk.name;
            ob1.join = join;
            b_.objects[b_.relation_types[r->oid]].fields.emplace(to_one, std::move(ob1));

            // The to-many side on the target: `orders`, or `ordersByCustomerId` when the
            // referencing relation has several keys to the target or the name is taken.
            int keys_to_target = 0;
            for (const auto& other : r->foreign_keys)
                keys_to_target += other.referenced_oid == target->oid;
            std::string many_base = camel_case(r->name).empty() ? "refs" : camel_case(r->name);
            std::string many_qualified = many_base + by_columns(fk.columns);
            Names& theirs = field_names[target->oid];
            std::string to_many = keys_to_target > 1 ? theirs.claim(many_qualified)
                                                     : theirs.claim(many_base, many_qualified);
            const ObjectBinding& rob = b_.objects[b_.relation_types[r->oid]];
            FieldDef many;
            many.name = to_many;
            many.type = TypeExpr::named(b_.relation_types[r->oid]).non_null().list().non_null();
            many.args = list_args(rob);
            many.description = "The " + qualified(*r) + " rows whose foreign key " + fk.name +
                               " references this row.";
            type_index(target->oid)->fields.push_back(std::move(many));
            FieldBinding ob2;
            ob2.kind = FieldBinding::Kind::ToMany;
            ob2.target = r->oid;
            ob2.foreign_key = fk.name;
            for (const auto& [mine, other] : join)
                ob2.join.emplace_back(other, mine); // (target's column, referencing column)
            b_.objects[b_.relation_types[target->oid]].fields.emplace(to_many, std::move(ob2));
        }
    }

    // Pass 5: root fields, on Query and Subscription alike.
    NamedType query;
    query.kind = TypeKind::Object;
    query.name = "Query";
    query.description = "Reads (walcast serves no mutations; see docs/graphql.md).";
    Names roots;
    for (const auto* r : exposed) {
        const std::string& tn = b_.relation_types[r->oid];
        const ObjectBinding& ob = b_.objects[tn];
        std::string base =
            camel_case(r->name).empty() ? "relation" + std::to_string(r->oid) : camel_case(r->name);
        FieldDef list;
        list.name = roots.claim(
            base, first_schema(r->schema) ? "" : camel_case(r->schema) + pascal_case(r->name));
        list.type = TypeExpr::named(tn).non_null().list().non_null();
        list.args = list_args(ob);
        list.description = "Rows of " + qualified(*r) + ".";
        b_.roots.emplace(list.name, RootBinding{r->oid, false, tn});
        query.fields.push_back(std::move(list));
        if (r->primary_key.empty()) continue;
        std::vector<InputValueDef> key_args;
        bool key_ok = true;
        for (const auto& k : r->primary_key) {
            const FieldDef* kf = nullptr;
            for (const auto& [fname, fb] : ob.fields)
                if (fb.kind == FieldBinding::Kind::Column && fb.column == k)
                    for (const auto& def : type_index(r->oid)->fields)
                        if (def.name == fname) kf = &def;
            if (!kf || !kf->type.nullable().is_named()) {
                key_ok = false;
                break;
            }
            key_args.push_back(input(kf->name, kf->type.non_null()));
        }
        if (!key_ok) continue; // a key column no role can read, or of a list type
        std::string sing = camel_case(singular(r->name));
        FieldDef one;
        one.name =
            roots.claim((sing.empty() ? base : sing) + "ByPk",
                        first_schema(r->schema)
                            ? ""
                            : camel_case(r->schema) + pascal_case(singular(r->name)) + "ByPk");
        one.type = TypeExpr::named(tn);
        one.args = std::move(key_args);
        one.description = "The row of " + qualified(*r) + " with this primary key, or null.";
        b_.roots.emplace(one.name, RootBinding{r->oid, true, tn});
        query.fields.push_back(std::move(one));
    }
    NamedType subscription = query;
    subscription.name = "Subscription";
    subscription.description = "Live queries: the current result, then a new one each time a "
                               "change alters it.";

    SchemaBuilder builder;
    for (auto& s : walcast_scalars())
        builder.add_type(std::move(s));
    NamedType direction;
    direction.kind = TypeKind::Enum;
    direction.name = "OrderDirection";
    direction.description = "Sort direction; ASC puts NULLs last and DESC first, as Postgres.";
    for (auto v : {"ASC", "DESC", "ASC_NULLS_FIRST", "ASC_NULLS_LAST", "DESC_NULLS_FIRST",
                   "DESC_NULLS_LAST"}) {
        EnumValueDef ev;
        ev.name = v;
        direction.enum_values.push_back(std::move(ev));
    }
    builder.add_type(std::move(query));
    builder.add_type(std::move(subscription));
    for (auto& t : relation_types)
        builder.add_type(std::move(t));
    for (auto& t : relation_inputs)
        builder.add_type(std::move(t));
    for (auto& t : out_)
        builder.add_type(std::move(t));
    bool ordered = false;
    for (const auto& [name, ob] : b_.objects)
        ordered = ordered || !ob.order_by_type.empty();
    if (ordered) builder.add_type(std::move(direction));
    builder.set_description("Generated by walcast from the catalog of " + [&] {
        std::string s;
        for (const auto& n : catalog_->schemas)
            s += (s.empty() ? "" : ", ") + n;
        return s;
    }() + ".");
    auto built = std::move(builder).build();
    if (!built) {
        auto e = built.error();
        return make_error(Errc::Internal, "the generated GraphQL schema is invalid: " + e.message);
    }
    auto out = std::make_shared<GeneratedSchema>();
    out->schema = std::move(built).value();
    out->catalog = catalog_;
    out->bindings = std::move(b_);
    return std::shared_ptr<const GeneratedSchema>(std::move(out));
}

} // namespace

Result<std::shared_ptr<const GeneratedSchema>>
generate_schema(std::shared_ptr<const CatalogSnapshot> catalog) {
    return Generator(std::move(catalog)).run();
}

} // namespace walcast::graphql::catalog
