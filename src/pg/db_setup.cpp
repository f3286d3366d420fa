#include "pg/db_setup.hpp"

namespace walcast::pg {

std::vector<std::string> db_init_statements(const std::string& publication, bool all_tables) {
    // The publication name is spliced as a quoted identifier and as a literal.
    std::string ident = "\"";
    std::string literal = "'";
    for (char c : publication) {
        ident += c;
        if (c == '"') ident += '"';
        literal += c;
        if (c == '\'') literal += '\'';
    }
    ident += '"';
    literal += '\'';
    return {
        // The roles Supabase-style JWTs carry. service_role bypasses RLS, as on Supabase.
        R"SQL(DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
END
$$)SQL",
        // walcast checks rows as the subscriber's role (SET ROLE): the connecting user must be
        // a member unless it is a superuser.
        R"SQL(DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT (pg_has_role(current_user, 'anon', 'MEMBER')
              AND pg_has_role(current_user, 'authenticated', 'MEMBER')
              AND pg_has_role(current_user, 'service_role', 'MEMBER')) THEN
    EXECUTE format('GRANT anon, authenticated, service_role TO %I', current_user);
  END IF;
END
$$)SQL",
        "CREATE SCHEMA IF NOT EXISTS auth",
        "GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role",
        // auth.uid(), auth.role(), auth.jwt() read the claims walcast sets per check
        // (request.jwt.claims, transaction-local), with Supabase's signatures.
        R"SQL(DO $$
BEGIN
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$
      SELECT nullif(coalesce(current_setting('request.jwt.claim.sub', true),
                             nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'), '')::uuid
    $f$;
  END IF;
  IF to_regprocedure('auth.role()') IS NULL THEN
    CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT nullif(coalesce(current_setting('request.jwt.claim.role', true),
                             nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'), '')::text
    $f$;
  END IF;
  IF to_regprocedure('auth.jwt()') IS NULL THEN
    CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $f$
      SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                      nullif(current_setting('request.jwt.claims', true), ''))::jsonb
    $f$;
  END IF;
END
$$)SQL",
        // As Supabase creates it: empty, tables added one by one with ALTER PUBLICATION … ADD
        // TABLE. FOR ALL TABLES only when asked for (it needs a superuser and makes that ALTER
        // fail).
        "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = " + literal +
            ") THEN\n    CREATE PUBLICATION " + ident +
            (all_tables ? " FOR ALL TABLES" : "") + ";\n  END IF;\nEND\n$$",
    };
}

Status run_statements(const Connection& conn, const std::vector<std::string>& statements) {
    if (auto r = conn.exec_script("BEGIN"); !r) return r.error().to_error();
    for (const auto& s : statements) {
        auto r = conn.exec_script(s);
        if (!r) {
            auto rb = conn.exec_script("ROLLBACK");
            (void)rb;
            std::string fix;
            if (r.error().is(sqlstate::insufficient_privilege) ||
                r.error().message.find("permission denied") != std::string::npos)
                fix = "; run it as a superuser, or print the SQL with `walcast db init --print` "
                      "and have an administrator run it";
            std::string first_line = s.substr(0, s.find('\n'));
            return make_error(Errc::Config, "database set-up failed at `" + first_line +
                                                "`: " + r.error().describe() + fix);
        }
    }
    if (auto r = conn.exec_script("COMMIT"); !r) return r.error().to_error();
    return {};
}

} // namespace walcast::pg
