#include "capture/trigger/trigger_sql.hpp"

namespace walcast::capture::trigger {

namespace {

std::string sql_literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        out += c;
        if (c == '\'') out += '\'';
    }
    out += '\'';
    return out;
}

// The body of walcast.capture(), written by walcast.define_capture(target) for the event table
// being filled (%1$s). It runs in the writer's transaction:
//  - as SECURITY DEFINER (owned by the installing role), so writers need no privilege on the
//    schema walcast; with a pinned search_path;
//  - with walcast's session settings (SET clauses, restored when it returns), so that NEW::text
//    is the text output pgoutput would send to walcast: ISO dates, UTC, postgres intervals,
//    shortest-exact floats, hex bytea;
//  - statement level on ordinary tables: one INSERT … SELECT per statement from the transition
//    tables, rows packed in chunks of at most 1,000 rows / 4 MiB per event row (in statement
//    order; an UPDATE's old and new transition tables hold the rows in the same order, as
//    AfterTriggerSaveEvent appends both per row); row level on partitions and inheritance
//    members (statement triggers there do not see rows written through the parent);
//  - the transaction already has its xid (it wrote the rows) when nextval() runs, which the
//    reader's "anything new?" test relies on.
// TG_ARGV[0] is the layout id of the table's current columns (walcast.layout), TG_ARGV[1] the
// catalog stamp they were read at (walcast.layout_stamp). %2$s is empty where the DDL event
// trigger re-stamps the triggers inside the ALTER's own transaction, and layout_check below
// otherwise.
constexpr const char* capture_body = R"SQL(
CREATE OR REPLACE FUNCTION walcast.capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO' SET TimeZone = 'UTC' SET IntervalStyle = 'postgres'
SET extra_float_digits = 3 SET bytea_output = 'hex'
AS $f$
DECLARE
  v_layout integer := TG_ARGV[0]::integer;
BEGIN%2$s
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO %1$s (ev_id, ev_rel, ev_layout, ev_op)
    VALUES (nextval('walcast.event_seq'), TG_RELID, v_layout, 'T');
  ELSIF TG_LEVEL = 'ROW' THEN
    IF TG_OP = 'INSERT' THEN
      INSERT INTO %1$s (ev_id, ev_rel, ev_layout, ev_op, ev_new)
      VALUES (nextval('walcast.event_seq'), TG_RELID, v_layout, 'I', ARRAY[NEW::text]);
    ELSIF TG_OP = 'UPDATE' THEN
      INSERT INTO %1$s (ev_id, ev_rel, ev_layout, ev_op, ev_new, ev_old)
      VALUES (nextval('walcast.event_seq'), TG_RELID, v_layout, 'U', ARRAY[NEW::text],
              ARRAY[OLD::text]);
    ELSE
      INSERT INTO %1$s (ev_id, ev_rel, ev_layout, ev_op, ev_old)
      VALUES (nextval('walcast.event_seq'), TG_RELID, v_layout, 'D', ARRAY[OLD::text]);
    END IF;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO %1$s (ev_id, ev_rel, ev_layout, ev_op, ev_new)
    SELECT nextval('walcast.event_seq'), TG_RELID, v_layout, 'I', c.rows
      FROM (SELECT array_agg(s.t ORDER BY s.rn) AS rows
              FROM (SELECT r.t, r.rn,
                           (r.rn - 1) / 1000 + (r.cum - octet_length(r.t)) / 4194304 AS chunk
                      FROM (SELECT x.t, row_number() OVER () AS rn,
                                   sum(octet_length(x.t)) OVER (ROWS UNBOUNDED PRECEDING) AS cum
                              FROM (SELECT (n.*)::text AS t FROM walcast_new n) x) r) s
             GROUP BY s.chunk ORDER BY s.chunk) c;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO %1$s (ev_id, ev_rel, ev_layout, ev_op, ev_new, ev_old)
    SELECT nextval('walcast.event_seq'), TG_RELID, v_layout, 'U', c.news, c.olds
      FROM (SELECT array_agg(s.nt ORDER BY s.rn) AS news, array_agg(s.ot ORDER BY s.rn) AS olds
              FROM (SELECT nw.t AS nt, od.t AS ot, nw.rn,
                           (nw.rn - 1) / 1000 + (nw.cum + od.cum - octet_length(nw.t)
                                                 - octet_length(od.t)) / 4194304 AS chunk
                      FROM (SELECT x.t, row_number() OVER () AS rn,
                                   sum(octet_length(x.t)) OVER (ROWS UNBOUNDED PRECEDING) AS cum
                              FROM (SELECT (n.*)::text AS t FROM walcast_new n) x) nw
                      JOIN (SELECT x.t, row_number() OVER () AS rn,
                                   sum(octet_length(x.t)) OVER (ROWS UNBOUNDED PRECEDING) AS cum
                              FROM (SELECT (o.*)::text AS t FROM walcast_old o) x) od
                        ON od.rn = nw.rn) s
             GROUP BY s.chunk ORDER BY s.chunk) c;
  ELSE
    INSERT INTO %1$s (ev_id, ev_rel, ev_layout, ev_op, ev_old)
    SELECT nextval('walcast.event_seq'), TG_RELID, v_layout, 'D', c.rows
      FROM (SELECT array_agg(s.t ORDER BY s.rn) AS rows
              FROM (SELECT r.t, r.rn,
                           (r.rn - 1) / 1000 + (r.cum - octet_length(r.t)) / 4194304 AS chunk
                      FROM (SELECT x.t, row_number() OVER () AS rn,
                                   sum(octet_length(x.t)) OVER (ROWS UNBOUNDED PRECEDING) AS cum
                              FROM (SELECT (o.*)::text AS t FROM walcast_old o) x) r) s
             GROUP BY s.chunk ORDER BY s.chunk) c;
  END IF;
  RETURN NULL;
END
$f$)SQL";

// Without the DDL event trigger an ALTER TABLE is not seen until walcast's next reconcile:
// each statement compares the catalog stamp of the table with the one its trigger was created
// at, and on a difference looks the layout up itself (the first statements after an ALTER
// only; reconcile then re-stamps the triggers). About 10 µs per statement (bench/README.md).
constexpr const char* layout_check = R"SQL(
  IF TG_ARGV[1] IS DISTINCT FROM walcast.layout_stamp(TG_RELID) THEN
    v_layout := walcast.layout_now(TG_RELID);
  END IF;)SQL";

} // namespace

std::vector<std::string> install_statements(const std::string& publication) {
    std::vector<std::string> s;
    s.push_back("CREATE SCHEMA IF NOT EXISTS walcast");
    // Nothing in the schema is for anyone but its owner: writers reach it only through the
    // SECURITY DEFINER capture trigger.
    s.push_back("REVOKE ALL ON SCHEMA walcast FROM PUBLIC");

    // The queue: one row of configuration and rotation state.
    s.push_back(R"SQL(CREATE TABLE IF NOT EXISTS walcast.queue (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version integer NOT NULL,
  publication text NOT NULL,
  cur_table integer NOT NULL DEFAULT 0 CHECK (cur_table BETWEEN 0 AND 2),
  rotated_at timestamptz NOT NULL DEFAULT now(),
  rotation_period interval NOT NULL DEFAULT '10 minutes',
  rotation_bytes bigint NOT NULL DEFAULT 268435456,
  max_retention interval NOT NULL DEFAULT '24 hours',
  dropped_events bigint NOT NULL DEFAULT 0,
  layout_checks boolean NOT NULL DEFAULT true
))SQL");
    s.push_back("INSERT INTO walcast.queue (version, publication) VALUES (" +
                std::to_string(schema_version) + ", " + sql_literal(publication) +
                ") ON CONFLICT (singleton) DO UPDATE SET publication = EXCLUDED.publication, "
                "version = EXCLUDED.version");

    // Event ids: CACHE 1 so that values are handed out in time order across sessions (the
    // order of events inside a batch relies on it).
    s.push_back("CREATE SEQUENCE IF NOT EXISTS walcast.event_seq AS bigint CACHE 1");

    // The event tables (PgQ's rotation): insert-only, emptied by TRUNCATE, never by DELETE.
    for (int i = 0; i < event_tables; ++i) {
        const std::string t = "walcast.event_" + std::to_string(i);
        s.push_back("CREATE TABLE IF NOT EXISTS " + t + R"SQL( (
  ev_id bigint NOT NULL,
  ev_txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  ev_time timestamptz NOT NULL DEFAULT clock_timestamp(),
  ev_rel oid NOT NULL,
  ev_layout integer NOT NULL,
  ev_op "char" NOT NULL,
  ev_new text[],
  ev_old text[]
))SQL");
        // Row chunks are written once and read once: compressing them costs the writer more
        // than the space saves.
        s.push_back("ALTER TABLE " + t +
                    " ALTER ev_new SET STORAGE EXTERNAL, ALTER ev_old SET STORAGE EXTERNAL");
        s.push_back("CREATE INDEX IF NOT EXISTS event_" + std::to_string(i) + "_txid ON " + t +
                    " (ev_txid)");
    }

    // Layouts: a table's columns as of the events stamped with the id (immutable rows; a new
    // one after ALTER TABLE). att_flags per column: g generated (not published by pgoutput),
    // x outside the publication's column list, k replica identity key, p primary key.
    s.push_back(R"SQL(CREATE TABLE IF NOT EXISTS walcast.layout (
  layout_id serial PRIMARY KEY,
  relid oid NOT NULL,
  fingerprint text NOT NULL,
  schema_name name NOT NULL,
  table_name name NOT NULL,
  replident "char" NOT NULL,
  att_names name[] NOT NULL,
  att_types oid[] NOT NULL,
  att_typmods integer[] NOT NULL,
  att_flags text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (relid, fingerprint)
))SQL");
    // The tables walcast has installed its triggers on, with the layout they stamp.
    s.push_back(R"SQL(CREATE TABLE IF NOT EXISTS walcast.capture_table (
  relid oid PRIMARY KEY,
  layout_id integer NOT NULL REFERENCES walcast.layout,
  row_level boolean NOT NULL,
  installed_at timestamptz NOT NULL DEFAULT now()
))SQL");
    // Consumers (one per SLOT_NAME, or one per running walcast without it) and their durable
    // read positions: every transaction visible in last_snapshot is consumed; with an open
    // batch, so are the transactions of (last_snapshot, batch_snapshot] up to batch_done_last
    // in the batch's order.
    s.push_back(R"SQL(CREATE TABLE IF NOT EXISTS walcast.consumer (
  consumer_id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  durable boolean NOT NULL,
  last_snapshot pg_snapshot NOT NULL,
  batch_snapshot pg_snapshot,
  batch_id bigint NOT NULL DEFAULT 0,
  batch_done_last bigint NOT NULL DEFAULT 0,
  batch_done_ordinal integer NOT NULL DEFAULT 0,
  registered_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  lost_events bigint NOT NULL DEFAULT 0,
  lost_since timestamptz
))SQL");

    s.push_back("CREATE OR REPLACE FUNCTION walcast.version() RETURNS integer LANGUAGE sql "
                "IMMUTABLE AS 'SELECT " +
                std::to_string(schema_version) + "'");

    // (Re)writes walcast.capture() so that it fills event table `target`.
    s.push_back(std::string(R"SQL(CREATE OR REPLACE FUNCTION walcast.define_capture(target integer)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $def$
DECLARE
  ddl boolean := EXISTS (SELECT 1 FROM pg_event_trigger
                          WHERE evtname = 'walcast_ddl' AND evtenabled IN ('O', 'A'));
BEGIN
  IF target NOT BETWEEN 0 AND 2 THEN
    RAISE EXCEPTION 'walcast: no event table %', target;
  END IF;
  EXECUTE format($body$)SQL") +
                capture_body +
                R"SQL($body$, 'walcast.event_' || target,
                 CASE WHEN ddl THEN '' ELSE $chk$)SQL" +
                layout_check + R"SQL($chk$ END);
  UPDATE walcast.queue SET layout_checks = NOT ddl;
END
$def$)SQL");
    s.push_back("SELECT walcast.define_capture(cur_table) FROM walcast.queue");

    // A table's current layout: columns in attnum order without dropped ones, the flags above
    // and a fingerprint of all of it (publication column list: `published`, NULL = all).
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.describe(rel oid, published name[],
  OUT fingerprint text, OUT schema_name name, OUT table_name name, OUT replident "char",
  OUT att_names name[], OUT att_types oid[], OUT att_typmods integer[], OUT att_flags text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  ident int2[];
  pk int2[];
BEGIN
  SELECT n.nspname, c.relname, c.relreplident INTO schema_name, table_name, replident
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT i.indkey::int2[] INTO pk FROM pg_index i WHERE i.indrelid = rel AND i.indisprimary;
  IF replident = 'd' THEN
    ident := pk;
  ELSIF replident = 'i' THEN
    SELECT i.indkey::int2[] INTO ident FROM pg_index i
     WHERE i.indrelid = rel AND i.indisreplident;
  END IF;
  SELECT array_agg(a.attname ORDER BY a.attnum), array_agg(a.atttypid ORDER BY a.attnum),
         array_agg(a.atttypmod ORDER BY a.attnum),
         array_agg(CASE WHEN a.attgenerated <> '' THEN 'g' ELSE '' END
                   || CASE WHEN published IS NOT NULL AND NOT (a.attname = ANY (published))
                           THEN 'x' ELSE '' END
                   || CASE WHEN replident = 'f' OR a.attnum = ANY (ident) THEN 'k' ELSE '' END
                   || CASE WHEN a.attnum = ANY (pk) THEN 'p' ELSE '' END ORDER BY a.attnum)
    INTO att_names, att_types, att_typmods, att_flags
    FROM pg_attribute a
   WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped;
  fingerprint := md5(concat_ws('|', schema_name, table_name, replident, att_names::text,
                               att_types::text, att_typmods::text, att_flags::text));
END
$$)SQL");

    // The catalog stamp of a table's columns: the newest transaction that changed one of its
    // pg_attribute rows and its pg_class row (ALTER TABLE changes one of them; freezing turns
    // an xmin into 2, which only causes one more lookup).
    // (No SET clause and qualified names: it is inlined into the capture trigger's query.)
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.layout_stamp(rel oid) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT (SELECT pg_catalog.max(a.xmin::pg_catalog.text::pg_catalog.int8)
            FROM pg_catalog.pg_attribute a
           WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0
         )::pg_catalog.text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||)
         (SELECT c.xmin::pg_catalog.text FROM pg_catalog.pg_class c
           WHERE c.oid OPERATOR(pg_catalog.=) rel)
$$)SQL");
    // The layout id of a table's current columns, created when new (SECURITY DEFINER: called
    // from the capture trigger in writers' transactions).
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.layout_now(rel oid) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  d record;
  lid integer;
  cols name[];
BEGIN
  SELECT pt.attnames INTO cols
    FROM pg_publication_tables pt JOIN walcast.queue q ON pt.pubname = q.publication
    JOIN pg_namespace n ON n.nspname = pt.schemaname
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
   WHERE c.oid = rel;
  d := walcast.describe(rel, cols);
  INSERT INTO walcast.layout (relid, fingerprint, schema_name, table_name, replident, att_names,
                              att_types, att_typmods, att_flags)
  VALUES (rel, d.fingerprint, d.schema_name, d.table_name, d.replident, d.att_names,
          d.att_types, d.att_typmods, d.att_flags)
  ON CONFLICT (relid, fingerprint) DO NOTHING
  RETURNING layout_id INTO lid;
  IF lid IS NULL THEN
    SELECT l.layout_id INTO lid FROM walcast.layout l
     WHERE l.relid = rel AND l.fingerprint = d.fingerprint;
  END IF;
  RETURN lid;
END
$$)SQL");

    // Brings the capture triggers in line with the publication: installs them on tables that
    // joined it, removes them from tables that left it, re-stamps a table whose layout changed
    // (ALTER TABLE), and reports dropped or disabled triggers (or reinstalls them when repair).
    // Without the event trigger it also renews the catalog stamp of triggers whose table's
    // catalog rows changed for other reasons (GRANT, …).
    // only_relids: restrict to these tables (the DDL event trigger passes what a command touched).
    // One row per finding: action added | removed | layout | restamped | repaired | missing |
    // unsupported | busy, with the relation and a sentence naming the fix where there is one.
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.reconcile(repair boolean DEFAULT false,
  only_relids oid[] DEFAULT NULL)
RETURNS TABLE (action text, relid oid, relation text, detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '200ms' AS $$
#variable_conflict use_column
DECLARE
  pub text;
  r record;
  d record;
  cur record;
  lid integer;
  missing text[];
  row_level boolean;
  level text;
  qname text;
  stamp text;
  checks boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(2003986275, 0);
  PERFORM set_config('walcast.reconciling', 'on', true);
  SELECT q.publication INTO pub FROM walcast.queue q;
  IF NOT EXISTS (SELECT 1 FROM pg_publication p WHERE p.pubname = pub) THEN
    action := 'unsupported';
    detail := 'publication ' || pub || ' does not exist: nothing is captured; create it or run '
              || '`walcast db init --capture trigger`';
    RETURN NEXT;
    PERFORM set_config('walcast.reconciling', 'off', true);
    RETURN;
  END IF;
  -- The DDL event trigger was created, dropped or disabled since the capture function was
  -- written: switch the per-statement layout check on or off.
  IF (SELECT q.layout_checks FROM walcast.queue q) = EXISTS (
       SELECT 1 FROM pg_event_trigger WHERE evtname = 'walcast_ddl' AND evtenabled IN ('O', 'A'))
  THEN
    PERFORM walcast.define_capture(q.cur_table) FROM walcast.queue q;
  END IF;
  SELECT q.layout_checks INTO checks FROM walcast.queue q;

  -- Tables that left the publication or no longer exist.
  FOR r IN
    SELECT ct.relid, l.schema_name, l.table_name
      FROM walcast.capture_table ct JOIN walcast.layout l ON l.layout_id = ct.layout_id
     WHERE (only_relids IS NULL OR ct.relid = ANY (only_relids))
       AND NOT EXISTS (
         SELECT 1 FROM pg_publication_tables pt
           JOIN pg_namespace n ON n.nspname = pt.schemaname
           JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
          WHERE pt.pubname = pub AND c.oid = ct.relid AND pt.rowfilter IS NULL)
  LOOP
    relid := r.relid;
    relation := format('%I.%I', r.schema_name, r.table_name);
    BEGIN
      IF EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.relid) THEN
        qname := r.relid::regclass::text;
        relation := qname;
        EXECUTE format('DROP TRIGGER IF EXISTS walcast_insert ON %1$s;'
                       'DROP TRIGGER IF EXISTS walcast_update ON %1$s;'
                       'DROP TRIGGER IF EXISTS walcast_delete ON %1$s;'
                       'DROP TRIGGER IF EXISTS walcast_truncate ON %1$s', qname);
        detail := 'no longer in publication ' || pub || ': capture triggers removed';
      ELSE
        detail := 'table dropped';
      END IF;
      DELETE FROM walcast.capture_table ct WHERE ct.relid = r.relid;
      action := 'removed';
    EXCEPTION WHEN lock_not_available OR insufficient_privilege THEN
      action := 'busy';
      detail := 'left publication ' || pub || ' but its capture triggers could not be removed ('
                || SQLERRM || '); retried later';
    END;
    RETURN NEXT;
  END LOOP;

  -- Tables of the publication (walcast's own schema is never captured).
  FOR r IN
    SELECT c.oid AS relid, c.relkind, c.relispartition, c.relhassubclass,
           format('%I.%I', pt.schemaname, pt.tablename) AS qname, pt.attnames, pt.rowfilter
      FROM pg_publication_tables pt
      JOIN pg_namespace n ON n.nspname = pt.schemaname
      JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
     WHERE pt.pubname = pub AND pt.schemaname <> 'walcast'
       AND (only_relids IS NULL OR c.oid = ANY (only_relids))
  LOOP
    relid := r.relid;
    relation := r.qname;
    IF r.rowfilter IS NOT NULL THEN
      action := 'unsupported';
      detail := 'has a publication row filter (WHERE ' || r.rowfilter || '), which trigger '
                || 'capture cannot apply, so its changes are not captured: remove the filter '
                || '(ALTER PUBLICATION ' || quote_ident(pub) || ' SET TABLE ' || r.qname
                || ') or use logical replication';
      RETURN NEXT;
      CONTINUE;
    END IF;
    IF r.relkind = 'p' THEN
      action := 'unsupported';
      detail := 'is a partitioned table published with publish_via_partition_root, which '
                || 'trigger capture does not support: changes to its partitions are not '
                || 'captured; set publish_via_partition_root = false (ALTER PUBLICATION '
                || quote_ident(pub) || ' SET (publish_via_partition_root = false))';
      RETURN NEXT;
      CONTINUE;
    END IF;
    row_level := r.relispartition OR r.relhassubclass
                 OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = r.relid);
    d := walcast.describe(r.relid, r.attnames);
    SELECT l.layout_id INTO lid FROM walcast.layout l
     WHERE l.relid = r.relid AND l.fingerprint = d.fingerprint;
    IF lid IS NULL THEN
      INSERT INTO walcast.layout (relid, fingerprint, schema_name, table_name, replident,
                                  att_names, att_types, att_typmods, att_flags)
      VALUES (r.relid, d.fingerprint, d.schema_name, d.table_name, d.replident, d.att_names,
              d.att_types, d.att_typmods, d.att_flags)
      RETURNING layout_id INTO lid;
    END IF;
    SELECT ct.layout_id, ct.row_level INTO cur FROM walcast.capture_table ct
     WHERE ct.relid = r.relid;
    missing := ARRAY(
      SELECT t.name FROM unnest(ARRAY['walcast_insert', 'walcast_update', 'walcast_delete',
                                      'walcast_truncate']) AS t(name)
       WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g
                          WHERE g.tgrelid = r.relid AND g.tgname = t.name
                            AND g.tgfoid = 'walcast.capture()'::regprocedure
                            AND g.tgenabled IN ('O', 'A')));
    IF cur.layout_id IS NOT NULL AND missing <> '{}' AND NOT repair THEN
      action := 'missing';
      detail := 'capture trigger(s) ' || array_to_string(missing, ', ') || ' on ' || r.qname
                || ' were dropped or disabled, so its changes are not captured: run '
                || '`walcast db init --capture trigger` (or SELECT * FROM walcast.reconcile(true)) '
                || 'to reinstall them';
      RETURN NEXT;
      CONTINUE;
    END IF;
    -- Up to date: same layout and level, all four triggers, and (only where statements check
    -- their stamp, without the event trigger) the stamp they were created at.
    IF cur.layout_id IS NOT NULL AND cur.layout_id = lid AND cur.row_level = row_level
       AND missing = '{}'
       AND (NOT checks OR EXISTS (
             SELECT 1 FROM pg_trigger g
              WHERE g.tgrelid = r.relid AND g.tgname = 'walcast_insert' AND g.tgnargs = 2
                AND split_part(encode(g.tgargs, 'escape'), '\000', 2)
                    = walcast.layout_stamp(r.relid))) THEN
      CONTINUE;
    END IF;
    BEGIN
      level := CASE WHEN row_level THEN 'ROW' ELSE 'STATEMENT' END;
      FOR attempt IN 1..2 LOOP
      -- The stamp after creating the triggers (the first CREATE TRIGGER on a table updates its
      -- pg_class row): a second round re-creates them with it.
      stamp := walcast.layout_stamp(r.relid);
      EXECUTE format(
        'CREATE OR REPLACE TRIGGER walcast_insert AFTER INSERT ON %1$s %3$s FOR EACH %2$s '
        'EXECUTE FUNCTION walcast.capture(%4$L, %5$L)', r.qname, level,
        CASE WHEN row_level THEN '' ELSE 'REFERENCING NEW TABLE AS walcast_new' END, lid, stamp);
      EXECUTE format(
        'CREATE OR REPLACE TRIGGER walcast_update AFTER UPDATE ON %1$s %3$s FOR EACH %2$s '
        'EXECUTE FUNCTION walcast.capture(%4$L, %5$L)', r.qname, level,
        CASE WHEN row_level THEN ''
             ELSE 'REFERENCING OLD TABLE AS walcast_old NEW TABLE AS walcast_new' END, lid,
        stamp);
      EXECUTE format(
        'CREATE OR REPLACE TRIGGER walcast_delete AFTER DELETE ON %1$s %3$s FOR EACH %2$s '
        'EXECUTE FUNCTION walcast.capture(%4$L, %5$L)', r.qname, level,
        CASE WHEN row_level THEN '' ELSE 'REFERENCING OLD TABLE AS walcast_old' END, lid, stamp);
      EXECUTE format(
        'CREATE OR REPLACE TRIGGER walcast_truncate AFTER TRUNCATE ON %1$s FOR EACH STATEMENT '
        'EXECUTE FUNCTION walcast.capture(%2$L, %3$L)', r.qname, lid, stamp);
      -- Fire also under session_replication_role = replica (changes applied by a logical
      -- replication subscriber are committed changes too). Needs ownership of the table.
      BEGIN
        EXECUTE format('ALTER TABLE %1$s ENABLE ALWAYS TRIGGER walcast_insert, '
                       'ENABLE ALWAYS TRIGGER walcast_update, '
                       'ENABLE ALWAYS TRIGGER walcast_delete, '
                       'ENABLE ALWAYS TRIGGER walcast_truncate', r.qname);
      EXCEPTION WHEN insufficient_privilege THEN
        NULL;
      END;
      EXIT WHEN stamp = walcast.layout_stamp(r.relid);
      END LOOP;
      INSERT INTO walcast.capture_table AS ct (relid, layout_id, row_level)
      VALUES (r.relid, lid, row_level)
      ON CONFLICT (relid) DO UPDATE SET layout_id = EXCLUDED.layout_id,
                                        row_level = EXCLUDED.row_level;
      action := CASE WHEN cur.layout_id IS NULL THEN 'added'
                     WHEN missing <> '{}' THEN 'repaired'
                     WHEN cur.layout_id <> lid OR cur.row_level <> row_level THEN 'layout'
                     ELSE 'restamped' END;
      detail := CASE WHEN cur.layout_id IS NULL THEN 'capture triggers installed'
                     WHEN missing <> '{}' THEN 'capture triggers reinstalled'
                     WHEN cur.layout_id <> lid OR cur.row_level <> row_level
                       THEN 'columns changed: events are now stamped with layout ' || lid
                     ELSE 'catalog stamp renewed (layout ' || lid || ' unchanged)' END;
    EXCEPTION WHEN lock_not_available OR insufficient_privilege THEN
      action := 'busy';
      detail := 'capture triggers could not be installed (' || SQLERRM || '); retried later';
    END;
    RETURN NEXT;
  END LOOP;
  PERFORM set_config('walcast.reconciling', 'off', true);
END
$$)SQL");

    // Rotation, retention and clean-up; called by every running walcast about once a second
    // (one at a time), or by any scheduler (pg_cron: SELECT * FROM walcast.maintain()).
    // Rotation to the oldest event table happens when the current one is older than
    // rotation_period or larger than rotation_bytes, and only once every consumer has read
    // every event in it — except consumers not seen for max_retention, whose unread events are
    // dropped (counted on the consumer, reported here).
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.maintain()
RETURNS TABLE (action text, detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '200ms' AS $$
#variable_conflict use_column
DECLARE
  q record;
  c record;
  target integer;
  tbl text;
  mx xid8;
  unread bigint;
  dropped bigint := 0;
BEGIN
  IF NOT pg_try_advisory_xact_lock(2003986275, 1) THEN
    RETURN;
  END IF;
  -- Consumers of walcast processes that are gone (their session lock is released).
  FOR c IN
    DELETE FROM walcast.consumer k
     WHERE NOT k.durable
       AND NOT EXISTS (SELECT 1 FROM pg_locks l
                        WHERE l.locktype = 'advisory' AND l.granted
                          AND l.database = (SELECT oid FROM pg_database
                                             WHERE datname = current_database())
                          AND l.classid = 2003986275::oid AND l.objid = k.consumer_id::oid
                          AND l.objsubid = 2)
    RETURNING k.name
  LOOP
    action := 'consumer-gone';
    detail := 'removed consumer ' || c.name || ' (its walcast is gone)';
    RETURN NEXT;
  END LOOP;

  SELECT * INTO q FROM walcast.queue FOR UPDATE;
  tbl := 'walcast.event_' || q.cur_table;
  IF now() - q.rotated_at < q.rotation_period
     AND pg_total_relation_size(tbl::regclass) < q.rotation_bytes THEN
    RETURN;
  END IF;
  target := (q.cur_table + 1) % 3;
  tbl := 'walcast.event_' || target;
  BEGIN
    EXECUTE 'LOCK TABLE ' || tbl || ' IN ACCESS EXCLUSIVE MODE NOWAIT';
  EXCEPTION WHEN lock_not_available THEN
    action := 'rotation-busy';
    detail := tbl || ' is in use; rotation retried later';
    RETURN NEXT;
    RETURN;
  END;
  -- With the lock held no writer has uncommitted events in tbl: each event left in it is of a
  -- finished transaction, unread by a consumer iff not visible in its last_snapshot.
  EXECUTE 'SELECT max(ev_txid) FROM ' || tbl INTO mx;
  IF mx IS NOT NULL THEN
    FOR c IN SELECT * FROM walcast.consumer ORDER BY consumer_id LOOP
      IF mx < pg_snapshot_xmax(c.last_snapshot) THEN
        EXECUTE 'SELECT count(*) FROM ' || tbl
                || ' WHERE ev_txid IN (SELECT pg_snapshot_xip($1))' INTO unread
          USING c.last_snapshot;
        IF unread = 0 THEN
          CONTINUE;
        END IF;
      END IF;
      EXECUTE 'SELECT count(*) FROM ' || tbl
              || ' WHERE NOT pg_visible_in_snapshot(ev_txid, $1)' INTO unread
        USING c.last_snapshot;
      IF unread > 0 AND c.updated_at >= now() - q.max_retention THEN
        action := 'rotation-waiting';
        detail := format('consumer %s has not read %s events of %s yet', c.name, unread, tbl);
        RETURN NEXT;
        RETURN;
      END IF;
    END LOOP;
    FOR c IN SELECT * FROM walcast.consumer ORDER BY consumer_id LOOP
      EXECUTE 'SELECT count(*) FROM ' || tbl
              || ' WHERE NOT pg_visible_in_snapshot(ev_txid, $1)' INTO unread
        USING c.last_snapshot;
      IF unread > 0 THEN
        UPDATE walcast.consumer k SET lost_events = k.lost_events + unread,
                                      lost_since = coalesce(k.lost_since, now())
         WHERE k.consumer_id = c.consumer_id;
        dropped := dropped + unread;
        action := 'dropped';
        detail := format('dropped %s events consumer %s had not read (not seen since %s, '
                         'longer than max_retention %s)', unread, c.name, c.updated_at,
                         q.max_retention);
        RETURN NEXT;
      END IF;
    END LOOP;
  END IF;
  EXECUTE 'TRUNCATE ' || tbl;
  PERFORM walcast.define_capture(target);
  UPDATE walcast.queue SET cur_table = target, rotated_at = now(),
                           dropped_events = dropped_events + dropped;
  action := 'rotated';
  detail := 'events are now written to ' || tbl;
  RETURN NEXT;
END
$$)SQL");

    // Consumers. register_consumer creates (at the current snapshot: "from now on") or finds
    // the consumer and takes its session advisory lock, which marks it alive and keeps a second
    // walcast off the same durable position.
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.register_consumer(consumer_name text,
  is_durable boolean) RETURNS SETOF walcast.consumer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  c walcast.consumer;
  holder integer;
BEGIN
  INSERT INTO walcast.consumer AS k (name, durable, last_snapshot)
  VALUES (consumer_name, is_durable, pg_current_snapshot())
  ON CONFLICT (name) DO UPDATE SET durable = EXCLUDED.durable
  RETURNING * INTO c;
  IF NOT pg_try_advisory_lock(2003986275, c.consumer_id) THEN
    SELECT l.pid INTO holder FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 2003986275::oid
       AND l.objid = c.consumer_id::oid AND l.objsubid = 2
     LIMIT 1;
    RAISE EXCEPTION 'walcast consumer "%" is in use by PID %', consumer_name, holder
      USING ERRCODE = '55006',
            HINT = format('stop that walcast (SELECT pg_terminate_backend(%s)) or choose '
                          'another SLOT_NAME', holder);
  END IF;
  RETURN NEXT c;
END
$$)SQL");
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.save_position(id integer,
  last pg_snapshot, batch pg_snapshot, b_id bigint, done_last bigint, done_ordinal integer)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  UPDATE walcast.consumer SET last_snapshot = last, batch_snapshot = batch, batch_id = b_id,
         batch_done_last = done_last, batch_done_ordinal = done_ordinal, updated_at = now()
   WHERE consumer_id = id
  RETURNING lost_events
$$)SQL");
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.acknowledge_lost(id integer)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  UPDATE walcast.consumer SET lost_events = 0, lost_since = NULL WHERE consumer_id = id
$$)SQL");
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.unregister_consumer(id integer)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM walcast.consumer WHERE consumer_id = id AND NOT durable;
  PERFORM pg_advisory_unlock(2003986275, id);
END
$$)SQL");

    // The DDL event trigger: keeps layouts and the trigger set exact inside the transaction of
    // the DDL itself. Never fails the user's command.
    s.push_back(R"SQL(CREATE OR REPLACE FUNCTION walcast.on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  touched oid[];
BEGIN
  IF current_setting('walcast.reconciling', true) = 'on' THEN
    RETURN;
  END IF;
  IF tg_tag NOT IN ('ALTER PUBLICATION', 'CREATE PUBLICATION') THEN
    SELECT array_agg(DISTINCT coalesce(i.indrelid, c.objid)) INTO touched
      FROM pg_event_trigger_ddl_commands() c
      LEFT JOIN pg_index i ON i.indexrelid = c.objid
     WHERE c.classid = 'pg_class'::regclass;
    IF touched IS NULL THEN
      RETURN;
    END IF;
  END IF;
  PERFORM walcast.reconcile(false, touched);
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'walcast: trigger capture was not updated after %: % (walcast reconciles within a second)',
    tg_tag, SQLERRM;
END
$$)SQL");
    s.push_back(R"SQL(DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'walcast_ddl') THEN
    BEGIN
      CREATE EVENT TRIGGER walcast_ddl ON ddl_command_end
        WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO',
                     'ALTER PUBLICATION', 'CREATE PUBLICATION', 'CREATE INDEX', 'ALTER INDEX')
        EXECUTE FUNCTION walcast.on_ddl();
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'walcast: no DDL event trigger (CREATE EVENT TRIGGER needs a superuser): walcast picks up ALTER TABLE and publication changes by polling, within about a second (see README, trigger capture)';
    END;
  END IF;
END
$$)SQL");

    s.push_back("REVOKE ALL ON ALL TABLES IN SCHEMA walcast FROM PUBLIC");
    s.push_back("REVOKE ALL ON ALL SEQUENCES IN SCHEMA walcast FROM PUBLIC");
    s.push_back("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA walcast FROM PUBLIC");
    // Install (or repair) the triggers on the publication's tables now.
    s.push_back("SELECT * FROM walcast.reconcile(true)");
    return s;
}

std::vector<std::string> uninstall_statements() {
    return {
        "DROP EVENT TRIGGER IF EXISTS walcast_ddl",
        "DROP SCHEMA IF EXISTS walcast CASCADE",
    };
}

} // namespace walcast::capture::trigger
