// Differential test of the two capture modes (issue 12): two real walcast servers on one
// database — one with CAPTURE=trigger, one with CAPTURE=logical — serve the same subscriptions
// (row-level security per user, filters, select lists, Error 413 rows, replica identity DEFAULT
// and FULL, several vsn) to the official client; one deterministic workload runs; every
// channel must receive the same events in the same order with the same records, old records
// and errors from both.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { Walcast } from './lib/server.mjs';
import { makeClient, Sub, uniqueName, VSNS } from './lib/client.mjs';
import { BARRIER_SQL, barrier, barrierBinding, rows } from './lib/barrier.mjs';
import { userToken } from './lib/tokens.mjs';

const MAX_RECORD_BYTES = 2048;
const USERS = [randomUUID(), randomUUID(), randomUUID()];

const SETUP = `
  ${BARRIER_SQL}
  CREATE TABLE public.notes (id int PRIMARY KEY, owner uuid NOT NULL, body text, secret text);
  ALTER TABLE public.notes REPLICA IDENTITY FULL;
  ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
  CREATE POLICY own_notes ON public.notes FOR SELECT TO authenticated USING (owner = auth.uid());
  GRANT SELECT (id, owner, body) ON public.notes TO authenticated;
  CREATE TABLE public.items (id int PRIMARY KEY, name text, qty int, tags text[], at timestamptz,
                             price numeric, meta jsonb);
  GRANT SELECT ON public.items TO authenticated, anon;
  CREATE TABLE public.big (id int PRIMARY KEY, small text, huge text);
  GRANT SELECT ON public.big TO authenticated, anon;`;

// The channels each user opens on each server (the same names' bindings on both).
const BINDINGS = {
  notes: { event: '*', schema: 'public', table: 'notes' },
  items_f: { event: '*', schema: 'public', table: 'items', filter: 'qty=gt.5' },
  items_u: { event: 'UPDATE', schema: 'public', table: 'items' },
  big: { event: '*', schema: 'public', table: 'big' },
  barrier: barrierBinding(),
};

// Deterministic pseudo-random numbers (mulberry32).
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The workload: statements run one after another (each awaited), so the commit order is the
// same for both sources. Row-level security is checked against the table as it is when the
// check runs (docs/architecture.md, "Authorize"), so rows of the RLS table keep their owner
// and are never deleted: what a user may see then does not depend on when each server checks.
function workload() {
  const rnd = prng(12);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const steps = [];
  let nextId = 1;
  const live = { notes: [], items: [], big: [] };
  for (let i = 0; i < 240; i++) {
    const table = pick(['notes', 'notes', 'items', 'items', 'big']);
    const ops = table === 'notes' ? ['insert', 'update', 'multi'] : ['insert', 'insert', 'update', 'delete', 'multi'];
    const op = live[table].length === 0 ? 'insert' : pick(ops);
    if (op === 'insert') {
      const id = nextId++;
      live[table].push(id);
      if (table === 'notes') steps.push([`INSERT INTO notes VALUES ($1, $2, $3, $4)`, [id, pick(USERS), `body ${id}`, `secret ${id}`]]);
      if (table === 'items') steps.push([`INSERT INTO items VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [id, `item "${id}"`, Math.floor(rnd() * 10), ['a', `b ${id}`], '2024-05-06 07:08:09.5+03', (id * 1.25).toFixed(2), { id, k: [1, 2] }]]);
      if (table === 'big') steps.push([`INSERT INTO big VALUES ($1, $2, repeat('x', $3))`, [id, `s${id}`, pick([10, 5000])]]);
    } else if (op === 'update') {
      const id = pick(live[table]);
      if (table === 'notes') steps.push([`UPDATE notes SET body = body || '+', secret = $2 WHERE id = $1`, [id, `s${i}`]]);
      if (table === 'items') steps.push([`UPDATE items SET qty = $2, name = name || '+' WHERE id = $1`, [id, Math.floor(rnd() * 10)]]);
      if (table === 'big') steps.push([`UPDATE big SET small = small || '+', huge = repeat('y', $2) WHERE id = $1`, [id, pick([10, 5000])]]);
    } else if (op === 'delete') {
      const id = pick(live[table]);
      live[table] = live[table].filter((x) => x !== id);
      steps.push([`DELETE FROM ${table} WHERE id = $1`, [id]]);
    } else {
      // One statement over several rows, and a key change.
      if (table === 'items') {
        steps.push(['UPDATE items SET qty = qty + 3 WHERE id % 3 = 0', []]);
        const id = pick(live.items);
        const to = nextId++;
        live.items = live.items.map((x) => (x === id ? to : x));
        steps.push(['UPDATE items SET id = $2 WHERE id = $1', [id, to]]); // a key change
      } else if (table === 'notes') steps.push(['UPDATE notes SET body = body || \'!\' WHERE id % 2 = 0', []]);
      else steps.push(['UPDATE big SET small = small || \'!\'', []]);
    }
  }
  return steps;
}

let trigger;
let logical;
const clients = [];

before(async () => {
  trigger = await Walcast.start({ CAPTURE: 'trigger', MAX_RECORD_BYTES });
  await trigger.sql(SETUP);
  logical = await Walcast.start({ CAPTURE: 'logical', DATABASE_URL: trigger.dbUrl, MAX_RECORD_BYTES });
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await logical?.stop();
  await trigger?.stop();
});

async function subscribeAll(server) {
  const subs = [];
  for (const [i, user] of [...USERS, 'anon'].entries()) {
    const vsn = VSNS[i % VSNS.length];
    const client = await makeClient(server, user === 'anon' ? { vsn } : { vsn, token: userToken(user) });
    clients.push(client);
    const s = new Sub(client, uniqueName(`diff-${server.capture}`), BINDINGS);
    await s.subscribed();
    subs.push({ who: user === 'anon' ? 'anon' : `user${i}`, sub: s });
  }
  return subs;
}

// What a channel received for a binding, without what differs by design between two servers
// (commit_timestamp: the trigger source's is its own; ids: per server).
const received = (sub, name) => rows(sub, name).map((e) => ({
  eventType: e.payload.eventType, schema: e.payload.schema, table: e.payload.table,
  new: e.payload.new, old: e.payload.old, errors: e.payload.errors ?? null,
}));

it('delivers the same events, in the same order, with the same records, to every channel in both capture modes', async () => {
  assert.equal(trigger.capture, 'trigger');
  assert.equal(logical.capture, 'logical');
  const t = await subscribeAll(trigger);
  const l = await subscribeAll(logical);
  for (const [sqlText, params] of workload()) await trigger.sql(sqlText, params);
  await barrier(trigger, t.map((x) => x.sub));
  await barrier(logical, l.map((x) => x.sub));

  let compared = 0;
  for (let i = 0; i < t.length; i++) {
    for (const name of Object.keys(BINDINGS).filter((n) => n !== 'barrier')) {
      const a = received(t[i].sub, name);
      const b = received(l[i].sub, name);
      assert.deepEqual(a, b, `${t[i].who} ${name}: trigger and logical differ`);
      compared += a.length;
    }
  }
  // Not two empty streams: users see their notes, everyone the items, some rows are 413s.
  assert.ok(compared > 300, `only ${compared} events compared`);
  const errors = t.flatMap((x) => received(x.sub, 'big')).filter((e) => e.errors);
  assert.ok(errors.length > 0, 'no Error 413 row was compared');
  for (const { sub } of t.slice(0, USERS.length)) assert.ok(received(sub, 'notes').length > 0);
  assert.deepEqual(received(t[USERS.length].sub, 'notes'), []); // anon: no SELECT on notes
});
