// Issue 11, defect 2: a normal client's commit → delivery latency alone and with 500 hostile
// `match` bindings (5 anonymous sockets × 100, patterns catastrophic for a backtracking engine,
// made distinct) on the table it listens to, whose rows carry 4,000 characters the patterns
// scan. Alone and hostile phases alternate ROUNDS times in one run (the hostile channels join
// before and leave after each hostile phase), so both see the same machine; every probe row
// must arrive once and in order.
//
//   WALCAST_BIN=build/release/walcast ROUNDS=3 ROWS=100 node bench/hostile_regex.mjs
//
// Prints p50/p99/max of each phase (all rounds pooled) and the ratios hostile / alone.
import assert from 'node:assert/strict';

import { Walcast } from '../tests/compat/lib/server.mjs';
import { makeClient, Sub, uniqueName } from '../tests/compat/lib/client.mjs';
import { anonToken } from '../tests/compat/lib/tokens.mjs';
import { Probe } from '../tests/abuse/lib/probe.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ROWS = Number(process.env.ROWS ?? 100);
const SOCKETS = 5;
const PER_SOCKET = 100;
const HOSTILE = ['^(a+)+b$', '(a|aa)+c', '(a*)*b', '^(a|a?)+b$', '(.*a){20}b', '(\\w+\\s?)*#'];

const server = await Walcast.start();
await server.sql(`CREATE TABLE public.regex_probe (seq int PRIMARY KEY,
    note text NOT NULL DEFAULT repeat('a', 4000));
  GRANT SELECT ON public.regex_probe TO anon;`);
const probe = await Probe.start(server, 'regex_probe');
const hostileClients = [];
for (let s = 0; s < SOCKETS; ++s) hostileClients.push(await makeClient(server, { token: anonToken() }));

async function joinHostile() {
  const subs = [];
  for (let s = 0; s < SOCKETS; ++s) {
    const bindings = {};
    for (let k = 0; k < PER_SOCKET; ++k) {
      const n = s * PER_SOCKET + k;
      bindings[`h${k}`] = { event: 'INSERT', schema: 'public', table: 'regex_probe',
        filter: `note=match.${HOSTILE[n % HOSTILE.length]}|x{${(n % 200) + 1}}y` };
    }
    const sub = new Sub(hostileClients[s], uniqueName('hostile'), bindings);
    assert.equal((await sub.subscribe()).status, 'SUBSCRIBED');
    await sub.waitSystem((x) => x.status === 'ok', 'Subscribed to PostgreSQL');
    subs.push(sub);
  }
  return subs;
}

const pooled = { alone: [], hostile: [] };
// Probe.measure returns quantiles only; measure row by row to pool every latency.
async function phase(name) {
  for (let i = 0; i < ROWS; ++i) {
    const r = await probe.measure(1, { timeoutMs: 60_000 });
    pooled[name].push(r.max);
  }
}

try {
  await probe.measure(10); // warm-up
  for (let round = 0; round < ROUNDS; ++round) {
    await phase('alone');
    const subs = await joinHostile();
    await probe.measure(3); // the hostile regexes build their DFA states on the first rows
    await phase('hostile');
    for (const s of subs) {
      assert.equal(s.events.length, 0, 'no hostile pattern matches the probe rows');
      await s.remove();
    }
  }
  probe.assertInOrder(assert);
} finally {
  await probe.stop();
  for (const c of hostileClients) c.disconnect();
  await server.stop();
}

const q = (xs, f) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(f * s.length))];
};
const row = (name) => ({ p50: q(pooled[name], 0.5), p99: q(pooled[name], 0.99), max: q(pooled[name], 1) });
const alone = row('alone');
const hostile = row('hostile');
console.log(`hostile_regex: ${ROUNDS} rounds × ${ROWS} rows per phase, ${SOCKETS * PER_SOCKET} hostile bindings`);
console.log(`  alone:   p50 ${alone.p50.toFixed(2)} ms  p99 ${alone.p99.toFixed(2)} ms  max ${alone.max.toFixed(2)} ms`);
console.log(`  hostile: p50 ${hostile.p50.toFixed(2)} ms  p99 ${hostile.p99.toFixed(2)} ms  max ${hostile.max.toFixed(2)} ms`);
console.log(`  ratio:   p50 ${(hostile.p50 / alone.p50).toFixed(2)}×  p99 ${(hostile.p99 / alone.p99).toFixed(2)}×`);
