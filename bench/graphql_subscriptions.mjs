// GraphQL subscriptions at scale (issue 14 "Performance"): SUBS concurrent subscriptions (1,000
// and 10,000 by default) of the seed's orders shape over IDENTITIES users, each a distinct
// result (its own customer), with the seed's row-level security (tests/data/graphql/rls.sql:
// a user reads their customers and those customers' orders):
//   subscription($c: BigInt!) {
//     orders(filter: { status: { eq: "pending" }, customerId: { eq: $c } }) {
//       id total status customer { name email } } }
// over graphql-transport-ws (one socket per identity, SUBS / IDENTITIES operations on each;
// the `ws` package speaking the protocol, as graphql-ws's client does on the wire).
// Writes: RATE transactions/s for SECONDS, each an UPDATE of one pending order's total whose
// customer a subscription watches (so every write changes exactly one result). Side by side in
// one run, on one database:
//  - floor: the writes alone (no subscription, no poll): database CPU;
//  - walcast: commit → `next` p50/p99/max, database CPU and walcast CPU, per pushed result;
//  - 1 s poll (Hasura's method: every second, per identity, one statement over its
//    subscriptions' variables — unnest($1) multiplexing — as that identity with its claims):
//    commit → the poll that first shows the change, database CPU per changed result.
// THROTTLE_MS (default 0) is LIVE_QUERY_THROTTLE_MS.
//   WALCAST_BIN=build/release/walcast node bench/graphql_subscriptions.mjs
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

import { Walcast } from '../tests/compat/lib/server.mjs';
import { userToken } from '../tests/compat/lib/tokens.mjs';
import { waitUntil } from '../tests/compat/lib/wait.mjs';
import { clusterCpu, cpuOf } from './lib/cpu.mjs';
import { openPollers, pollAs } from './lib/poll.mjs';

// pg and ws from the test suites' node_modules (bench/ has no packages of its own).
const pg = createRequire(new URL('../tests/compat/', import.meta.url))('pg');
const WebSocket = createRequire(new URL('../tests/graphql/', import.meta.url))('ws');

const SIZES = (process.env.SUBS ?? '1000,10000').split(',').map(Number);
const IDENTITIES = Number(process.env.IDENTITIES ?? 100);
const RATE = Number(process.env.RATE ?? 100);
const SECONDS = Number(process.env.SECONDS ?? 10);
const ORDERS_PER_CUSTOMER = 3;
const CUSTOMERS = Math.max(...SIZES); // one per subscription at the largest size
const PER_IDENTITY = Math.ceil(CUSTOMERS / IDENTITIES);
// 0: every change runs its results at once. The default (500 ms) coalesces a second change to
// a result within the window into one run at the window's end, which that change then awaits.
const THROTTLE_MS = Number(process.env.THROTTLE_MS ?? 0);

const SEED = readFileSync(new URL('../tests/data/graphql/seed.sql', import.meta.url), 'utf8');
const RLS = readFileSync(new URL('../tests/data/graphql/rls.sql', import.meta.url), 'utf8');
const OPERATION = `subscription($c: BigInt!) {
  orders(filter: { status: { eq: "pending" }, customerId: { eq: $c } }) { id total status customer { name email } }
}`;
// The same result by hand, multiplexed over one identity's customers (the poller's statement).
const POLL_SQL = `SELECT p.c::text AS c, (SELECT coalesce(json_agg(json_build_object('id', o.id::text,
    'total', o.total::text, 'status', o.status, 'customer', (SELECT json_build_object('name', c.name,
    'email', c.email) FROM public.customers c WHERE c.id = o.customer_id)) ORDER BY o.id), '[]'::json)
    FROM public.orders o WHERE o.status = 'pending' AND o.customer_id = p.c)::text AS data
  FROM unnest($1::bigint[]) AS p(c)`;

const users = Array.from({ length: IDENTITIES }, () => randomUUID());
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const ms = (v) => `${v.toFixed(1)} ms`;
const sleepUntil = async (t) => { const w = t - performance.now(); if (w > 0) await new Promise((r) => setTimeout(r, w)); };

const walcast = await Walcast.start({
  GRAPHQL_SCHEMA_POLL_MS: 200,
  LIVE_QUERY_THROTTLE_MS: THROTTLE_MS,
  GRAPHQL_WS_MAX_OPERATIONS: Math.max(100, PER_IDENTITY),
  LOG_LEVEL: 'warn',
});
await walcast.sql(SEED);
await walcast.sql(RLS);
// Customer k belongs to identity floor(k / PER_IDENTITY); its orders are k*3+1 … k*3+3.
await walcast.sql(`
  INSERT INTO users (id, name, email) SELECT u, 'user ' || n, 'u' || n || '@example.com'
    FROM unnest($1::uuid[]) WITH ORDINALITY AS x(u, n);
  INSERT INTO customers (id, name, email, owner_id)
    SELECT k, 'customer ' || k, 'c' || k || '@example.com', ($1::uuid[])[k / ${PER_IDENTITY} + 1]
      FROM generate_series(0, ${CUSTOMERS - 1}) k;
  INSERT INTO orders (id, customer_id, status, total)
    SELECT k * ${ORDERS_PER_CUSTOMER} + j, k, 'pending', 10
      FROM generate_series(0, ${CUSTOMERS - 1}) k, generate_series(1, ${ORDERS_PER_CUSTOMER}) j;
  -- The old row whole: an UPDATE's customer_id is then known on both rows (docs/graphql.md).
  ALTER TABLE orders REPLICA IDENTITY FULL;
  -- The policy's column indexed, as an RLS deployment does (else each statement scans every
  -- customer to find the identity's: walcast's runs and the poll's alike).
  CREATE INDEX ON customers (owner_id);
  ANALYZE;`.replace(/\$1/g, `'{${users.join(',')}}'`));

const writer = new pg.Client({ connectionString: walcast.dbUrl });
await writer.connect();

/// The customers watched at size n: identity i's first n / IDENTITIES.
function watched(n) {
  const out = [];
  for (let i = 0; i < IDENTITIES; i++)
    for (let j = 0; j < n / IDENTITIES; j++) out.push({ identity: i, customer: i * PER_IDENTITY + j });
  return out;
}

/// RATE transactions/s for SECONDS, each setting a fresh total on one order of a random
/// watched customer; onSent(customer, total, sent) before the UPDATE, sent.committed after.
let total = 10;
async function write(targets, onSent) {
  const t0 = performance.now();
  const n = RATE * SECONDS;
  for (let k = 0; k < n; k++) {
    await sleepUntil(t0 + (k * 1000) / RATE);
    const { customer } = targets[Math.floor(Math.random() * targets.length)];
    const id = customer * ORDERS_PER_CUSTOMER + 1 + Math.floor(Math.random() * ORDERS_PER_CUSTOMER);
    const v = `${++total}.00`;
    const sent = { at: performance.now(), committed: null };
    onSent(customer, v, sent);
    await writer.query('UPDATE public.orders SET total = $1 WHERE id = $2', [v, id]);
    sent.committed = performance.now();
  }
  return { transactions: n, seconds: (performance.now() - t0) / 1000 };
}

/// Database and walcast CPU seconds over fn().
async function measured(fn) {
  const db0 = clusterCpu(walcast.dataDir);
  const w0 = cpuOf(walcast.pid);
  const out = await fn();
  return { ...out, db: clusterCpu(walcast.dataDir) - db0, w: cpuOf(walcast.pid) - w0 };
}

/// Latency bookkeeping: a write awaits the first result of its customer that holds its total.
function tracker() {
  const pending = new Map(); // customer -> [{v, sent}]
  const latencies = [];
  let early = 0;
  return {
    latencies, pending,
    get early() { return early; },
    sent(customer, v, sent) { (pending.get(customer) ?? pending.set(customer, []).get(customer)).push({ v, sent }); },
    seen(customer, data, at) {
      const waiting = pending.get(customer);
      if (!waiting) return false;
      const totals = new Set(JSON.parse(data).map((o) => o.total));
      let matched = false;
      for (let i = waiting.length - 1; i >= 0; i--) {
        if (!totals.has(waiting[i].v)) continue;
        // This and every earlier write to the customer are visible now.
        for (const w of waiting.splice(0, i + 1)) {
          if (w.sent.committed === null) early++;
          latencies.push(at - (w.sent.committed ?? w.sent.at));
        }
        matched = true;
        break;
      }
      if (!waiting.length) pending.delete(customer);
      return matched;
    },
  };
}

/// One graphql-transport-ws socket per identity with its subscriptions; onNext(sub, data, at).
async function subscribeAll(targets, onNext) {
  const byIdentity = new Map();
  for (const t of targets) (byIdentity.get(t.identity) ?? byIdentity.set(t.identity, []).get(t.identity)).push(t);
  let firsts = 0;
  const sockets = [];
  const url = walcast.httpUrl.replace(/^http:/, 'ws:') + '/graphql';
  await Promise.all([...byIdentity].map(([identity, subs]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    sockets.push(ws);
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({
      type: 'connection_init', payload: { authorization: `Bearer ${userToken(users[identity], { ttlS: 24 * 3600 })}` } })));
    ws.on('message', (raw) => {
      const at = performance.now();
      const m = JSON.parse(raw);
      if (m.type === 'connection_ack') {
        subs.forEach((s, k) => ws.send(JSON.stringify({
          id: String(k), type: 'subscribe', payload: { query: OPERATION, variables: { c: String(s.customer) } } })));
        return resolve();
      }
      if (m.type === 'ping') return ws.send(JSON.stringify({ type: 'pong' }));
      if (m.type === 'error' || m.payload?.errors) return reject(new Error(`identity ${identity}: ${raw}`));
      if (m.type !== 'next') return;
      const s = subs[Number(m.id)];
      const data = JSON.stringify(m.payload.data.orders);
      if (!s.first) { s.first = true; firsts++; }
      onNext(s, data, at);
    });
  })));
  await waitUntil(() => firsts === targets.length, { what: `${targets.length} first results`, timeoutMs: 600_000 });
  return sockets;
}

async function metric(name) {
  return (await walcast.metrics()).get(name) ?? 0;
}

function report(label, w, t, pushes) {
  const l = [...t.latencies].sort((a, b) => a - b);
  console.log(`${label}: ${w.transactions} transactions in ${w.seconds.toFixed(1)} s; ${pushes} changed results ` +
    `pushed; commit → result p50 ${ms(pct(l, 0.5))}, p99 ${ms(pct(l, 0.99))}, max ${ms(l.at(-1))} over ${l.length} writes` +
    (t.early ? ` (${t.early} seen before the commit's reply, counted from the send)` : ''));
  console.log(`${label}: database CPU ${(w.db / w.seconds * 1000).toFixed(1)} ms/s, ` +
    `${(w.db / Math.max(1, pushes) * 1e6).toFixed(0)} µs per pushed result; walcast CPU ${(w.w / w.seconds * 1000).toFixed(1)} ms/s`);
  return { p50: pct(l, 0.5), p99: pct(l, 0.99), dbPerSecond: w.db / w.seconds, dbPerPush: w.db / Math.max(1, pushes) };
}

// The floor: the writes alone.
const floor = await measured(() => write(watched(SIZES[0]), () => {}));
console.log(`floor (writes only): database CPU ${(floor.db / floor.seconds * 1000).toFixed(1)} ms/s at ${RATE} transactions/s`);

for (const n of SIZES) {
  const targets = watched(n);
  console.log(`--- ${n} subscriptions (${IDENTITIES} identities × ${n / IDENTITIES} customers, one socket per identity, ` +
    `LIVE_QUERY_THROTTLE_MS=${THROTTLE_MS})`);

  // 1 s poll, Hasura's multiplexing: one statement per identity per second.
  const polled = tracker();
  let pollPushes = 0;
  const pollers = await openPollers(pg, walcast.dbUrl);
  const byIdentity = Array.from({ length: IDENTITIES }, () => []);
  for (const t of targets) byIdentity[t.identity].push(t.customer);
  const last = new Map();
  let polling = true;
  const pollOnce = async (c, identity) => {
    const r = await pollAs(c, users[identity], POLL_SQL, [byIdentity[identity]]);
    const at = performance.now();
    for (const row of r.rows) {
      const before = last.get(row.c);
      last.set(row.c, row.data);
      if (before !== undefined && before !== row.data) { pollPushes++; polled.seen(Number(row.c), row.data, at); }
    }
  };
  const pollLoop = async () => {
    const t0 = performance.now();
    for (let second = 0; polling; second++) {
      await sleepUntil(t0 + second * 1000);
      await Promise.all(pollers.map(async (c, k) => {
        for (let identity = k; identity < IDENTITIES; identity += pollers.length) await pollOnce(c, identity);
      }));
    }
  };
  await Promise.all(pollers.map(async (c, k) => { for (let i = k; i < IDENTITIES; i += pollers.length) await pollOnce(c, i); }));
  const loop = pollLoop();
  const pw = await measured(async () => {
    const w = await write(targets, (c, v, s) => polled.sent(c, v, s));
    await waitUntil(() => polled.pending.size === 0, { what: 'every write seen by the poll', timeoutMs: 30_000 });
    return w;
  });
  polling = false;
  await loop;
  for (const c of pollers) await c.end();

  // walcast.
  const pushed = tracker();
  let pushes = 0;
  const t0 = performance.now();
  const sockets = await subscribeAll(targets, (s, data, at) => {
    if (!s.seenFirst) { s.seenFirst = true; return; }
    pushes++;
    pushed.seen(s.customer, data, at);
  });
  console.log(`walcast: ${n} subscriptions opened (first results) in ${((performance.now() - t0) / 1000).toFixed(1)} s, ` +
    `${await metric('walcast_live_query_results')} distinct live results`);
  const runs0 = await metric('walcast_live_query_executions_total');
  const ww = await measured(async () => {
    const w = await write(targets, (c, v, s) => pushed.sent(c, v, s));
    await waitUntil(() => pushed.pending.size === 0, { what: 'every write pushed', timeoutMs: 60_000 });
    return w;
  });
  const runs = (await metric('walcast_live_query_executions_total')) - runs0;
  const wr = report(`walcast ${n}`, ww, pushed, pushes);
  console.log(`walcast ${n}: ${runs} runs for ${ww.transactions} transactions (${(runs / ww.transactions).toFixed(2)} per transaction)`);
  const pr = report(`1 s poll ${n}`, pw, polled, pollPushes);
  const floorRate = floor.db / floor.seconds;
  console.log(`ratio ${n}: walcast / 1 s poll — p50 ${(wr.p50 / pr.p50).toFixed(3)}×, p99 ${(wr.p99 / pr.p99).toFixed(3)}×, ` +
    `database CPU ${(wr.dbPerSecond / pr.dbPerSecond).toFixed(2)}× (above the writes' floor: ` +
    `${((wr.dbPerSecond - floorRate) / Math.max(1e-9, pr.dbPerSecond - floorRate)).toFixed(2)}×), ` +
    `per pushed result ${(wr.dbPerPush / pr.dbPerPush).toFixed(2)}×`);
  for (const s of sockets) s.close();
  await waitUntil(async () => (await metric('walcast_live_query_subscriptions')) === 0, { what: 'the subscriptions to end', timeoutMs: 60_000 });
}
await writer.end();
await walcast.stop();
