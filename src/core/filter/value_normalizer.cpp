#include "core/filter/value_normalizer.hpp"

namespace walcast::core {

namespace {

/// Runs a parameterised query; on failure Postgres's error fields.
SqlResult<pg::Rows> run(const pg::Connection& conn, const std::string& sql,
                        const std::vector<std::string>& params) {
    if (!conn.healthy())
        return SqlError{std::string(pg::sqlstate::connection_failure),
                        "no connection to Postgres to validate the filter", "", "", true};
    std::vector<std::optional<std::string>> values(params.begin(), params.end());
    return conn.exec(sql, values);
}

} // namespace

SqlResult<std::string> PgValueNormalizer::sql_type_name(pg::Oid type) {
    if (auto it = sql_names_.find(type); it != sql_names_.end()) return it->second;
    auto r = run(conn_, "SELECT format_type($1::oid, NULL)", {std::to_string(type)});
    if (!r) return std::move(r).error();
    auto v = r->text(0, 0);
    if (!v || v->empty() || *v == "???" || *v == "-")
        return SqlError{"42704", "type with OID " + std::to_string(type) + " does not exist"};
    return sql_names_[type] = std::string(*v);
}

SqlResult<std::string> PgValueNormalizer::type_display_name(pg::Oid type) {
    if (auto it = display_names_.find(type); it != display_names_.end()) return it->second;
    auto r = run(conn_, "SELECT $1::oid::regtype::text", {std::to_string(type)});
    if (!r) return std::move(r).error();
    auto v = r->text(0, 0);
    return display_names_[type] = v ? std::string(*v) : std::to_string(type);
}

SqlResult<std::string> PgValueNormalizer::cast(std::string_view value, const pg::PgType& type) {
    auto name = sql_type_name(type.oid);
    if (!name) return std::move(name).error();
    // No ::text: the result in text format is the type's output function (inet::text
    // and bool::text are casts with a different rendering than the output function).
    auto r = run(conn_, "SELECT $1::" + *name, {std::string(value)});
    if (!r) return std::move(r).error();
    return r->string(0, 0);
}

SqlResult<std::vector<std::optional<std::string>>>
PgValueNormalizer::cast_array(std::string_view array_literal, const pg::PgType& element_type) {
    auto name = sql_type_name(element_type.oid);
    if (!name) return std::move(name).error();
    auto r = run(conn_,
                 "SELECT e FROM unnest($1::" + *name +
                     "[]) WITH ORDINALITY AS u(e, n) "
                     "ORDER BY n",
                 {std::string(array_literal)});
    if (!r) return std::move(r).error();
    std::vector<std::optional<std::string>> out;
    for (int i = 0; i < r->size(); ++i) {
        auto v = r->text(i, 0);
        out.push_back(v ? std::optional<std::string>(std::string(*v)) : std::nullopt);
    }
    return out;
}

SqlResult<std::monostate> PgValueNormalizer::check_regex(std::string_view pattern) {
    auto r = run(conn_, "SELECT '' ~ $1::text", {std::string(pattern)});
    if (!r) return std::move(r).error();
    return std::monostate{};
}

SqlResult<std::vector<std::string>> PgValueNormalizer::enum_labels(pg::Oid enum_type) {
    auto r = run(conn_,
                 "SELECT enumlabel::text FROM pg_catalog.pg_enum WHERE enumtypid = $1::oid "
                 "ORDER BY enumsortorder",
                 {std::to_string(enum_type)});
    if (!r) return std::move(r).error();
    std::vector<std::string> out;
    for (int i = 0; i < r->size(); ++i)
        out.push_back(r->string(i, 0));
    return out;
}

SqlResult<CollationInfo> PgValueNormalizer::collation(std::string_view name) {
    std::string key(name == "default" ? std::string_view() : name);
    if (auto it = collations_.find(key); it != collations_.end()) return it->second;
    // provider: c = libc, i = icu, d = the database default (resolved through pg_database).
    std::string sql;
    std::vector<std::string> params;
    const bool pg15 = conn_.server_version() >= 150000;
    std::string db_provider = pg15 ? "d.datlocprovider::text" : "'c'";
    std::string db_icu = pg15 ? "coalesce(d.daticulocale, '')" : "''";
    if (key.empty()) {
        sql = "SELECT " + db_provider + ", d.datcollate, d.datctype, " + db_icu +
              ", true FROM pg_catalog.pg_database d WHERE d.datname = current_database()";
    } else {
        std::string icu = pg15 ? "coalesce(c.colliculocale, '')" : "''";
        sql = "SELECT CASE WHEN c.collprovider = 'd' THEN " + db_provider +
              " ELSE c.collprovider::text END, "
              "CASE WHEN c.collprovider = 'd' THEN d.datcollate ELSE c.collcollate END, "
              "CASE WHEN c.collprovider = 'd' THEN d.datctype ELSE c.collctype END, "
              "CASE WHEN c.collprovider = 'd' THEN " +
              db_icu + " ELSE " + icu +
              " END, "
              "c.collisdeterministic "
              "FROM pg_catalog.pg_collation c, pg_catalog.pg_database d "
              "WHERE c.oid = to_regcollation(quote_ident($1)) AND d.datname = current_database()";
        params.push_back(key);
    }
    auto r = run(conn_, sql, params);
    if (!r) return std::move(r).error();
    if (r->size() != 1) return SqlError{"42704", "collation \"" + key + "\" does not exist"};
    auto get = [&](int col) { return r->string(0, col); };
    CollationInfo info;
    std::string provider = get(0);
    std::string collate = get(1), ctype = get(2), icu_locale = get(3);
    info.deterministic = get(4) == "t";
    if (provider == "i") {
        info.provider = CollationInfo::Provider::Icu;
        info.locale = icu_locale.empty() ? collate : icu_locale;
        info.ctype = ctype;
    } else if (collate == "C" || collate == "POSIX" || collate == "C.UTF-8" ||
               collate == "C.utf8") {
        info.provider = CollationInfo::Provider::Bytewise;
        info.locale = collate;
        info.ctype = ctype;
    } else {
        info.provider = CollationInfo::Provider::Libc;
        info.locale = collate;
        info.ctype = ctype;
    }
    return collations_[key] = info;
}

} // namespace walcast::core
