#include "capture/trigger/trigger_sql.hpp"

namespace walcast::capture::trigger {

namespace {

std::string literal(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'') out += '\'';
    }
    return out + "'";
}

} // namespace

std::vector<std::string> install_statements(const std::string& publication) {
    std::vector<std::string> out{
        R"SQL(CREATE SCHEMA IF NOT EXISTS walcast)SQL",
        R"SQL(REVOKE ALL ON SCHEMA walcast FROM PUBLIC)SQL",
        R"SQL(CREATE SEQUENCE IF NOT EXISTS walcast.event_seq)SQL",
        R"SQL(CREATE TABLE IF NOT EXISTS walcast.queue (
  id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  cur int NOT NULL DEFAULT 0,
  rotated_at timestamptz NOT NULL DEFAULT now()
))SQL",
        R"SQL(INSERT INTO walcast.queue DEFAULT VALUES ON CONFLICT DO NOTHING)SQL",
        R"SQL(ALTER TABLE walcast.queue ADD COLUMN IF NOT EXISTS publication text)SQL",
        R"SQL(CREATE TABLE IF NOT EXISTS walcast.event_table (
  part int PRIMARY KEY,
  switched_at timestamptz,
  switched_snap pg_snapshot
))SQL",
        R"SQL(INSERT INTO walcast.event_table (part) VALUES (0), (1), (2) ON CONFLICT DO NOTHING)SQL",
        R"SQL(CREATE TABLE IF NOT EXISTS walcast.event (
  ev_part int NOT NULL,
  ev_id bigint NOT NULL DEFAULT nextval('walcast.event_seq'),
  ev_txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  ev_time timestamptz NOT NULL DEFAULT clock_timestamp(),
  ev_layout int NOT NULL,
  ev_op "char" NOT NULL,
  ev_new text[],
  ev_old text[]
) PARTITION BY LIST (ev_part))SQL",
        R"SQL(CREATE TABLE IF NOT EXISTS walcast.event_0 PARTITION OF walcast.event FOR VALUES IN (0))SQL",
        R"SQL(CREATE TABLE IF NOT EXISTS walcast.event_1 PARTITION OF walcast.event FOR VALUES IN (1))SQL",
        R"SQL(CREATE TABLE IF NOT EXISTS walcast.event_2 PARTITION OF walcast.event FOR VALUES IN (2))SQL",
        R"SQL(CREATE INDEX IF NOT EXISTS event_txid_idx ON walcast.event (ev_txid))SQL",
        R"SQL(CREATE TABLE IF NOT EXISTS walcast.layout (
  id serial PRIMARY KEY,
  rel oid NOT NULL,
  stamp text NOT NULL,
  nspname text NOT NULL,
  relname text NOT NULL,
  replident "char" NOT NULL,
  attnames text[] NOT NULL,
  atttypids oid[] NOT NULL,
  atttypmods int[] NOT NULL,
  sql_insert text NOT NULL,
  sql_update text NOT NULL,
  sql_delete text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
))SQL",
        // Not unique: two writers seeing a new table shape at once each add a row rather than
        // one waiting for the other's transaction (which may stay open for hours).
        R"SQL(CREATE INDEX IF NOT EXISTS layout_rel_stamp_idx ON walcast.layout (rel, stamp))SQL",
        R"SQL(CREATE TABLE IF NOT EXISTS walcast.consumer (
  name text PRIMARY KEY,
  batch bigint NOT NULL DEFAULT 1,
  snap_from pg_snapshot NOT NULL,
  snap_to pg_snapshot,
  done int NOT NULL DEFAULT 0,
  backend_pid int,
  updated_at timestamptz NOT NULL DEFAULT now()
))SQL",
        R"SQL(CREATE OR REPLACE FUNCTION walcast.stamp(rel oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT c.relnamespace::int8 || '.' || c.relname || '.' || c.relreplident::text || ':' ||
         coalesce(string_agg(a.attname || ' ' || a.atttypid::int8 || ' ' || a.atttypmod, ','
                             ORDER BY a.attnum), '')
  FROM pg_class c
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                          AND a.attgenerated = ''
  WHERE c.oid = rel
  GROUP BY c.relnamespace, c.relname, c.relreplident
$f$)SQL",
        R"SQL(CREATE OR REPLACE FUNCTION walcast.make_layout(relid oid) RETURNS walcast.layout
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  l walcast.layout;
  cols_new text;
  cols_old text;
BEGIN
  SELECT string_agg(format('CASE WHEN num_nulls(n.%1$I) = 1 THEN NULL ELSE format(''%%s'', n.%1$I) END', a.attname), ', ' ORDER BY a.attnum),
         string_agg(format('CASE WHEN num_nulls(o.%1$I) = 1 THEN NULL ELSE format(''%%s'', o.%1$I) END', a.attname), ', ' ORDER BY a.attnum),
         coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}'),
         coalesce(array_agg(a.atttypid ORDER BY a.attnum), '{}'),
         coalesce(array_agg(a.atttypmod ORDER BY a.attnum), '{}')
    INTO cols_new, cols_old, l.attnames, l.atttypids, l.atttypmods
    FROM pg_attribute a
   WHERE a.attrelid = relid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
  SELECT n.nspname, c.relname, c.relreplident INTO l.nspname, l.relname, l.replident
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = relid;
  l.rel := relid;
  l.stamp := walcast.stamp(relid);
  l.sql_insert := 'INSERT INTO walcast.event (ev_part, ev_layout, ev_op, ev_new) SELECT $1, $2, ''I'', ARRAY['
    || coalesce(cols_new, '') || ']::text[] FROM walcast_new n';
  l.sql_delete := 'INSERT INTO walcast.event (ev_part, ev_layout, ev_op, ev_old) SELECT $1, $2, ''D'', ARRAY['
    || coalesce(cols_old, '') || ']::text[] FROM walcast_old o';
  l.sql_update := 'INSERT INTO walcast.event (ev_part, ev_layout, ev_op, ev_new, ev_old) SELECT $1, $2, ''U'', ARRAY['
    || coalesce(cols_new, '') || ']::text[], ARRAY[' || coalesce(cols_old, '') || ']::text[]'
    || ' FROM (SELECT row_number() OVER () AS walcast_rn, t.* FROM walcast_new t) n'
    || ' JOIN (SELECT row_number() OVER () AS walcast_rn, t.* FROM walcast_old t) o USING (walcast_rn)'
    || ' ORDER BY walcast_rn';
  INSERT INTO walcast.layout (rel, stamp, nspname, relname, replident, attnames, atttypids, atttypmods,
                              sql_insert, sql_update, sql_delete)
  VALUES (l.rel, l.stamp, l.nspname, l.relname, l.replident, l.attnames, l.atttypids, l.atttypmods,
          l.sql_insert, l.sql_update, l.sql_delete)
  RETURNING * INTO l;
  RETURN l;
END
$f$)SQL",
        R"SQL(CREATE OR REPLACE FUNCTION walcast.capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET DateStyle = 'ISO' SET TimeZone = 'UTC' SET IntervalStyle = 'postgres'
SET extra_float_digits = 3 SET bytea_output = 'hex'
AS $f$
DECLARE
  l walcast.layout;
  p int;
BEGIN
  SELECT * INTO l FROM walcast.layout WHERE rel = TG_RELID AND stamp = walcast.stamp(TG_RELID)
   ORDER BY id LIMIT 1;
  IF NOT FOUND THEN
    l := walcast.make_layout(TG_RELID);
  END IF;
  SELECT cur INTO p FROM walcast.queue;
  IF TG_OP = 'INSERT' THEN
    EXECUTE l.sql_insert USING p, l.id;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE l.sql_update USING p, l.id;
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE l.sql_delete USING p, l.id;
  ELSIF TG_OP = 'TRUNCATE' THEN
    INSERT INTO walcast.event (ev_part, ev_layout, ev_op) VALUES (p, l.id, 'T');
  END IF;
  RETURN NULL;
END
$f$)SQL",
        R"SQL(CREATE OR REPLACE FUNCTION walcast.not_captured(relid oid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $f$
  SELECT n.nspname = 'walcast'
      OR (n.nspname = 'realtime' AND (c.relname = 'messages' OR c.oid IN (
            SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass('realtime.messages'))))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = relid
$f$)SQL",
        R"SQL(CREATE OR REPLACE FUNCTION walcast.reconcile(publication text)
RETURNS TABLE (action text, relation text, detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  r record;
  want boolean;
  ops text[] := ARRAY['insert', 'update', 'delete', 'truncate'];
  op text;
  published boolean[];
BEGIN
  SELECT ARRAY[p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate] INTO published
    FROM pg_publication p WHERE p.pubname = publication;
  -- Tables of the publication: triggers for each published operation.
  FOR r IN
    SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, c.relispartition,
           EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) AS inherits
      FROM pg_publication_tables t
      JOIN pg_namespace n ON n.nspname = t.schemaname
      JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
     WHERE t.pubname = publication AND NOT walcast.not_captured(c.oid)
  LOOP
    IF r.inherits THEN
      action := 'skipped'; relation := r.name;
      detail := 'partitions and inheritance children are not captured by triggers yet';
      RETURN NEXT;
      CONTINUE;
    END IF;
    -- The table's current shape, so that writers rarely add one themselves.
    IF NOT EXISTS (SELECT 1 FROM walcast.layout l WHERE l.rel = r.oid
                   AND l.stamp = walcast.stamp(r.oid)) THEN
      PERFORM walcast.make_layout(r.oid);
    END IF;
    FOR i IN 1..4 LOOP
      op := ops[i];
      want := published[i];
      IF want AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = r.oid
                              AND g.tgname = 'walcast_capture_' || op) THEN
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s %s FOR EACH STATEMENT EXECUTE FUNCTION walcast.capture()',
                       'walcast_capture_' || op, upper(op), r.name,
                       CASE op WHEN 'insert' THEN 'REFERENCING NEW TABLE AS walcast_new'
                               WHEN 'update' THEN 'REFERENCING OLD TABLE AS walcast_old NEW TABLE AS walcast_new'
                               WHEN 'delete' THEN 'REFERENCING OLD TABLE AS walcast_old'
                               ELSE '' END);
        action := 'created'; relation := r.name; detail := 'walcast_capture_' || op; RETURN NEXT;
      ELSIF NOT want AND EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = r.oid
                                 AND g.tgname = 'walcast_capture_' || op) THEN
        EXECUTE format('DROP TRIGGER %I ON %s', 'walcast_capture_' || op, r.name);
        action := 'dropped'; relation := r.name; detail := 'walcast_capture_' || op; RETURN NEXT;
      END IF;
    END LOOP;
  END LOOP;
  -- walcast's triggers on tables no longer in the publication (or never to be captured).
  FOR r IN
    SELECT g.tgname, format('%I.%I', n.nspname, c.relname) AS name
      FROM pg_trigger g
      JOIN pg_class c ON c.oid = g.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE g.tgfoid = 'walcast.capture()'::regprocedure
       AND (walcast.not_captured(c.oid) OR NOT EXISTS (
             SELECT 1 FROM pg_publication_tables t
              WHERE t.pubname = publication AND t.schemaname = n.nspname AND t.tablename = c.relname))
  LOOP
    EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.name);
    action := 'dropped'; relation := r.name; detail := r.tgname; RETURN NEXT;
  END LOOP;
END
$f$)SQL",
        R"SQL(CREATE OR REPLACE FUNCTION walcast.maintain(rotation_bytes bigint, rotation_period interval)
RETURNS TABLE (action text, part int)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  q walcast.queue;
  t walcast.event_table;
  nxt int;
BEGIN
  DELETE FROM walcast.consumer c WHERE c.backend_pid IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = c.backend_pid);
  SELECT * INTO q FROM walcast.queue FOR UPDATE;
  UPDATE walcast.event_table e SET switched_snap = pg_current_snapshot()
   WHERE e.part <> q.cur AND e.switched_at IS NOT NULL AND e.switched_snap IS NULL;
  FOR t IN SELECT * FROM walcast.event_table e
            WHERE e.part <> q.cur AND e.switched_snap IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM walcast.consumer c
                               WHERE pg_snapshot_xmin(c.snap_from) < pg_snapshot_xmax(e.switched_snap))
  LOOP
    BEGIN
      SET LOCAL lock_timeout = '200ms';
      EXECUTE format('TRUNCATE walcast.%I', 'event_' || t.part);
      UPDATE walcast.event_table e SET switched_at = NULL, switched_snap = NULL WHERE e.part = t.part;
      action := 'truncated'; part := t.part; RETURN NEXT;
    EXCEPTION WHEN lock_not_available THEN
      NULL; -- someone still reads it: next time
    END;
  END LOOP;
  nxt := (q.cur + 1) % 3;
  IF (SELECT e.switched_at IS NULL FROM walcast.event_table e WHERE e.part = nxt)
     AND (pg_relation_size(format('walcast.%I', 'event_' || q.cur)::regclass) > rotation_bytes
          OR (q.rotated_at < now() - rotation_period
              AND pg_relation_size(format('walcast.%I', 'event_' || q.cur)::regclass) > 0)) THEN
    UPDATE walcast.queue SET cur = nxt, rotated_at = now();
    UPDATE walcast.event_table e SET switched_at = now(), switched_snap = NULL WHERE e.part = q.cur;
    action := 'switched'; part := nxt; RETURN NEXT;
  END IF;
END
$f$)SQL",
        // Where the installer may (a superuser), a DDL event trigger reconciles at once when a
        // table is created or a publication changes, so a new table's first rows are captured;
        // elsewhere walcast serve reconciles every few seconds. Its errors never fail the DDL.
        R"SQL(CREATE OR REPLACE FUNCTION walcast.on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  pub text;
BEGIN
  SELECT publication INTO pub FROM walcast.queue;
  IF pub IS NOT NULL THEN
    PERFORM walcast.reconcile(pub);
  END IF;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'walcast: capture triggers not updated: %', SQLERRM;
END
$f$)SQL",
        R"SQL(DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'walcast_ddl') THEN
    CREATE EVENT TRIGGER walcast_ddl ON ddl_command_end
      WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'CREATE PUBLICATION',
                   'ALTER PUBLICATION')
      EXECUTE FUNCTION walcast.on_ddl();
  END IF;
END
$$)SQL",
    };
    // The publication the DDL event trigger reconciles (the last db init's).
    out.push_back("UPDATE walcast.queue SET publication = " + literal(publication));
    out.push_back("SELECT * FROM walcast.reconcile(" + literal(publication) + ")");
    return out;
}

std::vector<std::string> uninstall_statements() {
    return {"DROP SCHEMA IF EXISTS walcast CASCADE"};
}

} // namespace walcast::capture::trigger
