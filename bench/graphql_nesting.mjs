// GraphQL nesting (issue 14): the correlated sub-selects walcast's compiler emits for nested
// fields (docs/graphql.md "Nesting") against the LEFT JOIN LATERAL form the anchors use
// (Hasura: a lateral derived table per relationship, ORDER BY / LIMIT inside it) and, where a
// planner could do better without a per-parent nested loop, a plain join (+ GROUP BY for
// to-many), on the seed schema (tests/data/graphql/seed.sql) filled with CUSTOMERS customers
// and ORDERS orders (index orders_customer_id; one "whale" customer holds ~2 % of the orders,
// the others ~ORDERS/CUSTOMERS each, scattered over the table in id = time order).
// Four operations:
//   a. customers(orderBy: {id: ASC}, limit: 100) { id name orders(limit: 10) { id total status } }
//   b. customers(orderBy: {id: ASC}, limit: 2000) { id orders { id total } }   (~200 k orders)
//   c. orders(limit: 5000) { id total customer { id name } }                   (to-one)
//   d. customerByPk(id: <whale>) { orders { id } }                              (~20 k children)
// Each is timed ROUNDS times, warm, the shapes alternating (the first shape rotates per round):
//   http        POST /graphql to walcast (service_role token): its whole path, transaction and
//               SET LOCALs included;
//   correlated  the statement walcast compiled for it, captured from Postgres's log
//               (log_min_duration_statement = 0 while each operation runs once) with its
//               parameters, run by this script;
//   lateral     the LEFT JOIN LATERAL form;
//   join        what a planner may run as a hash or merge join: a join + GROUP BY (b, d), a window
//               + GROUP BY for a per-parent limit (a), a plain LEFT JOIN for to-one (c);
// the SQL shapes on one connection as service_role, client round trip until the json text is
// read (not parsed). Every shape's JSON must equal the GraphQL answer (else exit 1). Then one
// EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) of each SQL shape: its plan tree, execution time, buffers.
//   WALCAST_BIN=build/release/walcast node bench/graphql_nesting.mjs
// (CUSTOMERS, ORDERS, ROUNDS, WARMUP override the sizes; KEEP_LOG=<file> keeps the Postgres log.)
import { readFileSync, writeFileSync, existsSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

import { Walcast } from '../tests/compat/lib/server.mjs';
import { serviceToken } from '../tests/compat/lib/tokens.mjs';
import { waitUntil } from '../tests/compat/lib/wait.mjs';

// pg from the compat suite's node_modules (bench/ has no packages of its own).
const pg = createRequire(new URL('../tests/compat/', import.meta.url))('pg');

const CUSTOMERS = Number(process.env.CUSTOMERS ?? 10_000);
const ORDERS = Number(process.env.ORDERS ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const WARMUP = Number(process.env.WARMUP ?? 2);
const WHALE = CUSTOMERS; // the customer with ~2 % of the orders
const SEED = readFileSync(new URL('../tests/data/graphql/seed.sql', import.meta.url), 'utf8');

const server = await Walcast.start({
  LOG_LEVEL: 'warn',
  GRAPHQL_SCHEMA_POLL_MS: 200,
  GRAPHQL_TIMEOUT_MS: 120_000,
  GRAPHQL_MAX_RESULT_BYTES: 256 * 1024 * 1024,
});
let failed = false;
try {
  await run();
} catch (e) {
  failed = true;
  console.error(e.stack ?? e);
  if (e.cause) console.error('cause:', e.cause);
  if (server.exited) console.error(`walcast exited ${JSON.stringify(server.exited)}; end of its log:\n${server.log().slice(-3000)}`);
} finally {
  if (process.env.KEEP_LOG) writeFileSync(process.env.KEEP_LOG, readFileSync(`${server.dataDir}.log`));
  await server.stop({ check: false });
}
process.exit(failed ? 1 : 0);

async function run() {
  // --- data ------------------------------------------------------------------------------------
  const loadStart = performance.now();
  // The harness publishes every table; nobody subscribes here, so publish none: the million
  // inserts are then not sent to walcast (the walsender still decodes them).
  await server.sql('BEGIN; DROP PUBLICATION IF EXISTS supabase_realtime; CREATE PUBLICATION supabase_realtime; COMMIT');
  await server.sql(SEED);
  await server.sql(`
    SELECT setseed(0.14);
    INSERT INTO customers (id, name, email)
      SELECT g, 'Customer ' || g, 'customer' || g || '@example.com' FROM generate_series(1, ${CUSTOMERS}) g;
    INSERT INTO orders (id, customer_id, status, priority, total, tags, created_at)
      SELECT g,
             CASE WHEN r1 < 0.02 THEN ${WHALE} ELSE 1 + floor(r1 * 1e9)::bigint % ${CUSTOMERS - 1} END,
             CASE WHEN r2 < 0.60 THEN 'delivered' WHEN r2 < 0.75 THEN 'shipped'
                  WHEN r2 < 0.90 THEN 'pending' ELSE 'cancelled' END,
             (CASE WHEN r3 < 0.1 THEN 'high' WHEN r3 < 0.3 THEN 'low' ELSE 'normal' END)::order_priority,
             round((5 + r3 * r2 * 495)::numeric, 2),
             CASE WHEN r3 < 0.05 THEN ARRAY['gift'] END,
             timestamptz '2025-01-01' + g * interval '30 seconds'
        FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3
                FROM generate_series(1, ${ORDERS}) g) x;
    SELECT setval(pg_get_serial_sequence('customers', 'id'), ${CUSTOMERS});
    SELECT setval(pg_get_serial_sequence('orders', 'id'), ${ORDERS});`);
  await server.sql('VACUUM ANALYZE customers');
  await server.sql('VACUUM ANALYZE orders');
  const [sizes] = await server.sql(`SELECT pg_size_pretty(pg_table_size('orders')) AS heap,
      pg_size_pretty(pg_relation_size('orders_customer_id')) AS idx,
      (SELECT count(*) FROM orders WHERE customer_id = ${WHALE})::int AS whale,
      current_setting('shared_buffers') AS sb, current_setting('work_mem') AS wm,
      current_setting('server_version') AS v`);
  console.log(`walcast ${process.env.WALCAST_BIN}${/debug|asan|tsan/.test(process.env.WALCAST_BIN) ? ' (a sanitized build: the http column is slower than a release build)' : ''}`);
  console.log(`data: ${CUSTOMERS} customers, ${ORDERS} orders (heap ${sizes.heap}, orders_customer_id ${sizes.idx}; ` +
    `customer ${WHALE} has ${sizes.whale}) loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s; ` +
    `PostgreSQL ${sizes.v}, shared_buffers ${sizes.sb}, work_mem ${sizes.wm}`);

  const token = serviceToken({ ttlS: 24 * 3600 });
  const gql = async (query) => {
    const res = await fetch(`${server.httpUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`POST /graphql ${res.status}: ${text.slice(0, 500)}`);
    return text;
  };
  await waitUntil(async () => {
    const b = JSON.parse(await gql('{ __type(name: "Orders") { fields { name } } }'));
    return b.data?.__type?.fields?.some((f) => f.name === 'customer');
  }, { what: 'the seed in the GraphQL schema', timeoutMs: 30_000, dump: () => server.log().slice(-2000) });

  // --- the operations and their shapes --------------------------------------------------------
  const ops = [
    {
      key: 'a', what: 'to-many, limit 10 per parent, 100 parents', field: 'customers',
      query: '{ customers(orderBy: { id: ASC }, limit: 100) { id name orders(limit: 10) { id total status } } }',
      params: ['100', '10'],
      lateral: `SELECT coalesce(json_agg(json_build_object('id', (p.id)::text, 'name', (p.name)::text, 'orders', o.orders) ORDER BY p.id), '[]'::json) AS data
        FROM (SELECT c.id, c.name FROM customers AS c ORDER BY c.id LIMIT $1) AS p
        LEFT JOIN LATERAL (
          SELECT coalesce(json_agg(json_build_object('id', (o.id)::text, 'total', (o.total)::text, 'status', (o.status)::text) ORDER BY o.id), '[]'::json) AS orders
            FROM (SELECT o.id, o.total, o.status FROM orders AS o WHERE o.customer_id = p.id ORDER BY o.id LIMIT $2) AS o) AS o ON true`,
      // A per-parent limit needs a window over the page's orders: row_number() ≤ n.
      join: `WITH page AS (SELECT c.id, c.name FROM customers AS c ORDER BY c.id LIMIT $1)
        SELECT coalesce(json_agg(json_build_object('id', (p.id)::text, 'name', (p.name)::text, 'orders', coalesce(o.orders, '[]'::json)) ORDER BY p.id), '[]'::json) AS data
          FROM page AS p
          LEFT JOIN (SELECT w.customer_id, json_agg(json_build_object('id', (w.id)::text, 'total', (w.total)::text, 'status', (w.status)::text) ORDER BY w.id) AS orders
                       FROM (SELECT o.customer_id, o.id, o.total, o.status,
                                    row_number() OVER (PARTITION BY o.customer_id ORDER BY o.id) AS rn
                               FROM orders AS o WHERE o.customer_id IN (SELECT id FROM page)) AS w
                      WHERE w.rn <= $2 GROUP BY w.customer_id) AS o ON o.customer_id = p.id`,
      joinName: 'window + GROUP BY',
    },
    {
      key: 'b', what: 'to-many, no limit, 2000 parents', field: 'customers',
      query: '{ customers(orderBy: { id: ASC }, limit: 2000) { id orders { id total } } }',
      params: ['2000'],
      lateral: `SELECT coalesce(json_agg(json_build_object('id', (p.id)::text, 'orders', o.orders) ORDER BY p.id), '[]'::json) AS data
        FROM (SELECT c.id FROM customers AS c ORDER BY c.id LIMIT $1) AS p
        LEFT JOIN LATERAL (
          SELECT coalesce(json_agg(json_build_object('id', (o.id)::text, 'total', (o.total)::text) ORDER BY o.id), '[]'::json) AS orders
            FROM (SELECT o.id, o.total FROM orders AS o WHERE o.customer_id = p.id ORDER BY o.id) AS o) AS o ON true`,
      join: `WITH page AS (SELECT c.id FROM customers AS c ORDER BY c.id LIMIT $1)
        SELECT coalesce(json_agg(json_build_object('id', (g.id)::text, 'orders', g.orders) ORDER BY g.id), '[]'::json) AS data
          FROM (SELECT p.id, coalesce(json_agg(json_build_object('id', (o.id)::text, 'total', (o.total)::text) ORDER BY o.id)
                                      FILTER (WHERE o.id IS NOT NULL), '[]'::json) AS orders
                  FROM page AS p LEFT JOIN orders AS o ON o.customer_id = p.id GROUP BY p.id) AS g`,
      joinName: 'join + GROUP BY',
    },
    {
      key: 'c', what: 'to-one, 5000 parents', field: 'orders',
      query: '{ orders(limit: 5000) { id total customer { id name } } }',
      params: ['5000'],
      // Hasura's object relationship: a lateral derived table with LIMIT 1 (not flattened).
      lateral: `SELECT coalesce(json_agg(json_build_object('id', (p.id)::text, 'total', (p.total)::text, 'customer', c.customer) ORDER BY p.id), '[]'::json) AS data
        FROM (SELECT o.id, o.total, o.customer_id FROM orders AS o ORDER BY o.id LIMIT $1) AS p
        LEFT JOIN LATERAL (
          SELECT json_build_object('id', (c.id)::text, 'name', (c.name)::text) AS customer
            FROM (SELECT c.id, c.name FROM customers AS c WHERE c.id = p.customer_id LIMIT 1) AS c) AS c ON true`,
      join: `SELECT coalesce(json_agg(json_build_object('id', (p.id)::text, 'total', (p.total)::text, 'customer',
                 CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object('id', (c.id)::text, 'name', (c.name)::text) END) ORDER BY p.id), '[]'::json) AS data
        FROM (SELECT o.id, o.total, o.customer_id FROM orders AS o ORDER BY o.id LIMIT $1) AS p
        LEFT JOIN customers AS c ON c.id = p.customer_id`,
      joinName: 'plain LEFT JOIN',
    },
    {
      key: 'd', what: `one parent, ~${sizes.whale} children`, field: 'customerByPk',
      query: `{ customerByPk(id: ${WHALE}) { orders { id } } }`,
      params: [String(WHALE)],
      lateral: `SELECT json_build_object('orders', o.orders) AS data
        FROM (SELECT c.id FROM customers AS c WHERE c.id = $1) AS p
        LEFT JOIN LATERAL (
          SELECT coalesce(json_agg(json_build_object('id', (o.id)::text) ORDER BY o.id), '[]'::json) AS orders
            FROM (SELECT o.id FROM orders AS o WHERE o.customer_id = p.id ORDER BY o.id) AS o) AS o ON true`,
      join: `SELECT json_build_object('orders', coalesce(json_agg(json_build_object('id', (o.id)::text) ORDER BY o.id)
                                                  FILTER (WHERE o.id IS NOT NULL), '[]'::json)) AS data
        FROM customers AS p LEFT JOIN orders AS o ON o.customer_id = p.id WHERE p.id = $1 GROUP BY p.id`,
      joinName: 'join + GROUP BY',
    },
  ];
  for (const op of ops) op.lateral = op.lateral.replace(/\s+/g, ' ');
  for (const op of ops) op.join = op.join.replace(/\s+/g, ' ');

  // --- capture the compiled statements from Postgres's log -----------------------------------
  const logFile = `${server.dataDir}.log`;
  if (!existsSync(logFile)) throw new Error(`no Postgres log at ${logFile}`);
  await server.sql('ALTER SYSTEM SET log_min_duration_statement = 0');
  await server.sql('SELECT pg_reload_conf()');
  // The reload reaches walcast's pooled connections at their next command: run each once first.
  for (const op of ops) await gql(op.query);
  try {
    for (const op of ops) {
      const from = statSync(logFile).size;
      await gql(op.query);
      await waitUntil(() => {
        const text = readFrom(logFile, from);
        // walcast measures the field's JSON in Postgres (GRAPHQL_MAX_RESULT_BYTES): the compiled
        // statement runs inside `SELECT CASE WHEN octet_length(d) <= $n … FROM (SELECT
        // data::text AS d FROM (<compiled>) AS f OFFSET 0) AS r`; its last parameter is the bound.
        const m = /execute [^:\n]*: (SELECT [^\n]*\(SELECT \(SELECT [^\n]* AS data[^\n]*)\n(?:[^\n]*DETAIL: {2}parameters: ([^\n]*)\n)?/.exec(text);
        if (!m) return false;
        op.executed = m[1];
        const inner = /FROM \((SELECT \(SELECT .* AS data)\) AS f OFFSET 0\) AS r$/.exec(m[1]);
        op.correlated = inner ? inner[1] : m[1];
        const all = [];
        for (const p of (m[2] ?? '').matchAll(/\$(\d+) = (NULL|'((?:[^']|'')*)')/g))
          all[Number(p[1]) - 1] = p[2] === 'NULL' ? null : p[3].replaceAll("''", "'");
        const used = Math.max(0, ...[...op.correlated.matchAll(/\$(\d+)/g)].map((x) => Number(x[1])));
        op.capturedParams = all.slice(0, used);
        return true;
      }, { what: `the compiled statement of (${op.key}) in ${logFile}`, timeoutMs: 10_000 });
      if (JSON.stringify(op.capturedParams) !== JSON.stringify(op.params))
        throw new Error(`(${op.key}): walcast bound ${JSON.stringify(op.capturedParams)}, this script expects ${JSON.stringify(op.params)}`);
    }
  } finally {
    await server.sql('ALTER SYSTEM RESET log_min_duration_statement');
    await server.sql('SELECT pg_reload_conf()');
  }
  for (const op of ops)
    console.log(`(${op.key}) compiled by walcast (captured from the Postgres log), params ${JSON.stringify(op.params)}:\n    ${op.correlated}`);
  if (ops[0].executed !== ops[0].correlated)
    console.log(`walcast runs each inside its result-size check, e.g. (a): ${ops[0].executed.replace(ops[0].correlated, '<compiled>')}`);

  // --- one connection for the SQL shapes, as the role the GraphQL token maps to --------------
  const raw = (v) => v;
  const client = new pg.Client({ connectionString: server.dbUrl, types: { getTypeParser: () => raw } });
  client.on('error', () => {}); // the server going away at teardown after a failure
  await client.connect();
  await client.query('SET ROLE service_role');
  const runSql = async (sql, params) => {
    const r = await client.query(sql, params);
    return r.rows[0]?.data ?? 'null';
  };
  const shapes = ['http', 'correlated', 'lateral', 'join'];
  const exec = (op, shape) => (shape === 'http' ? gql(op.query) : runSql(op[shape], op.params));

  // --- the same JSON from every shape ---------------------------------------------------------
  for (const op of ops) {
    const http = JSON.parse(await exec(op, 'http'));
    if (http.errors) throw new Error(`(${op.key}) GraphQL errors: ${JSON.stringify(http.errors)}`);
    const want = JSON.stringify(http.data[op.field]);
    op.bytes = want.length;
    op.count = Array.isArray(http.data[op.field]) ? http.data[op.field].length : 1;
    for (const shape of shapes.slice(1)) {
      const got = JSON.stringify(JSON.parse(await exec(op, shape)));
      if (got !== want) {
        let i = 0;
        while (i < got.length && got[i] === want[i]) i++;
        throw new Error(`(${op.key}) ${shape} returns other JSON than the GraphQL answer, from character ${i}:\n` +
          `  graphql: …${want.slice(Math.max(0, i - 80), i + 80)}\n  ${shape}: …${got.slice(Math.max(0, i - 80), i + 80)}`);
      }
    }
    console.log(`(${op.key}) ${op.what}: all ${shapes.length} shapes return the same JSON ` +
      `(${Array.isArray(http.data[op.field]) ? `${op.count} elements` : 'one object'}, ${(op.bytes / 1024).toFixed(0)} KiB)`);
  }

  // --- timing: warm, alternating -------------------------------------------------------------
  for (const op of ops) op.times = Object.fromEntries(shapes.map((s) => [s, []]));
  const t0 = performance.now();
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const op of ops) {
      for (let k = 0; k < shapes.length; k++) {
        const shape = shapes[(round + k) % shapes.length];
        const start = performance.now();
        await exec(op, shape);
        const took = performance.now() - start;
        if (round >= WARMUP) op.times[shape].push(took);
      }
    }
  }
  console.log(`timed ${ROUNDS} rounds (+${WARMUP} warm-up) of ${ops.length} operations × ${shapes.length} shapes ` +
    `in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // --- plans ---------------------------------------------------------------------------------
  for (const op of ops) {
    op.plans = {};
    for (const shape of shapes.slice(1)) {
      const r = await client.query(`EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) ${op[shape]}`, op.params);
      const [top] = JSON.parse(r.rows[0]['QUERY PLAN']);
      op.plans[shape] = top;
    }
  }
  await client.end();

  // --- report --------------------------------------------------------------------------------
  const pct = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
  const f1 = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  console.log('\nmedian / p90 ms per statement (client round trip, result read as text):');
  console.log('op  http (walcast)      correlated          lateral             join                corr/lat  corr/join  http/corr');
  for (const op of ops) {
    const m = Object.fromEntries(shapes.map((s) => [s, pct(op.times[s], 0.5)]));
    const cell = (s) => `${f1(m[s])} / ${f1(pct(op.times[s], 0.9))}`.padEnd(20);
    op.medians = m;
    console.log(`(${op.key}) ${shapes.map(cell).join('')}${(m.correlated / m.lateral).toFixed(2).padEnd(10)}` +
      `${(m.correlated / m.join).toFixed(2).padEnd(11)}${(m.http / m.correlated).toFixed(2)}`);
  }
  console.log('(join: a = window + GROUP BY, b, d = join + GROUP BY, c = plain LEFT JOIN)');
  for (const op of ops) {
    console.log(`\n(${op.key}) ${op.query}`);
    for (const shape of shapes.slice(1)) {
      const top = op.plans[shape];
      const p = top.Plan;
      console.log(`  ${shape}${shape === 'join' ? ` (${op.joinName})` : ''}: execution ${f1(top['Execution Time'])} ms ` +
        `(EXPLAIN ANALYZE, timing off), planning ${f1(top['Planning Time'])} ms, shared buffers hit ${p['Shared Hit Blocks']} ` +
        `read ${p['Shared Read Blocks']}, temp written ${p['Temp Written Blocks']}; plan: ${shapeOf(p)}`);
      for (const line of tree(p)) console.log(`      ${line}`);
    }
  }
}

/// The text of `file` from byte `from` on.
function readFrom(file, from) {
  const size = statSync(file).size;
  if (size <= from) return '';
  const buf = Buffer.alloc(size - from);
  const fd = openSync(file, 'r');
  try { readSync(fd, buf, 0, buf.length, from); } finally { closeSync(fd); }
  return buf.toString('utf8');
}

/// A plan node's one-line label.
function label(n) {
  let s = n['Node Type'];
  if (s === 'Aggregate') s = { Plain: 'Aggregate', Sorted: 'GroupAggregate', Hashed: 'HashAggregate', Mixed: 'MixedAggregate' }[n.Strategy] ?? s;
  if (n['Join Type'] && n['Join Type'] !== 'Inner' && /Join|Nested Loop/.test(s)) s += ` ${n['Join Type']}`;
  if (n['Index Name']) s += ` using ${n['Index Name']}`;
  if (n['Relation Name']) s += ` on ${n['Relation Name']}`;
  if (n['CTE Name']) s += ` ${n['CTE Name']}`;
  if (n['Subplan Name']) s = `${n['Subplan Name']}: ${s}`;
  let extra = ` (rows=${n['Actual Rows']} loops=${n['Actual Loops']})`;
  if (n['Sort Method']) extra += ` [${n['Sort Method']}]`;
  if (n['Workers Launched']) extra += ` [${n['Workers Launched']} workers]`;
  return s + extra;
}

function* tree(n, depth = 0) {
  yield `${'  '.repeat(depth)}${depth ? '→ ' : ''}${label(n)}`;
  for (const c of n.Plans ?? []) yield* tree(c, depth + 1);
}

/// The plan's scans and joins in one line: "SubPlan 1 → Index Scan using orders_customer_id ×100".
function shapeOf(n) {
  const out = [];
  const walk = (x, sub) => {
    const t = x['Node Type'];
    const s = x['Subplan Name'] ? x['Subplan Name'].replace(/ \d+$/, '') : sub;
    if (/Scan|Join|Nested Loop|Hash$|WindowAgg/.test(t) && !/Subquery Scan|CTE Scan/.test(t)) {
      let l = t;
      if (x['Join Type'] && /Join|Nested Loop/.test(t)) l += x['Join Type'] === 'Inner' ? '' : ` ${x['Join Type']}`;
      if (x['Index Name']) l += ` using ${x['Index Name']}`;
      else if (x['Relation Name']) l += ` on ${x['Relation Name']}`;
      if (x['Actual Loops'] > 1) l += ` ×${x['Actual Loops']}`;
      out.push((s ? `${s} → ` : '') + l);
    }
    for (const c of x.Plans ?? []) walk(c, s);
  };
  walk(n, null);
  return out.join('; ');
}
