// Issue 11, defect 3: joins were validated one at a time on one thread, superseded ones
// included — a socket re-joining one topic 300 times with a filter value Postgres needs ~150 ms
// to reject delayed an unrelated client's join by 47 s. Joins are now validated by several
// workers taking the sockets in turn (one join of a socket at a time), joins whose channel has
// ended are dropped, validation has a statement timeout, a socket may send
// MAX_JOINS_PER_SECOND joins a second (the reference's error, then 1001), and the refusals
// waiting out the back-off are bounded per socket (then 1008).
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from '../compat/lib/server.mjs';
import { RawSocket } from '../compat/lib/raw.mjs';
import { Sub, makeClient, uniqueName } from '../compat/lib/client.mjs';
import { waitUntil } from '../compat/lib/wait.mjs';

const HOSTILE_JOINS = 300;
/// An unrelated client's join (to SUBSCRIBED and "Subscribed to PostgreSQL") must take less
/// than this while the hostile socket's backlog is queued (a debug ASan build on a loaded
/// machine; the backlog alone is 300 × 150 ms = 45 s when validated in turn).
const JOIN_LATENCY_BOUND_MS = 3000;
const JOINS_PER_SECOND = 400;

// slow_text: a domain whose check Postgres needs ~150 ms to reject (the cast of a filter
// value runs it); very_slow_text: 5 s, past the default JOIN_STATEMENT_TIMEOUT_MS (2 s).
const SQL = `
  CREATE FUNCTION public.slow_reject(text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT false FROM pg_sleep(0.15) $$;
  CREATE FUNCTION public.very_slow_reject(text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT false FROM pg_sleep(5) $$;
  CREATE DOMAIN public.slow_text AS text CHECK (public.slow_reject(VALUE));
  CREATE DOMAIN public.very_slow_text AS text CHECK (public.very_slow_reject(VALUE));
  CREATE TABLE public.slow_filter (id int PRIMARY KEY, v public.slow_text, w public.very_slow_text);
  CREATE TABLE public.fair_probe (id int PRIMARY KEY);
  GRANT SELECT ON public.slow_filter, public.fair_probe TO anon;`;

let server;
const clients = [];
const sockets = [];

before(async () => {
  server = await Walcast.start({ MAX_JOINS_PER_SECOND: JOINS_PER_SECOND, CHANNEL_ERROR_BACKOFF_MS: 2000 });
  await server.sql(SQL);
});

after(async () => {
  for (const s of sockets) s.terminate();
  await Promise.all(clients.map((c) => c.disconnect()));
  await server?.stop();
});

async function rawSocket() {
  const s = await RawSocket.connect(server);
  sockets.push(s);
  return s;
}

const slowJoin = (filter) => ({
  config: { postgres_changes: [{ event: '*', schema: 'public', table: 'slow_filter', filter }] },
});

/// A realtime-js channel on fair_probe; resolves with the ms until it is SUBSCRIBED and got
/// its "Subscribed to PostgreSQL".
async function timedJoin() {
  const client = await makeClient(server);
  clients.push(client);
  const sub = new Sub(client, uniqueName('fair'), { rows: { event: 'INSERT', schema: 'public', table: 'fair_probe' } });
  const t0 = performance.now();
  const { status, err } = await sub.subscribe(60_000);
  assert.equal(status, 'SUBSCRIBED', err?.message);
  await sub.waitSystem((s) => s.status === 'ok', 'Subscribed to PostgreSQL', 60_000);
  return { ms: performance.now() - t0, sub };
}

it("a socket re-joining one topic 300 times with an expensive filter does not delay another socket's join", async () => {
  const before = await server.metrics();
  const hostile = await rawSocket();
  const topic = 'realtime:hostile-rejoin';
  const refs = [];
  for (let i = 0; i < HOSTILE_JOINS; ++i) {
    const ref = hostile.nextRef();
    refs.push(ref);
    hostile.send({ join_ref: ref, ref, topic, event: 'phx_join', payload: slowJoin(`v=eq.attempt-${i}`) });
  }
  // The hostile joins have reached the server once a heartbeat sent after them is answered.
  await hostile.heartbeat();

  const { ms, sub } = await timedJoin();
  console.log(`unrelated join: ${ms.toFixed(0)} ms with ${HOSTILE_JOINS} expensive re-joins queued by another socket`);
  assert.ok(ms < JOIN_LATENCY_BOUND_MS, `the unrelated join took ${ms.toFixed(0)} ms (bound ${JOIN_LATENCY_BOUND_MS} ms)`);

  // The hostile socket's last join is answered, with the rejection Postgres gave its filter.
  const last = refs[refs.length - 1];
  await hostile.waitFrame((f) => f.topic === topic && f.event === 'phx_reply' && f.ref === last, 'the last hostile join reply', { timeoutMs: 30_000 });
  const error = await hostile.waitFrame((f) => f.topic === topic && f.event === 'system' && f.join_ref === last,
    'the last hostile join\'s system error', { timeoutMs: 30_000 });
  assert.equal(error.payload.status, 'error');
  assert.match(error.payload.message, /attempt-299/, 'the error is about the last join\'s filter');
  assert.match(error.payload.message, /ERROR 23514/);
  // Superseded joins were dropped, not validated: at most a few ran before being superseded.
  const after = await server.metrics();
  const dropped = after.get('walcast_subscriptions_dropped_total') - (before.get('walcast_subscriptions_dropped_total') ?? 0);
  const refused = after.get('walcast_subscriptions_refused_total') - (before.get('walcast_subscriptions_refused_total') ?? 0);
  assert.ok(refused + dropped >= HOSTILE_JOINS, `refused ${refused} + dropped ${dropped} < ${HOSTILE_JOINS}`);
  assert.ok(refused <= 10, `${refused} superseded joins were validated (dropped ${dropped})`);
  // No reply for a superseded join other than its phx_close.
  const replies = hostile.framesOf(topic, 'phx_reply').map((f) => f.ref);
  assert.ok(replies.length <= refused, `${replies.length} join replies for ${refused} validated joins`);

  // The unrelated channel is live.
  await server.sql('INSERT INTO public.fair_probe VALUES (1)');
  await sub.waitCount('rows', 1);
});

it('a filter value Postgres takes longer than JOIN_STATEMENT_TIMEOUT_MS to cast fails its join with the setting named', async () => {
  const s = await rawSocket();
  const t0 = performance.now();
  const { join_ref } = await s.join('realtime:very-slow', slowJoin('w=eq.x'));
  const error = await s.waitFrame((f) => f.event === 'system' && f.join_ref === join_ref, 'the system error', { timeoutMs: 30_000 });
  const ms = performance.now() - t0;
  assert.match(error.payload.message, /ERROR 57014 \(query_canceled\) canceling statement due to statement timeout/);
  assert.match(error.payload.message, /JOIN_STATEMENT_TIMEOUT_MS \(2000 ms\)/);
  assert.ok(ms < 4900, `the join took ${ms.toFixed(0)} ms: the 5 s check was not cut off at 2 s`);
  // The worker is free again: another join goes through.
  assert.ok((await timedJoin()).ms < JOIN_LATENCY_BOUND_MS);
});

it('answers the join past MAX_JOINS_PER_SECOND with ClientJoinRateLimitReached and closes the socket with 1001', async () => {
  const s = await rawSocket();
  const topic = 'realtime:rate';
  const refs = [];
  for (let i = 0; i <= JOINS_PER_SECOND; ++i) {
    const ref = s.nextRef();
    refs.push(ref);
    s.send({ join_ref: ref, ref, topic, event: 'phx_join', payload: { config: {} } });
  }
  const close = await s.waitClosed(20_000);
  assert.equal(close.code, 1001);
  const limited = s.framesOf(topic, 'phx_reply').filter((f) => f.payload.status === 'error');
  assert.equal(limited.length, 1, JSON.stringify(limited));
  assert.deepEqual(limited[0].payload.response, { reason: 'ClientJoinRateLimitReached: Too many joins per second' });
  assert.equal(limited[0].ref, refs[JOINS_PER_SECOND], 'the join past the limit is the one refused');
  // Another socket is unaffected.
  assert.ok((await timedJoin()).ms < JOIN_LATENCY_BOUND_MS);
});

it('closes a socket with 1008 once 100 refused joins wait out the back-off, instead of holding more', async () => {
  const s = await rawSocket();
  for (let i = 0; i < 150; ++i) {
    const ref = s.nextRef();
    // "realtime:" alone is refused (TopicNameRequired) after CHANNEL_ERROR_BACKOFF_MS.
    s.send({ join_ref: ref, ref, topic: 'realtime:', event: 'phx_join', payload: {} });
  }
  const close = await s.waitClosed(20_000);
  assert.equal(close.code, 1008);
  assert.match(close.reason, /too many refused joins waiting for their reply \(100\)/);
  assert.equal(s.framesOf('realtime:', 'phx_reply').length, 0, 'a refusal was answered before its back-off');
});
