// The live-query engine's periodic catalog check (src/livequery/engine.cpp, catalog_stamp; the
// statement below is a copy of it) timed on a catalog of TABLES tables, each with a view and an
// RLS policy: the cost live queries add to an idle database every 2 s.
//   WALCAST_BIN=build/release/walcast TABLES=1000 node bench/livequery_catalog.mjs
import { Walcast } from '../tests/compat/lib/server.mjs';
const TABLES = Number(process.env.TABLES ?? 1000);
const server = await Walcast.start();
try {
  await server.sql(`DO $$ BEGIN FOR i IN 1..${TABLES} LOOP
    EXECUTE format('CREATE TABLE public.t%s (id int PRIMARY KEY, v text)', i);
    EXECUTE format('ALTER TABLE public.t%s ENABLE ROW LEVEL SECURITY', i);
    EXECUTE format('CREATE POLICY p ON public.t%s FOR SELECT USING (true)', i);
    EXECUTE format('CREATE VIEW public.v%s AS SELECT id, v FROM public.t%s', i, i);
  END LOOP; END $$`);
  const stamp = `SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (
    SELECT 'c' || oid || ':' || xmin FROM pg_class WHERE relpersistence <> 't' AND
     relkind IN ('r', 'p', 'v', 'm', 'f') AND relnamespace <> 'pg_catalog'::regnamespace
     AND relnamespace <> 'information_schema'::regnamespace
    UNION ALL SELECT 'r' || oid || ':' || xmin FROM pg_rewrite WHERE oid >= 16384
    UNION ALL SELECT 'p' || oid || ':' || xmin FROM pg_policy
    UNION ALL SELECT 'u' || oid || ':' || xmin FROM pg_publication_rel) s(x)`;
  const times = [];
  for (let i = 0; i < 30; i++) {
    const r = await server.pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${stamp}`);
    times.push(r.rows[0]['QUERY PLAN'][0]['Execution Time']);
  }
  times.sort((a, b) => a - b);
  console.log(`catalog_stamp over ${TABLES} tables + ${TABLES} views + ${TABLES} policies: execution p50 ${times[15].toFixed(2)} ms, max ${times[29].toFixed(2)} ms (30 runs)`);
} finally {
  await server.stop();
}
