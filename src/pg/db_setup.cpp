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
    std::vector<std::string> out{
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
            ") THEN\n    CREATE PUBLICATION " + ident + (all_tables ? " FOR ALL TABLES" : "") +
            ";\n  END IF;\nEND\n$$",
    };
    for (auto& st : realtime_schema_statements())
        out.push_back(std::move(st));
    // Broadcast from Database streams realtime.messages from a publication of its own, as the
    // reference does (spec §7.4.3), so the app's publication stays as it is; only when walcast
    // may (owner of the table or superuser).
    out.push_back(R"SQL(DO $$
BEGIN
  IF to_regclass('realtime.messages') IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime_messages_publication')
     AND ((SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
          OR pg_has_role(current_user, (SELECT relowner FROM pg_class
                                        WHERE oid = 'realtime.messages'::regclass), 'USAGE')) THEN
    CREATE PUBLICATION supabase_realtime_messages_publication FOR TABLE realtime.messages;
  END IF;
END
$$)SQL");
    return out;
}

std::vector<std::string> realtime_schema_statements() {
    return {
        "CREATE SCHEMA IF NOT EXISTS realtime",
        "GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role",
        // The shape of the reference's current migrations (spec §7.3.7): daily range partitions
        // on inserted_at, RLS on, the replay index. An existing table is used as it is.
        R"SQL(DO $$
BEGIN
  IF to_regclass('realtime.messages') IS NULL THEN
    CREATE TABLE realtime.messages (
      topic text NOT NULL,
      extension text NOT NULL,
      payload jsonb,
      event text,
      private boolean DEFAULT false,
      updated_at timestamp without time zone NOT NULL DEFAULT now(),
      inserted_at timestamp without time zone NOT NULL DEFAULT now(),
      id uuid NOT NULL DEFAULT gen_random_uuid(),
      binary_payload bytea,
      CONSTRAINT messages_pkey PRIMARY KEY (id, inserted_at),
      CONSTRAINT messages_payload_exclusive CHECK (payload IS NULL OR binary_payload IS NULL)
    ) PARTITION BY RANGE (inserted_at);
    ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
    GRANT INSERT, SELECT, UPDATE ON realtime.messages TO anon, authenticated, service_role;
    CREATE INDEX messages_inserted_at_topic_index ON realtime.messages (inserted_at DESC, topic)
      WHERE extension = 'broadcast' AND private IS TRUE;
  END IF;
END
$$)SQL",
        // realtime.topic(): the topic a policy is asked about (the setting walcast and
        // realtime.send() set, transaction-local); '' reads as NULL.
        R"SQL(DO $$
BEGIN
  IF to_regprocedure('realtime.topic()') IS NULL THEN
    CREATE FUNCTION realtime.topic() RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT nullif(current_setting('realtime.topic', true), '')::text
    $f$;
  END IF;
END
$$)SQL",
        // realtime.send(): one broadcast row (an "id" added to the payload when it has none);
        // errors become a WARNING and the caller's transaction goes on (spec §7.4.1).
        R"SQL(DO $$
BEGIN
  IF to_regprocedure('realtime.send(jsonb, text, text, boolean)') IS NULL THEN
    CREATE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true)
    RETURNS void LANGUAGE plpgsql AS $f$
    DECLARE
      generated_id uuid := gen_random_uuid();
      final_payload jsonb;
    BEGIN
      BEGIN
        IF jsonb_typeof(payload) = 'object' AND NOT payload ? 'id' THEN
          final_payload := payload || jsonb_build_object('id', generated_id);
        ELSE
          final_payload := payload;
        END IF;
        PERFORM set_config('realtime.topic', topic, true);
        INSERT INTO realtime.messages (id, payload, event, topic, private, extension)
        VALUES (generated_id, final_payload, event, topic, private, 'broadcast');
      EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'WarnSendingBroadcastMessage: %', SQLERRM;
      END;
    END
    $f$;
  END IF;
  IF to_regprocedure('realtime.send_binary(bytea, text, text, boolean)') IS NULL THEN
    CREATE FUNCTION realtime.send_binary(payload bytea, event text, topic text, private boolean DEFAULT true)
    RETURNS void LANGUAGE plpgsql AS $f$
    BEGIN
      BEGIN
        PERFORM set_config('realtime.topic', topic, true);
        INSERT INTO realtime.messages (binary_payload, event, topic, private, extension)
        VALUES (payload, event, topic, private, 'broadcast');
      EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'WarnSendingBroadcastMessage: %', SQLERRM;
      END;
    END
    $f$;
  END IF;
  IF to_regprocedure('realtime.broadcast_changes(text, text, text, text, text, record, record, text)') IS NULL THEN
    CREATE FUNCTION realtime.broadcast_changes(topic_name text, event_name text, operation text,
        table_name text, table_schema text, new record, old record, level text DEFAULT 'ROW')
    RETURNS void LANGUAGE plpgsql AS $f$
    BEGIN
      IF level = 'STATEMENT' THEN
        RAISE EXCEPTION 'Failed to process the row: broadcast_changes runs for each row, not for each statement';
      END IF;
      IF operation NOT IN ('INSERT', 'UPDATE', 'DELETE') THEN
        RAISE EXCEPTION 'Failed to process the row: unexpected operation %', operation;
      END IF;
      PERFORM realtime.send(
        jsonb_build_object('old_record', old, 'record', new, 'operation', operation,
                           'table', table_name, 'schema', table_schema),
        event_name, topic_name);
    END
    $f$;
  END IF;
END
$$)SQL",
        partition_statement(),
    };
}

std::string partition_statement() {
    // Yesterday … today + 3 (UTC), as the reference (spec §7.4.4); only for a partitioned
    // table, and a range another partition already covers is left to it.
    return R"SQL(DO $$
DECLARE
  d date;
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('realtime.messages')) IS DISTINCT FROM 'p' THEN
    RETURN;
  END IF;
  FOR d IN SELECT g::date FROM generate_series((now() AT TIME ZONE 'UTC')::date - 1,
                                               (now() AT TIME ZONE 'UTC')::date + 3,
                                               interval '1 day') AS g LOOP
    BEGIN
      EXECUTE format('CREATE TABLE IF NOT EXISTS realtime.%I PARTITION OF realtime.messages '
                     'FOR VALUES FROM (%L) TO (%L)', 'messages_' || to_char(d, 'YYYY_MM_DD'), d, d + 1);
    EXCEPTION WHEN invalid_object_definition THEN
      NULL; -- overlaps a partition of the app's own naming
    END;
  END LOOP;
END
$$)SQL";
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
