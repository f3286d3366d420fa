// Issue 11: a normal client's commit → delivery latency alone and under each hostile load, side
// by side in one run. One server; for every round and every load, an "alone" phase of ROWS probe
// rows, then the load starts, then a "hostile" phase of ROWS rows, then the load stops — so each
// load's two phases see the same machine. Every probe row must arrive once and in order.
//
//   WALCAST_BIN=build/release/walcast ROUNDS=3 ROWS=100 LOADS=ping,joins,idle,regex node bench/hostile.mjs
//
// The loads (all with the public anon key or no key at all):
// - ping:  defect 1. One socket writes 125-byte pings as fast as the server takes them and reads
//          nothing. Also reported: the server's RSS growth during the phase.
// - joins: defect 3. One socket re-joins one topic 80 times a second (under the default
//          MAX_JOINS_PER_SECOND, 100) with a filter value Postgres needs ~150 ms to reject
//          (a domain check), so its validation backlog never empties. Also reported: an unrelated
//          socket's join (to "Subscribed to PostgreSQL"), JOINS_TIMED per phase.
// - idle:  defect 4. 2,000 connections, each sending half a request head and nothing more, kept
//          opened as fast as the server takes them (past MAX_PENDING_CONNECTIONS, 1,024, the oldest
//          is closed with 503; a new one replaces it). Also reported: GET /healthz latency.
// - regex: defect 2. 500 `match` bindings (5 sockets × 100) of patterns catastrophic for a
//          backtracking engine on the probe's table, whose rows carry 4,000 characters.
// Each load reaches its strength (10 MB of pings; a re-join validated; 1,500 half-sent requests)
// before its hostile phase is measured. Prints per load: p50/p99/max alone and hostile (rounds pooled), the ratios, and the extras.
import assert from 'node:assert/strict';

import { Walcast } from '../tests/compat/lib/server.mjs';
import { RawSocket } from '../tests/compat/lib/raw.mjs';
import { makeClient, Sub, uniqueName } from '../tests/compat/lib/client.mjs';
import { anonToken } from '../tests/compat/lib/tokens.mjs';
import { waitUntil } from '../tests/compat/lib/wait.mjs';
import { Probe } from '../tests/abuse/lib/probe.mjs';
import { WireSocket, pingBatch, rssBytes, halfSentRequest } from '../tests/abuse/lib/wire.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ROWS = Number(process.env.ROWS ?? 100);
const LOADS = (process.env.LOADS ?? 'ping,joins,idle,regex').split(',');
const JOINS_TIMED = 5;

const server = await Walcast.start();
await server.sql(`
  CREATE TABLE public.hostile_probe (seq int PRIMARY KEY, note text NOT NULL DEFAULT repeat('a', 4000));
  CREATE FUNCTION public.slow_reject(text) RETURNS boolean LANGUAGE sql AS $$ SELECT false FROM pg_sleep(0.15) $$;
  CREATE DOMAIN public.slow_text AS text CHECK (public.slow_reject(VALUE));
  CREATE TABLE public.slow_filter (id int PRIMARY KEY, v public.slow_text);
  CREATE TABLE public.join_probe (id int PRIMARY KEY);
  GRANT SELECT ON public.hostile_probe, public.slow_filter, public.join_probe TO anon;`);
const probe = await Probe.start(server, 'hostile_probe');

/// A loop run until stop() is called; stop() resolves once the loop has ended.
function loop(body) {
  let running = true;
  const done = (async () => { while (running) await body(); })();
  return async () => { running = false; await done; };
}

/// ms from subscribing a realtime-js channel on join_probe to its "Subscribed to PostgreSQL".
async function timedJoin() {
  const client = await makeClient(server);
  try {
    const sub = new Sub(client, uniqueName('timed'), { rows: { event: 'INSERT', schema: 'public', table: 'join_probe' } });
    const t0 = performance.now();
    assert.equal((await sub.subscribe(60_000)).status, 'SUBSCRIBED');
    await sub.waitSystem((s) => s.status === 'ok', 'Subscribed to PostgreSQL', 60_000);
    return performance.now() - t0;
  } finally {
    client.disconnect();
  }
}

async function timedHealthz() {
  const t0 = performance.now();
  const r = await fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  return performance.now() - t0;
}

const HOSTILE_PATTERNS = ['^(a+)+b$', '(a|aa)+c', '(a*)*b', '^(a|a?)+b$', '(.*a){20}b', '(\\w+\\s?)*#'];
const regexClients = [];

/// Each load: start() begins it and returns stop(), which ends it and returns extra figures;
/// `extra` measures something besides the probe in both phases (ms samples).
const loads = {
  ping: {
    async start() {
      const flooder = await WireSocket.connect(server);
      await flooder.upgrade(`/socket/websocket?apikey=${server.anonKey}&vsn=2.0.0`);
      flooder.pause();
      const rss0 = rssBytes(server.pid);
      let rssMax = rss0;
      let sent = 0;
      const stop = loop(async () => {
        await flooder.write(pingBatch(sent + 1, 1000));
        sent += 1000;
        rssMax = Math.max(rssMax, rssBytes(server.pid));
      });
      await waitUntil(() => sent >= 80_000, { what: '10 MB of pings written', timeoutMs: 60_000 });
      return async () => {
        await stop();
        flooder.destroy();
        return `${sent.toLocaleString('en')} pings sent; server RSS +${((rssMax - rss0) / 1048576).toFixed(1)} MiB`;
      };
    },
  },
  joins: {
    extra: timedJoin,
    extraName: 'unrelated join',
    async start() {
      const s = await RawSocket.connect(server);
      const topic = uniqueName('realtime:rejoin');
      let i = 0;
      const stop = loop(async () => {
        for (let k = 0; k < 40; ++k, ++i) {
          const ref = s.nextRef();
          s.send({ join_ref: ref, ref, topic, event: 'phx_join',
            payload: { config: { postgres_changes: [{ event: '*', schema: 'public', table: 'slow_filter', filter: `v=eq.attempt-${i}` }] } } });
        }
        await new Promise((r) => setTimeout(r, 500)); // the load's own pace, not synchronisation
      });
      await s.waitFrame((f) => f.topic === topic && f.event === 'system', 'a hostile join validated', { timeoutMs: 60_000 });
      return async () => {
        await stop();
        const closed = s.close ? `; the socket was closed ${s.close.code}` : '';
        s.terminate();
        return `${i} re-joins sent${closed}`;
      };
    },
  },
  idle: {
    extra: timedHealthz,
    extraName: 'GET /healthz',
    async start() {
      const open = new Set();
      let opened = 0;
      const stop = loop(async () => {
        for (const s of open) if (s.closedByServer) open.delete(s);
        if (open.size >= 2000) return new Promise((r) => setTimeout(r, 20));
        open.add(await halfSentRequest(server.port));
        ++opened;
      });
      await waitUntil(() => opened >= 1500, { what: '1,500 half-sent requests opened', timeoutMs: 120_000 });
      return async () => {
        await stop();
        const answers = {};
        for (const s of open) {
          const st = /^HTTP\/1\.1 (\d+)/.exec(s.received)?.[1] ?? 'open';
          answers[st] = (answers[st] ?? 0) + 1;
          s.destroy();
        }
        return `${opened} half-sent requests opened, ${open.size} still held at the end (${JSON.stringify(answers)})`;
      };
    },
  },
  regex: {
    async start() {
      while (regexClients.length < 5) regexClients.push(await makeClient(server, { token: anonToken() }));
      const subs = [];
      for (let s = 0; s < 5; ++s) {
        const bindings = {};
        for (let k = 0; k < 100; ++k) {
          const n = s * 100 + k;
          bindings[`h${k}`] = { event: 'INSERT', schema: 'public', table: 'hostile_probe',
            filter: `note=match.${HOSTILE_PATTERNS[n % HOSTILE_PATTERNS.length]}|x{${(n % 200) + 1}}y` };
        }
        const sub = new Sub(regexClients[s], uniqueName('hostile'), bindings);
        assert.equal((await sub.subscribe()).status, 'SUBSCRIBED');
        await sub.waitSystem((x) => x.status === 'ok', 'Subscribed to PostgreSQL');
        subs.push(sub);
      }
      await probe.measure(3); // the patterns build their DFA states on the first rows
      return async () => {
        for (const s of subs) {
          assert.equal(s.events.length, 0, 'no hostile pattern matches the probe rows');
          await s.remove();
        }
        return '500 hostile bindings';
      };
    },
  },
};

const pooled = {};
for (const name of LOADS) {
  assert.ok(loads[name], `unknown load ${name}; LOADS is a comma-separated list of ${Object.keys(loads)}`);
  pooled[name] = { alone: [], hostile: [], extraAlone: [], extraHostile: [], notes: [] };
}

async function phase(name, into, extraInto) {
  into.push(...(await probe.measure(ROWS, { timeoutMs: 60_000 })).samples);
  if (loads[name].extra) for (let i = 0; i < JOINS_TIMED; ++i) extraInto.push(await loads[name].extra());
}

try {
  await probe.measure(10); // warm-up
  for (let round = 0; round < ROUNDS; ++round) {
    for (const name of LOADS) {
      const p = pooled[name];
      await phase(name, p.alone, p.extraAlone);
      const stop = await loads[name].start();
      await phase(name, p.hostile, p.extraHostile);
      p.notes.push(await stop());
    }
  }
  probe.assertInOrder(assert);
} finally {
  await probe.stop();
  for (const c of regexClients) c.disconnect();
  await server.stop();
}

const q = (xs, f) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(f * s.length))];
};
const fmt = (xs) => `p50 ${q(xs, 0.5).toFixed(2)} ms  p99 ${q(xs, 0.99).toFixed(2)} ms  max ${q(xs, 1).toFixed(2)} ms`;
const ratio = (a, b) => `p50 ${(q(b, 0.5) / q(a, 0.5)).toFixed(2)}×  p99 ${(q(b, 0.99) / q(a, 0.99)).toFixed(2)}×`;
console.log(`hostile: ${ROUNDS} rounds × ${ROWS} probe rows per phase; every probe row delivered once, in order`);
for (const name of LOADS) {
  const p = pooled[name];
  console.log(`${name}:`);
  console.log(`  alone:   ${fmt(p.alone)}`);
  console.log(`  hostile: ${fmt(p.hostile)}`);
  console.log(`  ratio:   ${ratio(p.alone, p.hostile)}`);
  if (loads[name].extra) {
    console.log(`  ${loads[name].extraName}: alone ${fmt(p.extraAlone)}; hostile ${fmt(p.extraHostile)}`);
  }
  console.log(`  load: ${p.notes.join(' | ')}`);
}
