#include "pg/db_check.hpp"

#include <cstdlib>

namespace walcast::pg {

namespace {

using Outcome = CheckItem::Outcome;

CheckItem pass(std::string name, std::string detail) {
    return {Outcome::Pass, std::move(name), std::move(detail), {}};
}
CheckItem fail(std::string name, std::string detail, std::string fix) {
    return {Outcome::Fail, std::move(name), std::move(detail), std::move(fix)};
}
CheckItem warn(std::string name, std::string detail, std::string fix) {
    return {Outcome::Warn, std::move(name), std::move(detail), std::move(fix)};
}

constexpr const char* kRestart =
    "\nthen restart Postgres (e.g. `systemctl restart postgresql`; on a managed service change "
    "the parameter in its console)";

} // namespace

Result<std::vector<CheckItem>> check_prerequisites(const Connection& conn,
                                                   const std::string& publication) {
    std::vector<CheckItem> items;

    auto settings = conn.exec(
        "SELECT current_setting('wal_level'), current_setting('max_replication_slots')::int,"
        " (SELECT count(*) FROM pg_replication_slots),"
        " current_setting('max_wal_senders')::int,"
        " (SELECT count(*) FROM pg_stat_replication),"
        " current_user, r.rolsuper, r.rolreplication"
        " FROM pg_roles r WHERE r.rolname = current_user");
    if (!settings) return settings.error().to_error();
    const Rows& s = *settings;
    const std::string wal_level = s.string(0, 0);
    const int max_slots = std::atoi(s.string(0, 1).c_str());
    const int used_slots = std::atoi(s.string(0, 2).c_str());
    const int max_senders = std::atoi(s.string(0, 3).c_str());
    const int used_senders = std::atoi(s.string(0, 4).c_str());
    const std::string user = s.string(0, 5);
    const bool superuser = s.string(0, 6) == "t";
    const bool replication = s.string(0, 7) == "t";
    const std::string user_ident = conn.quote_ident(user);
    const std::string pub_ident = conn.quote_ident(publication);

    if (wal_level == "logical")
        items.push_back(pass("wal_level is logical", "wal_level = logical"));
    else
        items.push_back(fail("wal_level is logical",
                             "wal_level = " + wal_level +
                                 ": logical replication (and so walcast) is not possible",
                             std::string("ALTER SYSTEM SET wal_level = logical;") + kRestart));

    if (used_slots < max_slots && used_senders < max_senders)
        items.push_back(
            pass("a replication slot and a WAL sender are free",
                 std::to_string(used_slots) + " of max_replication_slots = " +
                     std::to_string(max_slots) + " slots, " + std::to_string(used_senders) +
                     " of max_wal_senders = " + std::to_string(max_senders) + " senders in use"));
    else
        items.push_back(fail(
            "a replication slot and a WAL sender are free",
            std::to_string(used_slots) + " of max_replication_slots = " +
                std::to_string(max_slots) + " slots, " + std::to_string(used_senders) +
                " of max_wal_senders = " + std::to_string(max_senders) + " senders in use",
            "ALTER SYSTEM SET max_replication_slots = " + std::to_string(used_slots + 10) +
                "; ALTER SYSTEM SET max_wal_senders = " + std::to_string(used_senders + 10) + ";" +
                kRestart +
                "\nor drop a slot no one uses: SELECT pg_drop_replication_slot('<slot_name>');"));

    if (superuser || replication)
        items.push_back(pass("the user may replicate",
                             user + (superuser ? " is a superuser" : " has REPLICATION")));
    else
        items.push_back(fail("the user may replicate",
                             user + " has neither REPLICATION nor SUPERUSER",
                             "as a superuser: ALTER ROLE " + user_ident + " REPLICATION;"));

    auto roles = conn.exec(
        "SELECT r, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r),"
        " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) AND pg_has_role(current_user, r,"
        " 'MEMBER') FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) AS r");
    if (!roles) return roles.error().to_error();
    std::string missing, not_member;
    for (int i = 0; i < roles->size(); ++i) {
        std::string r = roles->string(i, 0);
        if (roles->string(i, 1) != "t")
            missing += (missing.empty() ? "" : ", ") + r;
        else if (roles->string(i, 2) != "t")
            not_member += (not_member.empty() ? "" : ", ") + r;
    }
    if (!missing.empty())
        items.push_back(fail("the JWT roles exist", "missing role(s): " + missing,
                             "walcast db init (as a superuser or a role with CREATEROLE)"));
    else
        items.push_back(pass("the JWT roles exist", "anon, authenticated, service_role"));
    if (missing.empty()) {
        if (not_member.empty())
            items.push_back(
                pass("the user is a member of the JWT roles", user + " can SET ROLE to each"));
        else
            items.push_back(
                fail("the user is a member of the JWT roles",
                     user + " is not a member of " + not_member +
                         ": row-level security checks run as the subscriber's "
                         "role with SET ROLE",
                     "as a superuser: GRANT " + not_member + " TO " + user_ident + ";"));
    }

    auto helpers =
        conn.exec("SELECT string_agg(f, ', ') FROM unnest(ARRAY['auth.uid()', 'auth.role()',"
                  " 'auth.jwt()']) AS f WHERE to_regprocedure(f) IS NULL");
    if (!helpers) return helpers.error().to_error();
    if (auto absent = helpers->string(0, 0); absent.empty())
        items.push_back(pass("the auth helpers exist", "auth.uid(), auth.role(), auth.jwt()"));
    else
        items.push_back(fail("the auth helpers exist",
                             "missing: " + absent +
                                 " (policies written for Supabase "
                                 "call them)",
                             "walcast db init"));

    auto pub = conn.exec("SELECT p.puballtables, (SELECT count(*) FROM pg_publication_tables t"
                         " WHERE t.pubname = p.pubname) FROM pg_publication p WHERE"
                         " p.pubname = $1",
                         {publication});
    if (!pub) return pub.error().to_error();
    bool have_tables = false;
    if (pub->size() == 0) {
        items.push_back(fail("the publication " + publication + " exists",
                             "no publication named " + publication,
                             "walcast db init  (or: CREATE PUBLICATION " + pub_ident +
                                 "; ALTER PUBLICATION " + pub_ident + " ADD TABLE <table>;)"));
    } else {
        const bool all = pub->string(0, 0) == "t";
        const std::string count = pub->string(0, 1);
        have_tables = count != "0";
        std::string what = all ? "FOR ALL TABLES (" + count + " tables)" : count + " table(s)";
        if (have_tables)
            items.push_back(pass("the publication " + publication + " has tables", what));
        else
            items.push_back(warn("the publication " + publication + " has tables",
                                 "it is empty: walcast streams no changes",
                                 "ALTER PUBLICATION " + pub_ident + " ADD TABLE <table>;"));
    }

    if (have_tables && missing.empty()) {
        // A published table none of the JWT roles can read never reaches a subscriber (the
        // row-level security check runs as the subscriber's role). A partition is judged by its
        // partitioned root: subscribers read through the root, whose grants and RLS policies
        // apply; a grant on the partition itself would let a role read it past the root's RLS,
        // so the fix never names a partition.
        auto grants = conn.exec(
            "SELECT DISTINCT format('%I.%I', n.nspname, c.relname), n.nspname FROM"
            " pg_publication_tables t"
            // Joined by name, not cast to regclass: the cast needs USAGE on the schema, which
            // walcast's user may lack (a table it cannot read is what this item reports).
            " JOIN pg_namespace pn ON pn.nspname = t.schemaname"
            " JOIN pg_class p ON p.relnamespace = pn.oid AND p.relname = t.tablename"
            " JOIN pg_class c ON c.oid = CASE WHEN p.relispartition THEN pg_partition_root(p.oid)"
            " ELSE p.oid END"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE t.pubname = $1 AND NOT EXISTS (SELECT 1 FROM"
            " unnest(ARRAY['anon', 'authenticated', 'service_role']) AS r WHERE"
            " has_schema_privilege(r, n.nspname, 'USAGE') AND"
            " has_table_privilege(r, c.oid, 'SELECT'))"
            " ORDER BY 1 LIMIT 20",
            {publication});
        if (!grants) return grants.error().to_error();
        const int n = grants->size();
        if (n == 0) {
            items.push_back(pass("the JWT roles can read the published tables",
                                 "each published table is readable by anon, authenticated or "
                                 "service_role"));
        } else {
            std::string tables, fix;
            for (int i = 0; i < n; ++i) {
                std::string t = grants->string(i, 0);
                tables += (i ? ", " : "") + t;
                fix += (i ? "\n" : "") + std::string("GRANT USAGE ON SCHEMA ") +
                       conn.quote_ident(grants->string(i, 1)) +
                       " TO anon, authenticated, service_role; GRANT SELECT ON " + t +
                       " TO anon, authenticated, service_role;";
            }
            items.push_back(fail("the JWT roles can read the published tables",
                                 "no JWT role may SELECT " + tables +
                                     (n == 20 ? " (first 20)" : "") +
                                     ": subscribers never receive their changes",
                                 fix));
        }
    }
    return items;
}

std::string format_checklist(const std::vector<CheckItem>& items) {
    std::string out;
    for (const auto& item : items) {
        const char* mark = item.outcome == Outcome::Pass   ? "  ok    "
                           : item.outcome == Outcome::Warn ? "  WARN  "
                                                           : "  FAIL  ";
        out += mark + item.name;
        if (item.outcome == Outcome::Pass) {
            out += " (" + item.detail + ")\n";
            continue;
        }
        out += "\n          " + item.detail + "\n          fix: ";
        for (char c : item.fix) {
            out += c;
            if (c == '\n') out += "               ";
        }
        out += '\n';
    }
    return out;
}

bool checklist_passes(const std::vector<CheckItem>& items) {
    for (const auto& item : items)
        if (item.outcome == Outcome::Fail) return false;
    return true;
}

} // namespace walcast::pg
