// The leak matrix (issue 4): 20 users (plus duplicate sockets, service_role and anon) × 340 rows
// across tables with owner policies, team policies through a join table, column grants, a
// table without RLS, and private schemas with and without grants. Every subscriber must receive
// exactly what the same SELECT, run as that subscriber in Postgres (SET ROLE +
// request.jwt.claims), returns — in commit order — and nothing else. Each phase changes every
// row at most once and leaves the other tables alone, so a row's version before the phase and
// after it are the versions its change carries (issue 10: visibility is decided on them):
// INSERT/UPDATE on the new version, an UPDATE's old_record and a DELETE (REPLICA IDENTITY FULL
// everywhere) on the old one.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { Walcast } from './lib/server.mjs';
import { makeClient, Sub, uniqueName, VSNS } from './lib/client.mjs';
import { BARRIER_SQL, barrier, barrierBinding } from './lib/barrier.mjs';
import { nowS, sign } from './lib/tokens.mjs';
import { show } from './lib/wait.mjs';

const USERS = 20;
const TEAMS = 6; // team 5 has no members

const TABLES = {
  'lm.members': { cols: ['team', 'member'], pk: ['team', 'member'] },
  'lm.notes': { cols: ['id', 'owner', 'body'], pk: ['id'] },
  'lm.docs': { cols: ['id', 'team', 'title'], pk: ['id'] },
  'lm.profiles': { cols: ['id', 'owner', 'name', 'salary'], pk: ['id'] },
  'lm.feed': { cols: ['id', 'author', 'msg'], pk: ['id'] },
  'priv_ok.secrets': { cols: ['id', 'owner', 'v'], pk: ['id'] },
  'priv_no.secrets': { cols: ['id', 'owner', 'v'], pk: ['id'] },
  'priv_none.t': { cols: ['id', 'v'], pk: ['id'] },
};

// Channel name -> [binding, tables it covers].
const CHANNELS = {
  lm: [{ event: '*', schema: 'lm' }, Object.keys(TABLES).filter((t) => t.startsWith('lm.'))],
  ok: [{ event: '*', schema: 'priv_ok', table: 'secrets' }, ['priv_ok.secrets']],
  no: [{ event: '*', schema: 'priv_no', table: 'secrets' }, ['priv_no.secrets']],
  none: [{ event: '*', schema: 'priv_none', table: 't' }, ['priv_none.t']],
};

const SETUP = `
  ${BARRIER_SQL}
  CREATE SCHEMA lm;
  GRANT USAGE ON SCHEMA lm TO authenticated, service_role;
  CREATE TABLE lm.members (team int, member uuid, PRIMARY KEY (team, member));
  ALTER TABLE lm.members ENABLE ROW LEVEL SECURITY;
  CREATE POLICY own_membership ON lm.members FOR SELECT TO authenticated USING (member = auth.uid());
  CREATE TABLE lm.notes (id int PRIMARY KEY, owner uuid NOT NULL, body text);
  ALTER TABLE lm.notes ENABLE ROW LEVEL SECURITY;
  CREATE POLICY own_notes ON lm.notes FOR SELECT TO authenticated USING (owner = auth.uid());
  CREATE TABLE lm.docs (id int PRIMARY KEY, team int NOT NULL, title text);
  ALTER TABLE lm.docs ENABLE ROW LEVEL SECURITY;
  CREATE POLICY team_docs ON lm.docs FOR SELECT TO authenticated
    USING (team IN (SELECT m.team FROM lm.members m WHERE m.member = auth.uid()));
  CREATE TABLE lm.profiles (id int PRIMARY KEY, owner uuid, name text, salary int);
  ALTER TABLE lm.profiles ENABLE ROW LEVEL SECURITY;
  CREATE POLICY all_profiles ON lm.profiles FOR SELECT TO authenticated USING (true);
  CREATE TABLE lm.feed (id int PRIMARY KEY, author uuid, msg text);
  GRANT SELECT ON lm.members, lm.notes, lm.docs, lm.feed TO authenticated;
  GRANT SELECT (id, owner, name) ON lm.profiles TO authenticated;
  GRANT SELECT ON ALL TABLES IN SCHEMA lm TO service_role;

  CREATE SCHEMA priv_ok;
  GRANT USAGE ON SCHEMA priv_ok TO authenticated, service_role;
  CREATE TABLE priv_ok.secrets (id int PRIMARY KEY, owner uuid, v text);
  ALTER TABLE priv_ok.secrets ENABLE ROW LEVEL SECURITY;
  CREATE POLICY own_secrets ON priv_ok.secrets FOR SELECT TO authenticated USING (owner = auth.uid());
  GRANT SELECT ON priv_ok.secrets TO authenticated, service_role;

  CREATE SCHEMA priv_no; -- no USAGE for anyone: the table grant alone does not make it readable
  CREATE TABLE priv_no.secrets (id int PRIMARY KEY, owner uuid, v text);
  GRANT SELECT ON priv_no.secrets TO authenticated, service_role;

  CREATE SCHEMA priv_none; -- no grants at all
  CREATE TABLE priv_none.t (id int PRIMARY KEY, v text);
  ${Object.keys(TABLES).map((t) => `ALTER TABLE ${t} REPLICA IDENTITY FULL;`).join('\n')}`;

// Deterministic pseudo-random numbers (mulberry32), so that a failure can be replayed.
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
const SEED = Number(process.env.LEAK_MATRIX_SEED ?? 20261121);
const rand = prng(SEED);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const shuffle = (xs) => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
};

const users = Array.from({ length: USERS }, () => randomUUID());
const strangers = Array.from({ length: 3 }, () => randomUUID()); // own rows, never subscribe
const pkKey = (table, row) => TABLES[table].pk.map((c) => row[c]).join('|');

// The model of every table's rows, and the ops of each phase in commit order.
const model = Object.fromEntries(Object.keys(TABLES).map((t) => [t, new Map()]));

function insertOp(table, row) {
  model[table].set(pkKey(table, row), row);
  return { table, kind: 'INSERT', row };
}
function updateOp(table, key, changes) {
  const old = model[table].get(key);
  const row = { ...old, ...changes };
  model[table].set(key, row);
  return { table, kind: 'UPDATE', row, old };
}
function deleteOp(table, key) {
  const old = model[table].get(key);
  model[table].delete(key);
  return { table, kind: 'DELETE', old };
}

function phaseInserts() {
  const ops = [];
  // Memberships first (committed before any doc), so that team visibility is settled.
  for (const u of users) {
    const teams = new Set([Math.floor(rand() * 5)]);
    if (rand() < 0.5) teams.add(Math.floor(rand() * 5));
    for (const team of teams) ops.push(insertOp('lm.members', { team, member: u }));
  }
  const owners = [...users, ...strangers];
  const rest = [];
  let id = 0;
  for (let i = 0; i < 110; i++) rest.push(['lm.notes', { id: ++id, owner: pick(owners), body: `note ${id}` }]);
  for (let i = 0; i < 60; i++) rest.push(['lm.docs', { id: ++id, team: Math.floor(rand() * TEAMS), title: `doc ${id}` }]);
  for (let i = 0; i < 40; i++) rest.push(['lm.profiles', { id: ++id, owner: pick(owners), name: `name ${id}`, salary: 1000 + id }]);
  for (let i = 0; i < 30; i++) rest.push(['lm.feed', { id: ++id, author: pick(owners), msg: `msg ${id}` }]);
  for (let i = 0; i < 30; i++) rest.push(['priv_ok.secrets', { id: ++id, owner: pick(owners), v: `ok ${id}` }]);
  for (let i = 0; i < 20; i++) rest.push(['priv_no.secrets', { id: ++id, owner: pick(owners), v: `no ${id}` }]);
  for (let i = 0; i < 10; i++) rest.push(['priv_none.t', { id: ++id, v: `none ${id}` }]);
  for (const [t, row] of shuffle(rest)) ops.push(insertOp(t, row));
  return ops;
}

function phaseUpdates() {
  const owners = [...users, ...strangers];
  const ops = [];
  const some = (table, n) => shuffle([...model[table].keys()]).slice(0, n);
  for (const k of some('lm.notes', 40)) ops.push(updateOp('lm.notes', k, rand() < 0.5 ? { body: `edited ${k}` } : { owner: pick(owners) }));
  for (const k of some('lm.docs', 20)) ops.push(updateOp('lm.docs', k, { team: Math.floor(rand() * TEAMS), title: `moved ${k}` }));
  for (const k of some('lm.profiles', 10)) ops.push(updateOp('lm.profiles', k, { name: `renamed ${k}`, salary: 5 }));
  for (const k of some('lm.feed', 10)) ops.push(updateOp('lm.feed', k, { msg: `re ${k}` }));
  for (const k of some('priv_ok.secrets', 10)) ops.push(updateOp('priv_ok.secrets', k, { owner: pick(owners) }));
  for (const k of some('priv_no.secrets', 5)) ops.push(updateOp('priv_no.secrets', k, { v: 'changed' }));
  for (const k of some('priv_none.t', 3)) ops.push(updateOp('priv_none.t', k, { v: 'changed' }));
  return shuffle(ops);
}

function phaseDeletes() {
  const ops = [];
  const some = (table, n) => shuffle([...model[table].keys()]).slice(0, n);
  for (const [t, n] of [['lm.notes', 30], ['lm.docs', 10], ['lm.profiles', 5], ['lm.feed', 5],
    ['priv_ok.secrets', 5], ['priv_no.secrets', 5], ['priv_none.t', 3]]) {
    for (const k of some(t, n)) ops.push(deleteOp(t, k));
  }
  return shuffle(ops);
}

// Memberships go in a phase of their own: the docs' policy reads them.
function phaseMemberDeletes() {
  return shuffle([...model['lm.members'].keys()]).slice(0, 8).map((k) => deleteOp('lm.members', k));
}

function opSql(op) {
  const { cols, pk } = TABLES[op.table];
  if (op.kind === 'INSERT') {
    return [`INSERT INTO ${op.table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => op.row[c])];
  }
  const where = pk.map((c, i) => `${c} = $${i + 1}`).join(' AND ');
  const keyVals = pk.map((c) => op.old[c]);
  if (op.kind === 'DELETE') return [`DELETE FROM ${op.table} WHERE ${where}`, keyVals];
  const set = cols.filter((c) => !pk.includes(c)).map((c, i) => `${c} = $${pk.length + i + 1}`);
  return [`UPDATE ${op.table} SET ${set.join(', ')} WHERE ${where}`, [...keyVals, ...cols.filter((c) => !pk.includes(c)).map((c) => op.row[c])]];
}

// Commits the ops in order, ten statements per transaction.
async function run(ops) {
  for (let i = 0; i < ops.length; i += 10) {
    await server.tx(async (c) => {
      for (const op of ops.slice(i, i + 10)) await c.query(...opSql(op));
    });
  }
}

let server;
const subscribers = []; // {label, claims, client, subs: {channel: Sub}, failed: Set}
const expectedEvents = new Map(); // label -> channel -> [event strings]
const access = new Map(); // role -> table -> {canSelect, readable}

const pick_ = (row, cols) => Object.fromEntries(cols.filter((c) => c in row).map((c) => [c, row[c]]));
const eventString = (table, type, nw, old) => `${table} ${type} new=${JSON.stringify(nw)} old=${JSON.stringify(old)}`;
const sortKeys = (o) => Object.fromEntries(Object.keys(o ?? {}).sort().map((k) => [k, o[k]]));

async function roleAccess(claims) {
  if (access.has(claims.role)) return access.get(claims.role);
  const m = {};
  for (const table of Object.keys(TABLES)) {
    const readable = (await server.sql(
      `SELECT a.attname AS col FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0
         AND NOT a.attisdropped AND has_column_privilege($2, a.attrelid, a.attnum, 'SELECT') ORDER BY a.attnum`,
      [table, claims.role])).map((r) => r.col);
    let canSelect = readable.length > 0;
    if (canSelect) {
      try {
        await server.selectAs(claims, `SELECT ${readable.join(', ')} FROM ${table} LIMIT 0`);
      } catch {
        canSelect = false; // e.g. no USAGE on the schema
      }
    }
    m[table] = { canSelect, readable };
  }
  access.set(claims.role, m);
  return m;
}

// The rows of the ops' tables the same SELECT as `claims` returns now, by table and key.
async function visibleNow(claims, ops) {
  const acc = await roleAccess(claims);
  const visible = {};
  for (const table of new Set(ops.map((o) => o.table))) {
    const { canSelect, readable } = acc[table];
    if (!canSelect) continue;
    const rows = await server.selectAs(claims, `SELECT ${readable.join(', ')} FROM ${table}`);
    visible[table] = new Map(rows.map((r) => [pkKey(table, { ...r }), r]));
  }
  return visible;
}

// What `claims` may see of this phase's ops, in commit order, per channel: an INSERT/UPDATE
// when the SELECT returns its row after the phase (the new version), an UPDATE's old_record
// and a DELETE when it returned the row before the phase (the old version), with the columns
// the role may read.
async function expectedFor(claims, ops, before) {
  const acc = await roleAccess(claims);
  const visible = await visibleNow(claims, ops);
  const out = Object.fromEntries(Object.keys(CHANNELS).map((ch) => [ch, []]));
  for (const op of ops) {
    const ch = Object.keys(CHANNELS).find((c) => CHANNELS[c][1].includes(op.table));
    const { canSelect, readable } = acc[op.table];
    if (!canSelect) continue;
    const oldVisible = op.old && before[op.table].has(pkKey(op.table, op.old));
    if (op.kind === 'DELETE') {
      if (oldVisible) out[ch].push(eventString(op.table, 'DELETE', {}, sortKeys(pick_(op.old, readable))));
      continue;
    }
    const row = visible[op.table].get(pkKey(op.table, op.row));
    if (!row) continue;
    const old = op.kind === 'UPDATE' && oldVisible ? sortKeys(pick_(op.old, readable)) : {};
    out[ch].push(eventString(op.table, op.kind, sortKeys({ ...row }), old));
  }
  return out;
}

function receivedFor(sub) {
  return sub.of('t').map((e) => eventString(`${e.payload.schema}.${e.payload.table}`, e.payload.eventType,
    sortKeys(e.payload.new), sortKeys(e.payload.old)));
}

before(async () => {
  server = await Walcast.start();
  await server.sql(SETUP);

  const exp = nowS() + 3600;
  const identities = [
    ...users.map((u, i) => [`user${i}`, { role: 'authenticated', sub: u, exp }]),
    // Second sockets of two users: one identity, two subscribers.
    ['user0-again', { role: 'authenticated', sub: users[0], exp }],
    ['user1-again', { role: 'authenticated', sub: users[1], exp }],
    ['service_role', { role: 'service_role', exp }],
    ['anon', { role: 'anon', exp }],
  ];
  await Promise.all(identities.map(async ([label, claims], i) => {
    const client = await makeClient(server, { vsn: VSNS[i % 2], token: sign(claims) });
    const subs = {};
    const failed = new Set();
    for (const [ch, [binding]] of Object.entries(CHANNELS)) {
      const s = new Sub(client, uniqueName(`lm-${label}-${ch}`), { t: binding, barrier: barrierBinding() });
      const { status, err } = await s.subscribe();
      assert.equal(status, 'SUBSCRIBED', `${label}/${ch}: ${err?.message}`);
      const sys = await s.waitSystem(() => true, 'the subscription outcome');
      if (sys.status !== 'ok') failed.add(ch); // no live bindings: must receive nothing
      subs[ch] = s;
    }
    subscribers.push({ label, claims, client, subs, failed });
  }));
});

after(async () => {
  await Promise.all(subscribers.map((s) => s.client.disconnect()));
  await server?.stop();
});

function live() {
  return subscribers.flatMap((s) => Object.entries(s.subs).filter(([ch]) => !s.failed.has(ch)).map(([, sub]) => sub));
}

async function phase(name, ops) {
  const start = Object.fromEntries(subscribers.map((s) => [s.label, Object.fromEntries(Object.entries(s.subs).map(([ch, sub]) => [ch, sub.of('t').length]))]));
  const before = new Map();
  for (const s of subscribers) before.set(s.label, await visibleNow(s.claims, ops));
  await run(ops);
  await barrier(server, live(), { timeoutMs: 60_000 });
  const problems = [];
  let delivered = 0;
  for (const s of subscribers) {
    const want = await expectedFor(s.claims, ops, before.get(s.label));
    for (const ch of Object.keys(CHANNELS)) {
      const got = receivedFor(s.subs[ch]).slice(start[s.label][ch]);
      delivered += got.length;
      const w = s.failed.has(ch) ? [] : want[ch];
      if (JSON.stringify(got) !== JSON.stringify(w)) {
        const leaked = got.filter((g) => !w.includes(g));
        const missing = w.filter((x) => !got.includes(x));
        problems.push(`${s.label}/${ch}: ${got.length} received, ${w.length} expected` +
          `${leaked.length ? `\n  NOT ALLOWED (leak): ${show(leaked.slice(0, 5))}` : ''}` +
          `${missing.length ? `\n  missing: ${show(missing.slice(0, 5))}` : ''}` +
          `${!leaked.length && !missing.length ? '\n  same events, different order' : ''}`);
      }
    }
  }
  assert.deepEqual(problems, [], `${name} (seed ${SEED}):\n${problems.join('\n')}`);
  return delivered;
}

it('delivers every subscriber exactly what its SELECT returns: inserts', async () => {
  const delivered = await phase('inserts', phaseInserts());
  assert.ok(delivered > 500, `only ${delivered} deliveries: the matrix is not exercising much`);
});

it('… updates (rows moving between owners and teams, hidden columns changing)', async () => {
  await phase('updates', phaseUpdates());
});

it('… deletes (only to those who could see the deleted row, with the columns they may read)', async () => {
  await phase('deletes', phaseDeletes());
});

it('… membership deletes', async () => {
  await phase('member deletes', phaseMemberDeletes());
});
