// Live SQL queries through the pinned realtime-js, unmodified (issue 13): the query rides in
// `config.broadcast.live_query`, its pushes arrive as `broadcast` events result / diff / error.
// Against the real binary and its Postgres: first result then keyed diffs with positions that
// never go backwards; column-precise re-runs (executions counted on /metrics); throttle
// coalescing; RLS per identity with no sharing across identities; no gap at subscribe; errors
// per subscriber; refusals naming the setting; the row limit.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

import { Walcast } from './lib/server.mjs';
import { makeClient, Sub, uniqueName, VSNS } from './lib/client.mjs';
import { roleToken, serviceToken, userToken } from './lib/tokens.mjs';
import { waitUntil, show } from './lib/wait.mjs';
import { replay, lsn } from './lib/live.mjs';

const A = randomUUID();
const B = randomUUID();
const MAX_ROWS = 50;

let server;
const clients = [];

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'walcast-live-queries-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'my_notes.sql'), '-- key: id\nSELECT id, body FROM public.lq_notes ORDER BY id\n');
  writeFileSync(join(dir, 'ratio.sql'), 'SELECT id, 10 / n AS q FROM public.lq_nums WHERE id = $1\n');
  writeFileSync(join(dir, 'nothing.sql'), 'SELECT 1 AS one\n');
  // The seed's pending-orders example (pg-realtime): refresh conditions per table, one of them
  // comparing the changed item with the result's order ids.
  writeFileSync(join(dir, 'pending_orders.sql'), [
    '-- key: id',
    '-- refresh: lq_orders status=eq.pending',
    '-- refresh: lq_order_items order_id=eq.:result/id',
    'SELECT o.id, coalesce(sum(i.qty), 0)::int AS qty FROM public.lq_orders o',
    '  LEFT JOIN public.lq_order_items i ON i.order_id = o.id',
    "  WHERE o.status = 'pending' AND o.customer = $1 GROUP BY o.id ORDER BY o.id",
    '',
  ].join('\n'));
  server = await Walcast.start({
    LIVE_QUERIES_DIR: dir,
    LIVE_QUERY_MAX_ROWS: MAX_ROWS,
  });
  // service_role reads what the tests create (as on Supabase, through default privileges).
  await server.sql(`
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO service_role;
    CREATE TABLE public.lq_items (id int PRIMARY KEY, status text, qty int, note text);
    ALTER TABLE public.lq_items REPLICA IDENTITY FULL;
    CREATE TABLE public.lq_plain (id int PRIMARY KEY, status text, note text);
    CREATE TABLE public.lq_notes (id int PRIMARY KEY, owner uuid NOT NULL, body text);
    ALTER TABLE public.lq_notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.lq_notes FOR SELECT TO authenticated USING (owner = auth.uid());
    GRANT SELECT ON public.lq_notes TO authenticated;
    CREATE TABLE public.lq_nums (id int PRIMARY KEY, n int);
    GRANT SELECT ON public.lq_nums TO authenticated;
    CREATE TABLE public.lq_many (id int PRIMARY KEY);
    CREATE TABLE public.lq_orders (id int PRIMARY KEY, customer int NOT NULL, status text NOT NULL);
    ALTER TABLE public.lq_orders REPLICA IDENTITY FULL;
    CREATE TABLE public.lq_order_items (id int PRIMARY KEY, order_id int NOT NULL, qty int NOT NULL);
    CREATE TABLE public.lq_sentinel (seq int PRIMARY KEY);
    INSERT INTO public.lq_many SELECT generate_series(1, ${MAX_ROWS + 1});
  `);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

/// A channel joined with `live_query`; its broadcast events go to `got` in arrival order.
async function live(liveQuery, { vsn = '2.0.0', token = serviceToken() } = {}) {
  const client = await makeClient(server, { vsn, token });
  clients.push(client);
  const channel = client.channel(uniqueName('lq'), { config: { broadcast: { live_query: liveQuery } } });
  const got = [];
  channel.on('broadcast', { event: '*' }, (m) => got.push(m));
  const status = await new Promise((resolve) => channel.subscribe((s, err) => {
    if (s === 'SUBSCRIBED' || s === 'CHANNEL_ERROR' || s === 'TIMED_OUT') resolve({ s, err: err?.message });
  }));
  return { client, channel, got, status };
}


async function executions() {
  return (await server.metrics()).get('walcast_live_query_executions_total');
}

/// Live results that committed transactions touched so far (each asks for a run).
async function triggered() {
  return (await server.metrics()).get('walcast_live_query_triggered_total');
}

/// Resolves once the change stream has passed every transaction committed before the call: a
/// row inserted into public.lq_sentinel arrives on a Postgres Changes channel. Each consumer of
/// the stream is handed a transaction before the next one's changes are routed, so by then the
/// live-query engine has counted in walcast_live_query_triggered_total what those transactions
/// touched.
let sentinel;
let sentinelSeq = 0;
async function streamPassed() {
  if (!sentinel) {
    const client = await makeClient(server, { token: serviceToken() });
    clients.push(client);
    sentinel = new Sub(client, uniqueName('sentinel'), { s: { event: 'INSERT', schema: 'public', table: 'lq_sentinel' } });
    assert.equal((await sentinel.subscribe()).status, 'SUBSCRIBED');
    await sentinel.waitSystem((x) => x.status === 'ok', 'Subscribed to PostgreSQL');
  }
  const seq = ++sentinelSeq;
  await server.sql('INSERT INTO public.lq_sentinel VALUES ($1)', [seq]);
  await sentinel.waitFor((s) => s.events.some((e) => e.payload.new.seq === seq), `sentinel row ${seq}`);
}

function waitFor(l, pred, what) {
  return waitUntil(() => l.got.find(pred), { what, dump: () => l.got });
}

for (const vsn of VSNS) {
  describe(`realtime-js ${vsn}`, () => {
    it('pushes the first result, then keyed diffs whose positions never go backwards', async () => {
      const t = `lq_seq_${vsn.replaceAll('.', '')}`;
      await server.sql(`CREATE TABLE public.${t} (id int PRIMARY KEY, v text);
        INSERT INTO public.${t} VALUES (1, 'a'), (2, 'b');`);
      const l = await live({ sql: `SELECT id, v FROM public.${t} ORDER BY id`, throttle_ms: 0 }, { vsn });
      assert.equal(l.status.s, 'SUBSCRIBED', show(l.status));
      await waitFor(l, (m) => m.event === 'result', 'the first result');
      assert.deepEqual(l.got[0].payload.rows, [{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);
      assert.deepEqual(l.got[0].payload.key, ['id']);
      assert.deepEqual(l.got[0].payload.columns, [{ name: 'id', type: 'int4' }, { name: 'v', type: 'text' }]);
      await server.sql(`INSERT INTO public.${t} VALUES (3, 'c')`);
      await waitFor(l, (m) => m.event === 'diff' && m.payload.inserted.length, 'the insert diff');
      await server.sql(`UPDATE public.${t} SET v = 'B' WHERE id = 2`);
      await waitFor(l, (m) => m.event === 'diff' && m.payload.updated.length, 'the update diff');
      await server.sql(`DELETE FROM public.${t} WHERE id = 1`);
      await waitFor(l, (m) => m.event === 'diff' && m.payload.deleted.length, 'the delete diff');
      const diffs = l.got.filter((m) => m.event === 'diff').map((m) => m.payload);
      assert.deepEqual(diffs.map((d) => [d.inserted, d.updated, d.deleted]), [
        [[{ id: 3, v: 'c' }], [], []],
        [[], [{ id: 2, v: 'B' }], []],
        [[], [], [{ id: 1 }]],
      ]);
      assert.deepEqual(replay(l.got, ['id']), [{ id: 2, v: 'B' }, { id: 3, v: 'c' }]);
      const positions = l.got.map((m) => lsn(m.payload.position));
      for (let i = 1; i < positions.length; i++) assert.ok(positions[i] >= positions[i - 1], show(l.got));
      assert.ok(positions.at(-1) > positions[0], show(l.got));
    });
  });
}

describe('re-runs', () => {
  it('an UPDATE of a column the query does not read runs nothing under REPLICA IDENTITY FULL', async () => {
    await server.sql(`INSERT INTO public.lq_items VALUES (1, 'open', 1, 'x'), (2, 'open', 2, 'y')`);
    const l = await live({ sql: 'SELECT id, status FROM public.lq_items ORDER BY id', throttle_ms: 0 });
    await waitFor(l, (m) => m.event === 'result', 'the first result');
    const before = await executions();
    await server.sql(`UPDATE public.lq_items SET note = 'changed', qty = 5 WHERE id = 1`); // unused columns
    await server.sql(`UPDATE public.lq_items SET status = 'done' WHERE id = 2`); // a used column
    await waitFor(l, (m) => m.event === 'diff', 'the status diff');
    assert.equal(await executions() - before, 1, 'only the status UPDATE ran the query');
    assert.deepEqual(l.got.filter((m) => m.event === 'diff').map((m) => m.payload.updated),
      [[{ id: 2, status: 'done' }]]);
  });

  it('under the default replica identity the unused-column UPDATE runs it (conservative) and pushes nothing', async () => {
    await server.sql(`INSERT INTO public.lq_plain VALUES (1, 'open', 'x'), (2, 'open', 'y')`);
    const l = await live({ sql: 'SELECT id, status FROM public.lq_plain ORDER BY id', throttle_ms: 0 });
    await waitFor(l, (m) => m.event === 'result', 'the first result');
    const before = await executions();
    await server.sql(`UPDATE public.lq_plain SET note = 'changed' WHERE id = 1`);
    // Its run (waited for, so that the next change cannot coalesce with it) pushes nothing.
    await waitUntil(async () => await executions() - before >= 1, { what: 'the conservative run' });
    await server.sql(`UPDATE public.lq_plain SET status = 'done' WHERE id = 2`);
    await waitFor(l, (m) => m.event === 'diff', 'the status diff');
    assert.equal(await executions() - before, 2);
    assert.equal(l.got.filter((m) => m.event === 'diff').length, 1, show(l.got));
  });

  it('throttle: the first change runs at once, the rest of the window coalesces into one run at its end', async () => {
    await server.sql(`CREATE TABLE public.lq_thr (id int PRIMARY KEY, n int); INSERT INTO public.lq_thr VALUES (1, 0)`);
    const l = await live({ sql: 'SELECT id, n FROM public.lq_thr', throttle_ms: 3000 });
    await waitFor(l, (m) => m.event === 'result', 'the first result');
    const before = await executions();
    const t0 = Date.now();
    for (let i = 1; i <= 5; i++) await server.sql(`UPDATE public.lq_thr SET n = ${i} WHERE id = 1`);
    assert.ok(Date.now() - t0 < 2500, 'the five commits fit in the window');
    await waitFor(l, (m) => m.event === 'diff' && m.payload.updated[0]?.n === 5, 'n = 5');
    assert.ok(await executions() - before <= 2, `at most a leading and a trailing run: ${await executions() - before}`);
    assert.ok(l.got.filter((m) => m.event === 'diff').length <= 2, show(l.got));
  });
});

describe('refresh conditions', () => {
  it("the seed's pending orders: only changes whose row meets its table's condition run the query, :result/id among them", async () => {
    await server.sql(`INSERT INTO public.lq_orders VALUES (1, 7, 'pending'), (2, 7, 'pending'), (3, 7, 'shipped'), (4, 8, 'pending');
      INSERT INTO public.lq_order_items VALUES (10, 1, 1), (11, 3, 5)`);
    const l = await live({ name: 'pending_orders', params: [7], throttle_ms: 0 });
    assert.equal(l.status.s, 'SUBSCRIBED', show(l.status));
    await waitFor(l, (m) => m.event === 'result', 'the first result');
    assert.deepEqual(l.got[0].payload.rows, [{ id: 1, qty: 1 }, { id: 2, qty: 0 }]);
    await streamPassed();
    const t0 = await triggered();
    const e0 = await executions();
    // None of these meets its table's condition: an item of a shipped order and of another
    // customer's order (not among the result's ids), a shipped order, an order UPDATE that is
    // and stays not pending.
    await server.sql('INSERT INTO public.lq_order_items VALUES (12, 3, 2)');
    await server.sql('INSERT INTO public.lq_order_items VALUES (13, 4, 2)');
    await server.sql(`INSERT INTO public.lq_orders VALUES (5, 7, 'shipped')`);
    await server.sql(`UPDATE public.lq_orders SET status = 'cancelled' WHERE id = 3`);
    await streamPassed();
    assert.equal(await triggered() - t0, 0, 'no change met a refresh condition');
    // These do, one transaction each: an item of pending order 2 (order_id among the result's
    // ids), then order 1 leaving the pending state (its old row is pending), then a new
    // pending order.
    await server.sql('INSERT INTO public.lq_order_items VALUES (14, 2, 4)');
    await waitFor(l, (m) => m.event === 'diff' && m.payload.updated.some((r) => r.id === 2), 'order 2 qty 4');
    await server.sql(`UPDATE public.lq_orders SET status = 'shipped' WHERE id = 1`);
    await waitFor(l, (m) => m.event === 'diff' && m.payload.deleted.some((r) => r.id === 1), 'order 1 gone');
    await server.sql(`INSERT INTO public.lq_orders VALUES (6, 7, 'pending')`);
    await waitFor(l, (m) => m.event === 'diff' && m.payload.inserted.some((r) => r.id === 6), 'order 6 in');
    // Order 1 left the result: its items no longer run the query; order 6's do.
    await server.sql('INSERT INTO public.lq_order_items VALUES (15, 1, 9)');
    await server.sql('INSERT INTO public.lq_order_items VALUES (16, 6, 3)');
    await waitFor(l, (m) => m.event === 'diff' && m.payload.updated.some((r) => r.id === 6), 'order 6 qty 3');
    await streamPassed();
    assert.equal(await triggered() - t0, 4, 'the four changes that met a condition, and only them');
    assert.ok(await executions() - e0 <= 4, show(l.got));
    assert.deepEqual(replay(l.got, ['id']), [{ id: 2, qty: 4 }, { id: 6, qty: 3 }]);
  });

  it('a subscriber gives refresh conditions with raw SQL, $n naming a parameter', async () => {
    await server.sql(`CREATE TABLE public.lq_tasks (id int PRIMARY KEY, board int NOT NULL, title text);
      INSERT INTO public.lq_tasks VALUES (1, 1, 'a'), (2, 2, 'b')`);
    const l = await live({ sql: 'SELECT id, title FROM public.lq_tasks WHERE board = $1 ORDER BY id', params: [1],
      throttle_ms: 0, refresh: { lq_tasks: 'board=eq.$1' } });
    assert.equal(l.status.s, 'SUBSCRIBED', show(l.status));
    await waitFor(l, (m) => m.event === 'result', 'the first result');
    await streamPassed();
    const t0 = await triggered();
    await server.sql(`INSERT INTO public.lq_tasks VALUES (3, 2, 'c')`); // board 2: no run
    await server.sql(`INSERT INTO public.lq_tasks VALUES (4, 1, 'd')`);
    await waitFor(l, (m) => m.event === 'diff', 'task 4');
    await streamPassed();
    assert.equal(await triggered() - t0, 1);
    assert.deepEqual(replay(l.got, ['id']), [{ id: 1, title: 'a' }, { id: 4, title: 'd' }]);
  });

  it('refuses a condition on a table the query does not read, a :result/ reference not under eq, a column the result lacks, and a bad $n, naming the fix', async () => {
    const sql = 'SELECT id, title FROM public.lq_tasks WHERE board = $1';
    const cases = [
      [{ lq_orders: 'status=eq.pending' }, /the live query does not read lq_orders \(it reads public\.lq_tasks\); name one of those tables/],
      [{ lq_tasks: 'id=neq.:result/id' }, /:result\/id works with eq only, e\.g\. id=eq\.:result\/id/],
      [{ lq_tasks: 'id=eq.:result/nope' }, /the result has no column nope \(it has id, title\)/],
      [{ lq_tasks: 'title=eq.:result/id' }, /title is text and the result's id is int4/],
      [{ lq_tasks: 'board=eq.$2' }, /\$2 names no parameter \(the query has 1\)/],
      [{ lq_tasks: 'nope=eq.1' }, /the table has no column nope/],
      [{ lq_tasks: 'board=eq.x' }, /invalid input syntax for type integer/],
      [{ lq_tasks: 'board' }, /Error parsing `filter` params/],
      [{ lq_tasks: Array.from({ length: 17 }, (_, i) => `id=neq.${i}`).join(',') }, /at most 16 refresh conditions/],
    ];
    for (const [refresh, re] of cases) {
      const l = await live({ sql, params: [1], refresh });
      assert.equal(l.status.s, 'CHANNEL_ERROR', show({ refresh, status: l.status }));
      assert.match(l.status.err, re);
    }
  });
});

describe('schema changes', () => {
  it('a view redefined to read another table: the query runs again and follows the new table only', async () => {
    await server.sql(`CREATE TABLE public.lq_src1 (id int PRIMARY KEY, v text);
      CREATE TABLE public.lq_src2 (id int PRIMARY KEY, v text);
      INSERT INTO public.lq_src1 VALUES (1, 'one'); INSERT INTO public.lq_src2 VALUES (2, 'two');
      CREATE VIEW public.lq_view AS SELECT id, v FROM public.lq_src1;
      GRANT SELECT ON public.lq_view TO service_role;`);
    const l = await live({ sql: 'SELECT id, v FROM public.lq_view ORDER BY id', throttle_ms: 0 });
    assert.equal(l.status.s, 'SUBSCRIBED', show(l.status));
    await waitFor(l, (m) => m.event === 'result', 'the first result');
    assert.deepEqual(l.got[0].payload.rows, [{ id: 1, v: 'one' }]);
    // No change to a table the query reads: only the catalog check can run it again.
    await server.sql('CREATE OR REPLACE VIEW public.lq_view AS SELECT id, v FROM public.lq_src2');
    await waitUntil(() => JSON.stringify(replay(l.got, ['id'])) === JSON.stringify([{ id: 2, v: 'two' }]),
      { what: 'the result of the redefined view', dump: () => l.got });
    await server.sql(`INSERT INTO public.lq_src2 VALUES (3, 'three')`);
    await waitUntil(() => replay(l.got, ['id']).some((r) => r.id === 3), { what: 'row 3 of lq_src2', dump: () => l.got });
    await streamPassed();
    const t0 = await triggered();
    await server.sql(`INSERT INTO public.lq_src1 VALUES (4, 'four')`);
    await streamPassed();
    assert.equal(await triggered() - t0, 0, 'lq_src1 is no longer read, so its change runs nothing');
  });

  it('result columns changed by DDL end the subscription with dependency_changed; a new subscription gets the new shape', async () => {
    await server.sql(`CREATE TABLE public.lq_shape (id int PRIMARY KEY, v text);
      INSERT INTO public.lq_shape VALUES (1, 'a');
      CREATE VIEW public.lq_shape_v AS SELECT id, v FROM public.lq_shape;
      GRANT SELECT ON public.lq_shape_v TO service_role;`);
    const sql = 'SELECT * FROM public.lq_shape_v';
    const l = await live({ sql, throttle_ms: 0 });
    await waitFor(l, (m) => m.event === 'result', 'the first result');
    await server.sql('CREATE OR REPLACE VIEW public.lq_shape_v AS SELECT id, v, 7 AS extra FROM public.lq_shape');
    const err = await waitFor(l, (m) => m.event === 'error' && m.payload.code === 'dependency_changed', 'dependency_changed');
    assert.match(err.payload.message, /result columns changed .*subscribe again/);
    const again = await live({ sql, throttle_ms: 0 });
    const first = await waitFor(again, (m) => m.event === 'result', 'the new shape');
    assert.deepEqual(first.payload.rows, [{ id: 1, v: 'a', extra: 7 }]);
  });
});

describe('identities', () => {
  it('two users subscribed to the same named query see their own rows; nothing is shared across them', async () => {
    await server.sql(`INSERT INTO public.lq_notes VALUES (1, '${A}', 'a1'), (2, '${B}', 'b1')`);
    const a = await live({ name: 'my_notes', throttle_ms: 0 }, { token: userToken(A) });
    const b = await live({ name: 'my_notes', throttle_ms: 0 }, { token: userToken(B) });
    for (const l of [a, b]) assert.equal(l.status.s, 'SUBSCRIBED', show(l.status));
    await waitFor(a, (m) => m.event === 'result', 'A first result');
    await waitFor(b, (m) => m.event === 'result', 'B first result');
    assert.deepEqual(a.got[0].payload.rows, [{ id: 1, body: 'a1' }]);
    assert.deepEqual(b.got[0].payload.rows, [{ id: 2, body: 'b1' }]);
    await server.sql(`INSERT INTO public.lq_notes VALUES (3, '${A}', 'a2')`);
    await waitFor(a, (m) => m.event === 'diff', 'A diff');
    await server.sql(`INSERT INTO public.lq_notes VALUES (4, '${B}', 'b2')`);
    await waitFor(b, (m) => m.event === 'diff', 'B diff');
    assert.deepEqual(replay(a.got, ['id']), [{ id: 1, body: 'a1' }, { id: 3, body: 'a2' }]);
    assert.deepEqual(replay(b.got, ['id']), [{ id: 2, body: 'b1' }, { id: 4, body: 'b2' }]);
    // B's pushes never carried A's rows (and the other way round).
    assert.ok(!JSON.stringify(b.got).includes('a2') && !JSON.stringify(a.got).includes('b2'));
  });
});

describe('no gap at subscribe', () => {
  it('a row committed right after SUBSCRIBED is in a later push, for every one of 20 channels', async () => {
    await server.sql('CREATE TABLE public.lq_gap (id int PRIMARY KEY, ch int)');
    const subs = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      live({ sql: 'SELECT id FROM public.lq_gap WHERE ch = $1', params: [i], throttle_ms: 0 }).then(async (l) => {
        await server.sql('INSERT INTO public.lq_gap VALUES ($1, $1)', [i]);
        return l;
      })));
    for (const [i, l] of subs.entries())
      await waitUntil(() => replay(l.got, ['id']).some((r) => r.id === i), { what: `row ${i}`, dump: () => l.got });
  });
});

describe('errors and refusals', () => {
  it('a run that fails pushes an error to its subscriber, who stays subscribed and gets the result again', async () => {
    await server.sql('INSERT INTO public.lq_nums VALUES (1, 2)');
    const l = await live({ name: 'ratio', params: [1], throttle_ms: 0 }, { token: userToken(A) });
    await waitFor(l, (m) => m.event === 'result', 'the first result');
    assert.deepEqual(l.got[0].payload.rows, [{ id: 1, q: 5 }]);
    await server.sql('UPDATE public.lq_nums SET n = 0 WHERE id = 1');
    const err = await waitFor(l, (m) => m.event === 'error', 'the error');
    assert.equal(err.payload.code, 'query_error');
    assert.match(err.payload.message, /division by zero/);
    await server.sql('UPDATE public.lq_nums SET n = 1 WHERE id = 1');
    await waitUntil(() => l.got.at(-1)?.event === 'result' && l.got.at(-1).payload.rows[0]?.q === 10,
      { what: 'the result after the error', dump: () => l.got });
  });

  it('refuses raw SQL for a role outside LIVE_SQL_ROLES, naming the setting', async () => {
    const l = await live({ sql: 'SELECT id FROM public.lq_nums' }, { token: userToken(A) });
    assert.equal(l.status.s, 'CHANNEL_ERROR');
    assert.match(l.status.err, /LIVE_SQL_ROLES/);
  });

  it('refuses a token naming a superuser role as a Postgres Changes join does (JWT_ALLOWED_ROLES), and sends it no result', async () => {
    const l = await live({ name: 'my_notes' }, { token: roleToken('postgres') });
    assert.equal(l.status.s, 'CHANNEL_ERROR');
    assert.match(l.status.err, /role "postgres" has SUPERUSER, which bypasses row-level security/);
    assert.match(l.status.err, /JWT_ALLOWED_ROLES/, 'the error names the setting that allows the role');
    assert.ok(!l.got.some((m) => m.event === 'result'), show(l.got));
  });

  it('refuses an unknown named query, a query reading nothing captured and a malformed config', async () => {
    const unknown = await live({ name: 'nope' });
    assert.match(unknown.status.err, /no named live query 'nope' in LIVE_QUERIES_DIR/);
    const nothing = await live({ name: 'nothing' });
    assert.match(nothing.status.err, /reads nothing walcast captures/);
    const bad = await live({ sql: 'SELECT 1', throttle_ms: -1 });
    assert.match(bad.status.err, /throttle_ms/);
    const params = await live({ name: 'ratio' });
    assert.match(params.status.err, /takes 1 parameter/);
  });

  it('a result over LIVE_QUERY_MAX_ROWS is an error, not a truncated result', async () => {
    const l = await live({ sql: 'SELECT id FROM public.lq_many' });
    const err = await waitFor(l, (m) => m.event === 'error', 'the error');
    assert.equal(err.payload.code, 'too_large');
    assert.match(err.payload.message, /LIVE_QUERY_MAX_ROWS/);
    assert.ok(!l.got.some((m) => m.event === 'result'), show(l.got));
  });
});
