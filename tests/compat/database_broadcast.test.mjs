// Broadcast from Database through the pinned realtime-js against the real server (spec §7.4):
// rows written by realtime.send(), realtime.send_binary() and realtime.broadcast_changes()
// reach the members of their topic through the change stream — both serializers, meta.id = the
// row id, the private column choosing the namespace (private members only with broadcast.read),
// in commit order.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, uniqueName } from './lib/client.mjs';
import { userToken, newUserId } from './lib/tokens.mjs';
import { waitUntil, show } from './lib/wait.mjs';

let server;
const clients = [];

before(async () => {
  server = await Walcast.start({ CHANNEL_ERROR_BACKOFF_MS: '0', TENANT_MAX_EVENTS_PER_SECOND: '0' });
  await server.sql(`
    CREATE TABLE public.db_bc_grants (topic text, sub uuid, extension text);
    GRANT SELECT ON public.db_bc_grants TO authenticated;
    CREATE POLICY db_bc_read ON realtime.messages FOR SELECT TO authenticated USING (
      EXISTS (SELECT 1 FROM public.db_bc_grants g WHERE g.topic = realtime.topic()
              AND g.sub = auth.uid() AND g.extension = realtime.messages.extension));
  `);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

/// A joined channel recording every broadcast callback (whole message) in arrival order.
async function member(name, { vsn = '2.0.0', token, config = {}, event = '*' } = {}) {
  const c = await makeClient(server, { vsn, token });
  clients.push(c);
  const channel = c.channel(name, { config });
  const got = [];
  channel.on('broadcast', { event }, (m) => got.push(m));
  const status = await new Promise((resolve) => channel.subscribe((s, err) => {
    if (s === 'SUBSCRIBED' || s === 'CHANNEL_ERROR' || s === 'TIMED_OUT') resolve({ s, err: err?.message });
  }));
  assert.equal(status.s, 'SUBSCRIBED', show(status));
  return { client: c, channel, got };
}

/// A user who may read broadcasts of `topic` (and presence when asked).
async function reader(topic, extensions = ['broadcast']) {
  const sub = newUserId();
  for (const e of extensions) await server.sql('INSERT INTO public.db_bc_grants VALUES ($1, $2, $3)', [topic, sub, e]);
  return userToken(sub);
}

describe('Broadcast from Database', () => {
  it('realtime.send(…, false) reaches public members of both serializers with meta.id = the row id', async () => {
    const name = uniqueName('dbpub');
    const v2 = await member(name);
    const v1 = await member(name, { vsn: '1.0.0' });
    await server.sql("SELECT realtime.send('{\"value\": \"x\"}'::jsonb, 'db_evt', $1, false)", [name]);
    for (const m of [v1, v2]) {
      await waitUntil(() => m.got.length >= 1, { what: 'the database message', dump: () => m.got });
      const [msg] = m.got;
      assert.equal(msg.type, 'broadcast');
      assert.equal(msg.event, 'db_evt');
      assert.equal(msg.payload.value, 'x');
      // realtime.send adds the row id to the payload; meta.id is the same id.
      assert.match(msg.meta?.id ?? '', /^[0-9a-f-]{36}$/, show(msg));
      assert.equal(msg.payload.id, msg.meta.id);
    }
    const [{ id }] = await server.sql('SELECT id::text FROM realtime.messages WHERE topic = $1', [name]);
    assert.equal(v2.got[0].meta.id, id);
  });

  it('a private message reaches only private members allowed to read it', async () => {
    const name = uniqueName('dbpriv');
    const allowed = await member(name, { token: await reader(name), config: { private: true } });
    const presenceOnly = await member(name, {
      token: await reader(name, ['presence']), config: { private: true, presence: { key: 'p', enabled: true } },
    });
    const pub = await member(name);
    // Three arguments: private (the default of realtime.send).
    await server.sql("SELECT realtime.send('{\"n\": 1}'::jsonb, 'secret', $1)", [name]);
    await server.sql("SELECT realtime.send('{\"n\": 2}'::jsonb, 'open', $1, false)", [name]);
    await waitUntil(() => allowed.got.length >= 1 && pub.got.length >= 1,
      { what: 'both namespaces', dump: () => ({ allowed: allowed.got, pub: pub.got }) });
    // presenceOnly (no broadcast.read) is fanned out to in the same rounds as allowed: by the
    // time allowed has n=3, a wrongly delivered n=1 would have reached it too.
    await server.sql("SELECT realtime.send('{\"n\": 3}'::jsonb, 'secret', $1)", [name]);
    await waitUntil(() => allowed.got.length >= 2, { what: 'n=3', dump: () => allowed.got });
    assert.deepEqual(allowed.got.map((m) => m.payload.n), [1, 3]);
    assert.deepEqual(pub.got.map((m) => m.payload.n), [2]);
    assert.deepEqual(presenceOnly.got, []);
  });

  it('broadcast_changes from a trigger: INSERT, UPDATE, DELETE in commit order with record and old_record', async () => {
    const name = uniqueName('dbtrig');
    const table = name.replaceAll('-', '_');
    const m = await member(name, { token: await reader(name), config: { private: true } });
    await server.sql(`
      CREATE TABLE public.${table} (id serial PRIMARY KEY, details text);
      CREATE FUNCTION public.${table}_bc() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM realtime.broadcast_changes('${name}', TG_OP, TG_OP, TG_TABLE_NAME, TG_TABLE_SCHEMA, NEW, OLD, TG_LEVEL);
        RETURN NULL;
      END $$;
      CREATE TRIGGER ${table}_bc AFTER INSERT OR UPDATE OR DELETE ON public.${table}
        FOR EACH ROW EXECUTE FUNCTION public.${table}_bc();
    `);
    await server.sql(`INSERT INTO public.${table} (details) VALUES ('v')`);
    await server.sql(`UPDATE public.${table} SET details = 'w'`);
    await server.sql(`DELETE FROM public.${table}`);
    await waitUntil(() => m.got.length >= 3, { what: 'three changes', dump: () => m.got });
    assert.deepEqual(m.got.map((x) => x.event), ['INSERT', 'UPDATE', 'DELETE']);
    const [ins, upd, del] = m.got.map((x) => x.payload);
    assert.deepEqual([ins.operation, ins.schema, ins.table, ins.record, ins.old_record],
      ['INSERT', 'public', table, { id: 1, details: 'v' }, null]);
    assert.deepEqual([upd.record, upd.old_record], [{ id: 1, details: 'w' }, { id: 1, details: 'v' }]);
    assert.deepEqual([del.record, del.old_record], [null, { id: 1, details: 'w' }]);
    for (const x of m.got) assert.equal(x.payload.id, x.meta.id);
  });

  it('send_binary reaches 2.0.0 members as bytes and not 1.0.0 members', async () => {
    const name = uniqueName('dbbin');
    const v2 = await member(name);
    const v1 = await member(name, { vsn: '1.0.0' });
    await server.sql("SELECT realtime.send_binary('\\x010203'::bytea, 'bin', $1, false)", [name]);
    await server.sql("SELECT realtime.send('{\"after\": true}'::jsonb, 'json', $1, false)", [name]);
    await waitUntil(() => v2.got.length >= 2 && v1.got.length >= 1,
      { what: 'both messages', dump: () => ({ v1: v1.got, v2: v2.got }) });
    assert.equal(v2.got[0].event, 'bin');
    assert.deepEqual([...new Uint8Array(v2.got[0].payload)], [1, 2, 3]);
    assert.deepEqual(v1.got.map((m) => m.event), ['json']);
  });

  it('keeps each connection\'s commit order over 500 messages from five concurrent connections', async () => {
    const name = uniqueName('dborder');
    const m = await member(name);
    // Each statement is its own transaction; 5 connections send 100 each, interleaved.
    await Promise.all(Array.from({ length: 5 }, (_, w) => (async () => {
      for (let i = 0; i < 100; i++)
        await server.sql("SELECT realtime.send(jsonb_build_object('w', $2::int, 'i', $3::int), 'o', $1, false)", [name, w, i]);
    })()));
    await waitUntil(() => m.got.length >= 500, { what: '500 messages', dump: () => m.got.length });
    assert.equal(m.got.length, 500);
    // Each connection's transactions commit one after the other, so its messages arrive in
    // the order it sent them; every row arrives once.
    for (let w = 0; w < 5; w++)
      assert.deepEqual(m.got.filter((x) => x.payload.w === w).map((x) => x.payload.i), Array.from({ length: 100 }, (_, i) => i));
    assert.equal(new Set(m.got.map((x) => x.meta.id)).size, 500);
  });
});
