// Postgres Changes through the official realtime-js client, both vsn: every event type,
// schema-wide / table / multi-binding channels, `select`, replica identity DEFAULT vs FULL,
// and the value rendering of spec §6.7 as the client sees it (spec §3.2, §4, §5.1, §5.6, §6.4).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, recordingTransport, wireFrames, bindingIds, uniqueName, VSNS, news, olds, types } from './lib/client.mjs';
import { BARRIER_SQL, barrier, barrierBinding, rows } from './lib/barrier.mjs';
import { show } from './lib/wait.mjs';

const COMMIT_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let server;

before(async () => {
  server = await Walcast.start();
  await server.sql(`
    ${BARRIER_SQL}
    CREATE TABLE public.items (id int PRIMARY KEY, name text, qty int, note text);
    CREATE TABLE public.items_full (id int PRIMARY KEY, name text, qty int, note text);
    ALTER TABLE public.items_full REPLICA IDENTITY FULL;
    CREATE TABLE public.other (id int PRIMARY KEY, v text);
    CREATE SCHEMA s2;
    CREATE TABLE s2.things (id int PRIMARY KEY, v text);
    GRANT USAGE ON SCHEMA s2 TO anon, authenticated;
    CREATE TYPE mood AS ENUM ('happy', 'sad');
    CREATE TABLE public.types (
      id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, num numeric(6,2), numnan numeric, f4 float4,
      f8 float8, finf float8, b bool, t text, vc varchar(20), u uuid, e mood, ts timestamp,
      tstz timestamptz, d date, tm time, iv interval, j json, jb jsonb, jbs jsonb, ai int4[],
      at text[], by bytea, m money, ip inet, rng tstzrange, nul text);
    CREATE TABLE public.toasty (id int PRIMARY KEY, n int, body text);
    ALTER TABLE public.toasty ALTER COLUMN body SET STORAGE EXTERNAL;
    CREATE TABLE public.toasty_full (id int PRIMARY KEY, n int, body text);
    ALTER TABLE public.toasty_full ALTER COLUMN body SET STORAGE EXTERNAL;
    ALTER TABLE public.toasty_full REPLICA IDENTITY FULL;
    GRANT SELECT ON ALL TABLES IN SCHEMA public, s2 TO anon, authenticated;`);
});

after(async () => {
  await server?.stop();
});

// Distinct key ranges per vsn run so that the two runs never see each other's rows.
const base = { '1.0.0': 100_000, '2.0.0': 200_000 };

for (const vsn of VSNS) {
  describe(`vsn ${vsn}`, () => {
    let client;
    let log;
    let next = base[vsn];
    const key = () => ++next;

    before(async () => {
      log = {};
      client = await makeClient(server, { vsn, transport: recordingTransport(log) });
    });
    after(async () => {
      await client?.disconnect();
    });

    const frames = () => wireFrames(log, vsn);
    const changesOn = (sub) => frames().filter((f) => f.topic === `realtime:${sub.name}` && f.event === 'postgres_changes'
      && f.payload.data.table !== 'barrier');

    it('delivers INSERT, UPDATE and DELETE to the bindings of that event and to *, nothing else', async () => {
      const s = await subscribe(client, {
        ins: { event: 'INSERT', schema: 'public', table: 'items' },
        upd: { event: 'UPDATE', schema: 'public', table: 'items' },
        del: { event: 'DELETE', schema: 'public', table: 'items' },
        all: { event: '*', schema: 'public', table: 'items' },
        barrier: barrierBinding(),
      });
      const id = key();
      const before = Date.now();
      await server.sql("INSERT INTO items VALUES ($1, 'a', 1, NULL)", [id]);
      await server.sql("UPDATE items SET name = 'b', qty = 2 WHERE id = $1", [id]);
      await server.sql('DELETE FROM items WHERE id = $1', [id]);
      await barrier(server, [s]);

      const [ins] = s.of('ins');
      assert.equal(s.of('ins').length, 1, show(s.events));
      assert.deepEqual({ ...ins.payload, commit_timestamp: 'x' }, {
        schema: 'public', table: 'items', commit_timestamp: 'x', eventType: 'INSERT',
        new: { id, name: 'a', qty: 1, note: null }, old: {}, errors: null,
      });
      assert.match(ins.payload.commit_timestamp, COMMIT_TS);
      const ts = Date.parse(ins.payload.commit_timestamp);
      assert.ok(ts >= before - 60_000 && ts <= Date.now() + 60_000, `commit_timestamp ${ins.payload.commit_timestamp} is not now`);

      assert.deepEqual(s.of('upd').map((e) => [e.payload.eventType, e.payload.new, e.payload.old]),
        [['UPDATE', { id, name: 'b', qty: 2, note: null }, { id }]]);
      assert.deepEqual(s.of('del').map((e) => [e.payload.eventType, e.payload.new, e.payload.old]),
        [['DELETE', {}, { id }]]);
      assert.deepEqual(types(s.of('all')), ['INSERT', 'UPDATE', 'DELETE']);
      assert.ok(s.of('all').every((e) => e.payload.errors === null));

      // The system message after the join (spec §3.5).
      assert.deepEqual(s.systems, [{ channel: s.name, extension: 'postgres_changes', message: 'Subscribed to PostgreSQL', status: 'ok' }]);

      // On the wire: the join reply echoes every binding unchanged plus a non-zero integer id,
      // same order (§3.2); one fan-out message per change listing all matching ids (§4.1).
      const reply = frames().find((f) => f.topic === `realtime:${s.name}` && f.event === 'phx_reply' && f.payload.response?.postgres_changes);
      assert.equal(reply.payload.status, 'ok');
      const echoed = reply.payload.response.postgres_changes;
      assert.deepEqual(echoed.map(({ id: _, ...rest }) => rest), Object.values(s.bindingSpecs));
      for (const b of echoed) assert.ok(Number.isInteger(b.id) && b.id > 0, `binding id ${b.id}`);
      const ids = bindingIds(log, vsn, s);
      const msgs = changesOn(s);
      assert.deepEqual(msgs.map((f) => [f.payload.data.type, [...f.payload.ids].sort()]), [
        ['INSERT', [ids.ins, ids.all].sort()],
        ['UPDATE', [ids.upd, ids.all].sort()],
        ['DELETE', [ids.del, ids.all].sort()],
      ]);
      for (const f of msgs) {
        if (vsn === '2.0.0') {
          assert.equal(f.length, 5);
          assert.equal(f.join_ref, null);
        } else {
          assert.deepEqual(f.keys.sort(), ['event', 'payload', 'ref', 'topic']);
        }
        assert.equal(f.ref, null);
        const d = f.payload.data;
        assert.deepEqual(d.columns, [{ name: 'id', type: 'int4' }, { name: 'name', type: 'text' }, { name: 'qty', type: 'int4' }, { name: 'note', type: 'text' }]);
        assert.equal('record' in d, d.type !== 'DELETE', `record presence for ${d.type}`);
        assert.equal('old_record' in d, d.type !== 'INSERT', `old_record presence for ${d.type}`);
        assert.equal(d.errors, null);
      }
      await s.remove();
    });

    it('serves schema-wide, table, table-only and other-schema bindings with exactly their tables', async () => {
      const pub = await subscribe(client, { all: { event: '*', schema: 'public' }, barrier: barrierBinding() });
      const tbl = await subscribe(client, { t: { event: '*', schema: 'public', table: 'other' }, barrier: barrierBinding() });
      const s2 = await subscribe(client, { s: { event: '*', schema: 's2' }, barrier: barrierBinding() });
      const only = await subscribe(client, { t: { event: 'INSERT', table: 'other' }, barrier: barrierBinding() });
      const id = key();
      await server.sql("INSERT INTO items VALUES ($1, 'i', 1, NULL)", [id]);
      await server.sql("INSERT INTO other VALUES ($1, 'o')", [id]);
      await server.sql("INSERT INTO s2.things VALUES ($1, 's')", [id]);
      await server.sql("UPDATE other SET v = 'o2' WHERE id = $1", [id]);
      await barrier(server, [pub, tbl, s2, only]);

      const tagged = (evs) => evs.map((e) => `${e.payload.schema}.${e.payload.table} ${e.payload.eventType} ${e.payload.new.v ?? e.payload.new.name}`);
      assert.deepEqual(tagged(rows(pub, 'all')), ['public.items INSERT i', 'public.other INSERT o', 'public.other UPDATE o2']);
      assert.deepEqual(tagged(rows(tbl, 't')), ['public.other INSERT o', 'public.other UPDATE o2']);
      assert.deepEqual(tagged(rows(s2, 's')), ['s2.things INSERT s']);
      assert.deepEqual(tagged(rows(only, 't')), ['public.other INSERT o']);
      await Promise.all([pub, tbl, s2, only].map((s) => s.remove()));
    });

    it('sends one message per change to a multi-binding channel, listing every matching binding id', async () => {
      const s = await subscribe(client, {
        gt5: { event: 'INSERT', schema: 'public', table: 'items', filter: 'qty=gt.5' },
        lt10: { event: 'INSERT', schema: 'public', table: 'items', filter: 'qty=lt.10' },
        upd: { event: 'UPDATE', schema: 'public', table: 'items' },
        oth: { event: 'INSERT', schema: 'public', table: 'other' },
        barrier: barrierBinding(),
      });
      const [a, b, c] = [key(), key(), key()];
      await server.sql(`INSERT INTO items VALUES ($1, 'seven', 7, NULL)`, [a]);
      await server.sql(`INSERT INTO items VALUES ($1, 'three', 3, NULL)`, [b]);
      await server.sql(`INSERT INTO items VALUES ($1, 'twenty', 20, NULL)`, [c]);
      await server.sql(`INSERT INTO other VALUES ($1, 'x')`, [a]);
      await server.sql(`UPDATE items SET qty = 8 WHERE id = $1`, [a]);
      await barrier(server, [s]);

      assert.deepEqual(news(s.of('gt5')).map((r) => r.name), ['seven', 'twenty']);
      assert.deepEqual(news(s.of('lt10')).map((r) => r.name), ['seven', 'three']);
      assert.deepEqual(s.of('upd').map((e) => [e.payload.new.id, e.payload.new.qty]), [[a, 8]]);
      assert.deepEqual(news(s.of('oth')), [{ id: a, v: 'x' }]);
      // Callbacks fire in arrival order across bindings: the change order.
      assert.deepEqual(rows(s).map((e) => `${e.name}:${e.payload.new.id}`),
        [`gt5:${a}`, `lt10:${a}`, `lt10:${b}`, `gt5:${c}`, `oth:${a}`, `upd:${a}`]);

      const ids = bindingIds(log, vsn, s);
      assert.deepEqual(changesOn(s).map((f) => [...f.payload.ids].sort()), [
        [ids.gt5, ids.lt10].sort(), [ids.lt10], [ids.gt5], [ids.oth], [ids.upd],
      ]);
      await s.remove();
    });

    it('trims columns, record and old_record to the select list plus the primary key (§5.6)', async () => {
      const s = await subscribe(client, {
        sel: { event: '*', schema: 'public', table: 'items_full', select: ['name'] },
        selq: { event: 'INSERT', schema: 'public', table: 'items_full', filter: 'qty=eq.3', select: ['name'] },
        full: { event: 'INSERT', schema: 'public', table: 'items_full' },
        barrier: barrierBinding(),
      });
      const id = key();
      await server.sql("INSERT INTO items_full VALUES ($1, 'n1', 3, 'secret')", [id]);
      await server.sql("UPDATE items_full SET name = 'n2', note = 'other' WHERE id = $1", [id]);
      await server.sql('DELETE FROM items_full WHERE id = $1', [id]);
      await barrier(server, [s]);

      assert.deepEqual(s.of('sel').map((e) => [e.payload.eventType, e.payload.new, e.payload.old]), [
        ['INSERT', { id, name: 'n1' }, {}],
        ['UPDATE', { id, name: 'n2' }, { id, name: 'n1' }],
        ['DELETE', {}, { id, name: 'n2' }],
      ]);
      assert.deepEqual(news(s.of('selq')), [{ id, name: 'n1' }]);
      assert.deepEqual(news(s.of('full')), [{ id, name: 'n1', qty: 3, note: 'secret' }]);

      // Bindings with the same select list share a message; a different list gets its own.
      const ids = bindingIds(log, vsn, s);
      const inserts = changesOn(s).filter((f) => f.payload.data.type === 'INSERT');
      assert.equal(inserts.length, 2, show(inserts.map((f) => f.raw)));
      const trimmed = inserts.find((f) => f.payload.ids.includes(ids.sel));
      assert.deepEqual([...trimmed.payload.ids].sort(), [ids.sel, ids.selq].sort());
      assert.deepEqual(trimmed.payload.data.columns, [{ name: 'id', type: 'int4' }, { name: 'name', type: 'text' }]);
      assert.deepEqual(inserts.find((f) => f !== trimmed).payload.ids, [ids.full]);
      await s.remove();
    });

    it('sends the primary key as old_record with replica identity DEFAULT, the whole old row with FULL (§6.4)', async () => {
      const s = await subscribe(client, {
        def: { event: '*', schema: 'public', table: 'items' },
        full: { event: '*', schema: 'public', table: 'items_full' },
        // DELETE filters test the old tuple (§5.3): without FULL it only has the key.
        defq: { event: 'DELETE', schema: 'public', table: 'items', filter: 'name=eq.zz' },
        fullq: { event: 'DELETE', schema: 'public', table: 'items_full', filter: 'name=eq.zz' },
        barrier: barrierBinding(),
      });
      const id = key();
      for (const t of ['items', 'items_full']) {
        await server.sql(`INSERT INTO ${t} VALUES ($1, 'zz', 1, 'n')`, [id]);
        await server.sql(`UPDATE ${t} SET qty = 2 WHERE id = $1`, [id]);
        await server.sql(`DELETE FROM ${t} WHERE id = $1`, [id]);
      }
      await barrier(server, [s]);

      assert.deepEqual(s.of('def').map((e) => [e.payload.eventType, e.payload.old]),
        [['INSERT', {}], ['UPDATE', { id }], ['DELETE', { id }]]);
      assert.deepEqual(s.of('full').map((e) => [e.payload.eventType, e.payload.old]), [
        ['INSERT', {}],
        ['UPDATE', { id, name: 'zz', qty: 1, note: 'n' }],
        ['DELETE', { id, name: 'zz', qty: 2, note: 'n' }],
      ]);
      assert.deepEqual(s.of('defq'), []);
      assert.deepEqual(olds(s.of('fullq')), [{ id, name: 'zz', qty: 2, note: 'n' }]);
      await s.remove();
    });

    it('leaves an unchanged TOASTed value out of record (trigger capture: sends it), or takes it from the FULL old row (§6.6)', async () => {
      const s = await subscribe(client, {
        def: { event: 'UPDATE', schema: 'public', table: 'toasty' },
        full: { event: 'UPDATE', schema: 'public', table: 'toasty_full' },
        barrier: barrierBinding(),
      });
      const id = key();
      const body = 'x'.repeat(3000); // stored out of line (EXTERNAL), unchanged by the UPDATE
      for (const t of ['toasty', 'toasty_full']) {
        await server.sql(`INSERT INTO ${t} VALUES ($1, 1, $2)`, [id, body]);
        await server.sql(`UPDATE ${t} SET n = 2 WHERE id = $1`, [id]);
      }
      await barrier(server, [s]);
      // Trigger capture sees the whole row, so it sends the unchanged value (README, "Trigger
      // capture": what differs); logical decoding marks it unchanged and it is left out.
      const unchanged = process.env.CAPTURE === 'trigger' ? { body } : {};
      assert.deepEqual(s.of('def').map((e) => [e.payload.new, e.payload.old]), [[{ id, n: 2, ...unchanged }, { id }]]);
      assert.deepEqual(s.of('full').map((e) => [e.payload.new, e.payload.old]), [[{ id, n: 2, body }, { id, n: 1, body }]]);
      await s.remove();
    });

    it('renders column values as spec §6.7 on the wire and as realtime-js converts them', async () => {
      const s = await subscribe(client, { t: { event: 'INSERT', schema: 'public', table: 'types' }, barrier: barrierBinding() });
      const id = key();
      await server.sql(`INSERT INTO types VALUES ($1, 32767, 2147483647, 9007199254740993, 1234.50, 'NaN',
        1.5, 0.1, 'Infinity', true, 'héllo "q"', 'vc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy',
        '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02', '2024-01-02', '03:04:05',
        '1 day 02:03:04', '{"a":[1,2]}', '{"a":[1,2]}', '"123"', '{1,2,3}', '{"x","y z"}', '\\x0102ff',
        12.34, '192.168.0.1/24', '[2024-01-01,2024-02-01)', NULL)`, [id]);
      await s.waitCount('t', 1);

      const [msg] = changesOn(s);
      const wireRecord = {
        id, i2: 32767, i4: 2147483647, i8: 9007199254740993, num: 1234.5, numnan: 'NaN', f4: 1.5, f8: 0.1,
        finf: 'Infinity', b: true, t: 'héllo "q"', vc: 'vc', u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        e: 'happy', ts: '2024-01-02T03:04:05.123456', tstz: '2024-01-02T01:04:05.123456+00:00',
        d: '2024-01-02', tm: '03:04:05', iv: '1 day 02:03:04', j: { a: [1, 2] }, jb: { a: [1, 2] }, jbs: '123',
        ai: [1, 2, 3], at: ['x', 'y z'], by: '0102ff', m: '$12.34', ip: '192.168.0.1/24',
        rng: '["2024-01-01 00:00:00+00","2024-02-01 00:00:00+00")', nul: null,
      };
      assert.deepEqual(msg.payload.data.record, wireRecord);
      // Exact numbers: int8 beyond 2^53 verbatim, numeric keeps its scale (JSON.parse hides both).
      assert.match(msg.raw, /"i8":9007199254740993[,}]/);
      assert.match(msg.raw, /"num":1234\.50[,}]/);
      assert.deepEqual(msg.payload.data.columns.map((c) => c.type), [
        'int4', 'int2', 'int4', 'int8', 'numeric', 'numeric', 'float4', 'float8', 'float8', 'bool', 'text',
        'varchar', 'uuid', 'mood', 'timestamp', 'timestamptz', 'date', 'time', 'interval', 'json', 'jsonb',
        'jsonb', '_int4', '_text', 'bytea', 'money', 'inet', 'tstzrange', 'text']);

      // What the app's callback gets after realtime-js's convertChangeData (§4.2).
      assert.deepEqual(s.of('t')[0].payload.new, { ...wireRecord, i8: 9007199254740992, finf: Infinity, jbs: 123 });
      await s.remove();
    });
  });
}
