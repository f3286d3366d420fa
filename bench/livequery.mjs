// Live queries at scale (issue 13): QUERIES live queries over GET /live/v1 (raw sockets, one
// stream each), PARAMS distinct parameter sets (GROUPS below) × IDENTITIES users, every one a distinct live
// result (no sharing), each the named query
//   -- refresh: bench_lq grp=eq.$1
//   SELECT id, v FROM bench_lq WHERE grp = $1 ORDER BY id     (RLS on, as an authenticated user)
// Three measurements, each against its baseline in the same run:
//  1. touch: RATE transactions/s for SECONDS, each updating one row in each of TOUCH groups
//     (TOUCH × QUERIES/GROUPS results = 1 %): results triggered and runs per transaction
//     (only those touched), commit → push latency p50/p99 (throttle 0).
//  2. batching: a transaction touching BURST results, on two servers side by side — runs
//     batched per round trip (LIVE_QUERY_MAX_BATCH=64) and one run per round trip
//     (LIVE_QUERY_MAX_BATCH=1), alternating ROUNDS times: runs/s, database and walcast CPU per
//     run.
//     (REPLICA IDENTITY FULL: the refresh condition sees the old row too.)
//  3. idle: IDLE_S seconds without writes: database CPU and runs with QUERIES live queries
//     subscribed, against Hasura's model (a poll every 1 s of every live query, multiplexed:
//     one statement per identity over its parameter sets) run by this script.
//   WALCAST_BIN=build/release/walcast node bench/livequery.mjs
import net from 'node:net';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

import { Walcast } from '../tests/compat/lib/server.mjs';
import { userToken } from '../tests/compat/lib/tokens.mjs';
import { waitUntil } from '../tests/compat/lib/wait.mjs';
import { clusterCpu, cpuOf } from './lib/cpu.mjs';
import { openPollers, pollAs } from './lib/poll.mjs';

// pg from the compat suite's node_modules (bench/ has no packages of its own).
const pg = createRequire(new URL('../tests/compat/', import.meta.url))('pg');

const QUERIES = Number(process.env.QUERIES ?? 10_000);
const GROUPS = Number(process.env.PARAMS ?? 1_000);
const IDENTITIES = Number(process.env.IDENTITIES ?? 100);
const ROWS_PER_GROUP = 5;
const RATE = Number(process.env.RATE ?? 100);
const SECONDS = Number(process.env.SECONDS ?? 10);
const TOUCH = Number(process.env.TOUCH ?? Math.max(1, Math.round(GROUPS / 100)));
const BURST_QUERIES = Number(process.env.BURST_QUERIES ?? 2_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const IDLE_S = Number(process.env.IDLE_S ?? 10);

const dir = mkdtempSync(join(tmpdir(), 'walcast-bench-lq-'));
chmodSync(dir, 0o755);
writeFileSync(join(dir, 'grp.sql'), [
  '-- key: id',
  '-- throttle_ms: 0',
  '-- refresh: bench_lq grp=eq.$1',
  'SELECT id, v FROM public.bench_lq WHERE grp = $1 ORDER BY id', ''].join('\n'));
const users = Array.from({ length: IDENTITIES }, () => randomUUID());
const tokens = users.map((u) => userToken(u, { ttlS: 24 * 3600 }));

async function startServer(env) {
  const server = await Walcast.start({
    LIVE_QUERIES_DIR: dir,
    LIVE_SSE_MAX_STREAMS: QUERIES + 1000,
    LIVE_QUERY_POOL_SIZE: 2,
    LOG_LEVEL: 'warn',
    ...env,
  });
  await server.sql(`
    CREATE TABLE public.bench_lq (id int PRIMARY KEY, grp int NOT NULL, v int NOT NULL);
    CREATE INDEX ON public.bench_lq (grp);
    -- The old row whole: an UPDATE's refresh condition is decided on both rows (with the key
    -- alone every UPDATE of the table would run every live query reading it, docs/livequery.md).
    ALTER TABLE public.bench_lq REPLICA IDENTITY FULL;
    ALTER TABLE public.bench_lq ENABLE ROW LEVEL SECURITY;
    CREATE POLICY readable ON public.bench_lq FOR SELECT TO authenticated USING (true);
    GRANT SELECT ON public.bench_lq TO authenticated;
    INSERT INTO public.bench_lq SELECT g, (g - 1) / ${ROWS_PER_GROUP}, 0
      FROM generate_series(1, ${GROUPS * ROWS_PER_GROUP}) g;
    ANALYZE public.bench_lq;`);
  return server;
}

/// Opens n streams; stream i watches group i % GROUPS as identity floor(i / (n / IDENTITIES)).
/// onPush(stream, event, payload, at) for every event. Resolves when each has its first result.
async function openStreams(server, n, onPush) {
  const streams = [];
  let results = 0;
  const perIdentity = Math.max(1, Math.floor(n / IDENTITIES));
  const open = (i) => new Promise((resolve, reject) => {
    const s = { i, grp: i % GROUPS, identity: Math.floor(i / perIdentity) % IDENTITIES, rows: new Map() };
    const socket = net.connect(server.port, '127.0.0.1');
    s.socket = socket;
    let buffer = '';
    let head = true;
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`GET /live/v1?name=grp&params=%5B${s.grp}%5D&apikey=${tokens[s.identity]} HTTP/1.1\r\nHost: b\r\n\r\n`));
    socket.on('data', (d) => {
      buffer += d;
      if (head) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buffer.startsWith('HTTP/1.1 200')) return reject(new Error(`stream ${i}: ${buffer}`));
        buffer = buffer.slice(end + 4);
        head = false;
      }
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!type || !data) continue;
        const at = performance.now();
        const payload = JSON.parse(data);
        if (type === 'result' && !s.first) {
          s.first = true;
          results++;
          resolve();
        }
        onPush(s, type, payload, at);
      }
    });
    streams.push(s);
  });
  const CONCURRENCY = 100;
  for (let at = 0; at < n; at += CONCURRENCY)
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n - at) }, (_, k) => open(at + k)));
  await waitUntil(() => results === n, { what: `${n} first results`, timeoutMs: 600_000 });
  return streams;
}

const closeAll = (streams) => { for (const s of streams) s.socket.destroy(); };

async function metric(server, name) {
  return (await server.metrics()).get(name) ?? 0;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const ms = (v) => `${v.toFixed(1)} ms`;

// --- 1 and 3: one server with QUERIES live queries -----------------------------------------
const main = await startServer({});
const pending = new Map(); // "<stream>:<row id>" -> [[v, commit time]] awaiting a push
const latencies = [];
let unexpected = 0;
let early = 0; // pushes read before the commit's reply
const startedOpen = performance.now();
const streams = await openStreams(main, QUERIES, (s, type, payload, at) => {
  if (type === 'result') for (const r of payload.rows) s.rows.set(r.id, r.v);
  if (type !== 'diff') return;
  for (const r of payload.updated) {
    s.rows.set(r.id, r.v);
    const key = `${s.i}:${r.id}`;
    const waiting = pending.get(key);
    if (!waiting) { unexpected++; continue; }
    // From the commit's reply; a push that came first counts from when the UPDATE was sent
    // (an upper bound: early).
    while (waiting.length && waiting[0].v <= r.v) {
      const w = waiting.shift();
      if (w.committed === null) early++;
      latencies.push(at - (w.committed ?? w.at));
    }
    if (!waiting.length) pending.delete(key);
  }
});
console.log(`opened ${QUERIES} live queries (${GROUPS} parameter sets × ${IDENTITIES} identities, ` +
  `${await metric(main, 'walcast_live_query_results')} distinct results) in ${((performance.now() - startedOpen) / 1000).toFixed(1)} s`);

const byGroup = new Map();
for (const s of streams) (byGroup.get(s.grp) ?? byGroup.set(s.grp, []).get(s.grp)).push(s);
const writer = new pg.Client({ connectionString: main.dbUrl });
await writer.connect();

// 1. touch
{
  const triggered0 = await metric(main, 'walcast_live_query_triggered_total');
  const runs0 = await metric(main, 'walcast_live_query_executions_total');
  const txns = RATE * SECONDS;
  const t0 = performance.now();
  let v = 0;
  for (let n = 0; n < txns; n++) {
    const due = t0 + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    v++;
    const groups = new Set();
    while (groups.size < TOUCH) groups.add(Math.floor(Math.random() * GROUPS));
    const ids = [...groups].map((g) => g * ROWS_PER_GROUP + 1 + Math.floor(Math.random() * ROWS_PER_GROUP));
    // Registered before the UPDATE is sent: a push can reach this process before the commit's
    // reply does (one event loop reads both sockets), and must find what it answers.
    const sent = { v, at: performance.now(), committed: null };
    for (const id of ids) {
      const g = Math.floor((id - 1) / ROWS_PER_GROUP);
      for (const s of byGroup.get(g) ?? []) {
        const key = `${s.i}:${id}`;
        (pending.get(key) ?? pending.set(key, []).get(key)).push(sent);
      }
    }
    await writer.query('UPDATE public.bench_lq SET v = $1 WHERE id = ANY($2::int[])', [v, ids]);
    sent.committed = performance.now();
  }
  const elapsed = performance.now() - t0;
  try {
    await waitUntil(() => pending.size === 0, { what: 'every touched live query to be pushed', timeoutMs: 120_000 });
  } catch (e) {
    // Say which (live query, row) pairs are missing and what their streams hold.
    const sample = [...pending].slice(0, 10).map(([key, waiting]) => {
      const [i, id] = key.split(':').map(Number);
      const s = streams[i];
      return `stream ${i} (group ${s.grp}, identity ${s.identity}, closed ${s.socket.destroyed}) row ${id}: ` +
        `holds v=${s.rows.get(id)}, awaits ${waiting.map((w) => w.v).join(',')}`;
    });
    console.error(`${pending.size} pairs missing:\n${sample.join('\n')}`);
    console.error(`metrics: ${[...(await main.metrics())].filter(([k]) => /live_query|slow|stream/.test(k)).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    throw e;
  }
  const triggered = (await metric(main, 'walcast_live_query_triggered_total')) - triggered0;
  const runs = (await metric(main, 'walcast_live_query_executions_total')) - runs0;
  latencies.sort((a, b) => a - b);
  console.log(`touch: ${txns} transactions in ${(elapsed / 1000).toFixed(1)} s (${(txns / elapsed * 1000).toFixed(0)}/s), ` +
    `each touching ${TOUCH} groups = ${TOUCH * QUERIES / GROUPS} of ${QUERIES} live queries (${(100 * TOUCH / GROUPS).toFixed(1)} %)`);
  console.log(`touch: results triggered ${triggered} (${(triggered / txns).toFixed(1)} per transaction; ` +
    `exactly the touched ones: ${triggered === txns * TOUCH * QUERIES / GROUPS}), runs ${runs} (${(runs / txns).toFixed(1)} per transaction), ` +
    `pushes not caused by a write ${unexpected}`);
  console.log(`touch: commit → updated result p50 ${ms(pct(latencies, 0.5))}, p99 ${ms(pct(latencies, 0.99))}, ` +
    `max ${ms(latencies.at(-1))} over ${latencies.length} (live query, transaction) pairs ` +
    `(${early} pushed before the commit's reply reached this script, counted from the UPDATE's send)`);
}

// 3. idle
{
  const runs0 = await metric(main, 'walcast_live_query_executions_total');
  const db0 = clusterCpu(main.dataDir);
  const w0 = cpuOf(main.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const seconds = (performance.now() - t0) / 1000;
  const db = clusterCpu(main.dataDir) - db0;
  const w = cpuOf(main.pid) - w0;
  const runs = (await metric(main, 'walcast_live_query_executions_total')) - runs0;
  console.log(`idle walcast: ${QUERIES} live queries, ${seconds.toFixed(1)} s without writes: ${runs} runs, ` +
    `database CPU ${(db / seconds * 1000).toFixed(1)} ms/s, walcast CPU ${(w / seconds * 1000).toFixed(1)} ms/s`);

  // Hasura's model: every second, each identity's live queries in one multiplexed statement.
  const pollers = await openPollers(pg, main.dbUrl);
  const groupsOf = Array.from({ length: IDENTITIES }, () => []);
  for (const s of streams) groupsOf[s.identity].push(s.grp);
  const poll = (c, identity) => pollAs(c, users[identity],
    `SELECT p.grp, (SELECT json_agg(json_build_object('id', id, 'v', v) ORDER BY id)
        FROM public.bench_lq b WHERE b.grp = p.grp) FROM unnest($1::int[]) AS p(grp)`, [groupsOf[identity]]);
  const p0 = clusterCpu(main.dataDir);
  const tp = performance.now();
  let polls = 0;
  for (let second = 0; second < IDLE_S; second++) {
    const tick = tp + second * 1000;
    const wait = tick - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await Promise.all(pollers.map(async (c, k) => {
      for (let identity = k; identity < IDENTITIES; identity += pollers.length) { await poll(c, identity); polls++; }
    }));
  }
  const left = tp + IDLE_S * 1000 - performance.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const ps = (performance.now() - tp) / 1000;
  const pdb = clusterCpu(main.dataDir) - p0;
  console.log(`idle 1 s poll (Hasura's multiplexing: ${polls} statements, one per identity per second, ` +
    `covering all ${QUERIES} live queries): database CPU ${(pdb / ps * 1000).toFixed(1)} ms/s`);
  for (const c of pollers) await c.end();
}
closeAll(streams);
await writer.end();
await main.stop();

// --- 2. batching: two servers side by side ------------------------------------------------
{
  const servers = [
    { name: 'batched (LIVE_QUERY_MAX_BATCH=64)', server: await startServer({ LIVE_QUERY_MAX_BATCH: 64 }) },
    { name: 'one run per round trip (LIVE_QUERY_MAX_BATCH=1)', server: await startServer({ LIVE_QUERY_MAX_BATCH: 1 }) },
  ];
  for (const x of servers) {
    x.pushes = 0;
    x.streams = await openStreams(x.server, BURST_QUERIES, (s, type) => { if (type === 'diff') x.pushes++; });
    x.writer = new pg.Client({ connectionString: x.server.dbUrl });
    await x.writer.connect();
    x.samples = [];
  }
  let v = 1_000_000;
  for (let round = 0; round < ROUNDS; round++) {
    for (const x of servers) {
      const runs0 = await metric(x.server, 'walcast_live_query_executions_total');
      const trips0 = await metric(x.server, 'walcast_live_query_round_trips_total');
      const pushes0 = x.pushes;
      const db0 = clusterCpu(x.server.dataDir);
      const w0 = cpuOf(x.server.pid);
      const t0 = performance.now();
      // One row in every group the streams watch: every live result runs again.
      await x.writer.query(`UPDATE public.bench_lq SET v = $1 WHERE id % ${ROWS_PER_GROUP} = 1`, [++v]);
      await waitUntil(() => x.pushes - pushes0 >= BURST_QUERIES, { what: 'every live result pushed', timeoutMs: 300_000, intervalMs: 5 });
      const seconds = (performance.now() - t0) / 1000;
      const runs = (await metric(x.server, 'walcast_live_query_executions_total')) - runs0;
      const trips = (await metric(x.server, 'walcast_live_query_round_trips_total')) - trips0;
      x.samples.push({ seconds, runs, trips, db: clusterCpu(x.server.dataDir) - db0, w: cpuOf(x.server.pid) - w0 });
    }
  }
  const base = servers[1];
  for (const x of servers) {
    const sum = (k) => x.samples.reduce((a, s) => a + s[k], 0);
    x.rate = sum('runs') / sum('seconds');
    x.dbPerRun = (sum('db') / sum('runs')) * 1e6;
    x.wPerRun = (sum('w') / sum('runs')) * 1e6;
    console.log(`batching, ${x.name}: ${BURST_QUERIES} live results per burst × ${ROUNDS}: ${x.rate.toFixed(0)} runs/s, ` +
      `${(sum('runs') / sum('trips')).toFixed(1)} runs per round trip, database CPU ${x.dbPerRun.toFixed(0)} µs/run, ` +
      `walcast CPU ${x.wPerRun.toFixed(0)} µs/run`);
  }
  console.log(`batching: ${(servers[0].rate / base.rate).toFixed(2)}× the runs per second, ` +
    `${(servers[0].dbPerRun / base.dbPerRun).toFixed(2)}× the database CPU per run of one run per round trip`);
  for (const x of servers) {
    closeAll(x.streams);
    await x.writer.end();
    await x.server.stop();
  }
}
