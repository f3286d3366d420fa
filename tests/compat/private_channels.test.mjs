// Private channels through the pinned realtime-js against the real server (spec §7.3): read and
// write decided by RLS policies on realtime.messages (realtime.topic() and the extension
// column), checked at join, at the first send / track, and again on an access_token refresh.
// The policies read a grants table, so each test gives its users exactly the permissions it
// needs: read-not-write, write-not-read, presence.read gating, presence.write gating, and a
// token refresh that takes a read away or grants one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, uniqueName } from './lib/client.mjs';
import { userToken, newUserId, serviceToken } from './lib/tokens.mjs';
import { waitUntil, show } from './lib/wait.mjs';

let server;
const clients = [];

before(async () => {
  server = await Walcast.start({ CHANNEL_ERROR_BACKOFF_MS: '0', TENANT_MAX_EVENTS_PER_SECOND: '0' });
  // Who may read / write which (topic, extension): the policies look the row up.
  await server.sql(`
    CREATE TABLE public.topic_grants (topic text, sub uuid, extension text, can_read bool, can_write bool);
    GRANT SELECT ON public.topic_grants TO authenticated;
    CREATE POLICY grants_read ON realtime.messages FOR SELECT TO authenticated USING (
      EXISTS (SELECT 1 FROM public.topic_grants g WHERE g.topic = realtime.topic()
              AND g.sub = auth.uid() AND g.extension = realtime.messages.extension AND g.can_read));
    CREATE POLICY grants_write ON realtime.messages FOR INSERT TO authenticated WITH CHECK (
      EXISTS (SELECT 1 FROM public.topic_grants g WHERE g.topic = realtime.topic()
              AND g.sub = auth.uid() AND g.extension = realtime.messages.extension AND g.can_write));
  `);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

/// A user with grants on `topic`: {broadcast: 'r'|'w'|'rw', presence: …}.
async function user(topic, grants) {
  const sub = newUserId();
  for (const [extension, g] of Object.entries(grants)) {
    await server.sql('INSERT INTO public.topic_grants VALUES ($1, $2, $3, $4, $5)',
      [topic, sub, extension, g.includes('r'), g.includes('w')]);
  }
  return { sub, token: userToken(sub) };
}

/// A joined (or refused) private channel recording broadcasts, system messages, statuses.
async function member(name, token, { broadcast = {}, presence, timeout } = {}) {
  const c = await makeClient(server, { token, ...(timeout ? { timeout } : {}) });
  clients.push(c);
  const config = { private: true, broadcast, ...(presence ? { presence } : {}) };
  const channel = c.channel(name, { config });
  const rec = { client: c, channel, got: [], msgs: [], systems: [], statuses: [], syncs: 0 };
  channel.on('broadcast', { event: '*' }, (m) => { rec.got.push(m.payload); rec.msgs.push(m); });
  channel.on('system', {}, (m) => rec.systems.push(m));
  if (presence) channel.on('presence', { event: 'sync' }, () => { rec.syncs++; });
  rec.status = await new Promise((resolve) => channel.subscribe((s, err) => {
    rec.statuses.push(s);
    if (s === 'SUBSCRIBED' || s === 'CHANNEL_ERROR' || s === 'TIMED_OUT') resolve({ s, err: err?.message });
  }));
  return rec;
}

const unauthorized = (name) => `Unauthorized: You do not have permissions to read from this Channel topic: ${name}`;

describe('private channels', () => {
  it('read without write: joins and receives, its own broadcasts are dropped without an ack', async () => {
    const name = uniqueName('priv-ro');
    const reader = await user(name, { broadcast: 'r' });
    const writer = await user(name, { broadcast: 'rw' });
    const ro = await member(name, reader.token, { broadcast: { ack: true }, timeout: 2000 });
    const rw = await member(name, writer.token, { broadcast: { ack: true } });
    assert.equal(ro.status.s, 'SUBSCRIBED', show(ro.status));
    assert.equal(rw.status.s, 'SUBSCRIBED', show(rw.status));

    // The read-only member's broadcast: no ack (send() times out) and nobody receives it.
    assert.equal(await ro.channel.send({ type: 'broadcast', event: 'e', payload: { n: 1 } }), 'timed out');
    assert.equal(await rw.channel.send({ type: 'broadcast', event: 'e', payload: { n: 2 } }), 'ok');
    await waitUntil(() => ro.got.length >= 1, { what: 'the reader gets n=2', dump: () => ro.got });
    assert.deepEqual(ro.got, [{ n: 2 }]);
    assert.deepEqual(rw.got, []);
    // A public channel of the same name is another topic (spec §7.0).
    const pub = await makeClient(server);
    clients.push(pub);
    const pubCh = pub.channel(name);
    const pubGot = [];
    pubCh.on('broadcast', { event: '*' }, (m) => pubGot.push(m.payload));
    await new Promise((resolve) => pubCh.subscribe((s) => { if (s === 'SUBSCRIBED') resolve(); }));
    assert.equal(await rw.channel.send({ type: 'broadcast', event: 'e', payload: { n: 3 } }), 'ok');
    await waitUntil(() => ro.got.length >= 2, { what: 'the reader gets n=3', dump: () => ro.got });
    assert.deepEqual(ro.got, [{ n: 2 }, { n: 3 }]);
    assert.deepEqual(pubGot, []);
  });

  it('write without read: the join is refused with the Unauthorized reason', async () => {
    const name = uniqueName('priv-wo');
    const w = await user(name, { broadcast: 'w' });
    const m = await member(name, w.token);
    assert.equal(m.status.s, 'CHANNEL_ERROR', show(m.status));
    assert.equal(m.status.err, unauthorized(name));
    // No grants at all: the same.
    const nobody = await member(name, userToken(newUserId()));
    assert.equal(nobody.status.err, unauthorized(name));
  });

  it('service_role passes every policy (BYPASSRLS); its broadcasts reach readers', async () => {
    const name = uniqueName('priv-svc');
    const reader = await user(name, { broadcast: 'r' });
    const ro = await member(name, reader.token);
    const svc = await member(name, serviceToken(), { broadcast: { ack: true } });
    assert.equal(svc.status.s, 'SUBSCRIBED', show(svc.status));
    for (let n = 1; n <= 20; n++)
      assert.equal(await svc.channel.send({ type: 'broadcast', event: 'e', payload: { n } }), 'ok');
    await waitUntil(() => ro.got.length >= 20, { what: '20 broadcasts', dump: () => ro.got });
    assert.deepEqual(ro.got.map((p) => p.n), Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('presence.read gates presence_state and diffs; presence.write gates track', async () => {
    const name = uniqueName('priv-presence');
    const full = await user(name, { broadcast: 'rw', presence: 'rw' });
    const broadcastOnly = await user(name, { broadcast: 'rw' });
    const presenceReadOnly = await user(name, { presence: 'r' });
    const a = await member(name, full.token, { presence: { key: 'a' } });
    const b = await member(name, broadcastOnly.token, { presence: { key: 'b' } });
    const c = await member(name, presenceReadOnly.token, { presence: { key: 'c' } });
    for (const m of [a, b, c]) assert.equal(m.status.s, 'SUBSCRIBED', show(m.status));

    assert.equal(await a.channel.track({ who: 'a' }), 'ok');
    // Without presence.write: {"status":"error"} and no diff.
    assert.equal(await c.channel.track({ who: 'c' }), 'error');
    assert.equal(await b.channel.track({ who: 'b' }), 'error');
    await waitUntil(() => Object.keys(c.channel.presenceState()).length === 1,
      { what: 'c sees a', dump: () => c.channel.presenceState() });
    assert.deepEqual(Object.keys(c.channel.presenceState()), ['a']);
    assert.deepEqual(Object.keys(a.channel.presenceState()), ['a']);
    // b (no presence.read) had no presence_state and gets no diff: a broadcast from a, sent
    // after the track, arrives while b's presence state stays empty.
    assert.equal(await a.channel.send({ type: 'broadcast', event: 'after-track', payload: { n: 1 } }), 'ok');
    await waitUntil(() => b.got.length >= 1, { what: 'b gets the broadcast', dump: () => b.got });
    assert.deepEqual(b.channel.presenceState(), {});
    assert.equal(b.syncs, 0);
  });

  it('replay: the newest stored private messages since `since`, oldest first, flagged replayed, then live ones', async () => {
    const name = uniqueName('priv-replay');
    const r = await user(name, { broadcast: 'r' });
    const since = Date.now() - 60_000;
    // A service_role member sees the stored messages arrive live: once it has n=4, the stream
    // is past them, so none of them can still arrive live after the replaying member's join.
    const watcher = await member(name, serviceToken());
    assert.equal(watcher.status.s, 'SUBSCRIBED', show(watcher.status));
    // Four stored messages, two of them in one transaction (same inserted_at); a public one
    // and one of another topic are not replayed.
    await server.sql("SELECT realtime.send('{\"n\": 1}'::jsonb, 'e', $1)", [name]);
    await server.sql("SELECT realtime.send('{\"n\": 2}'::jsonb, 'e', $1)", [name]);
    await server.sql("BEGIN; SELECT realtime.send('{\"n\": 3}'::jsonb, 'e', '" + name + "'); " +
      "SELECT realtime.send('{\"n\": 4}'::jsonb, 'e', '" + name + "'); COMMIT");
    await server.sql("SELECT realtime.send('{\"n\": 99}'::jsonb, 'e', $1, false)", [name]);
    await server.sql("SELECT realtime.send('{\"n\": 98}'::jsonb, 'e', $1)", [name + '-other']);
    await waitUntil(() => watcher.got.some((p) => p.n === 4), { what: 'the stream past n=4', dump: () => watcher.got });
    const m = await member(name, r.token, { broadcast: { replay: { since, limit: 3 } } });
    assert.equal(m.status.s, 'SUBSCRIBED', show(m.status));
    await waitUntil(() => m.got.length >= 3, { what: 'three replayed messages', dump: () => m.got });
    assert.deepEqual(m.got.map((p) => p.n), [2, 3, 4]);
    for (const x of m.msgs) {
      assert.equal(x.meta?.replayed, true, show(x));
      assert.equal(x.meta.id, x.payload.id);
    }
    await server.sql("SELECT realtime.send('{\"n\": 5}'::jsonb, 'e', $1)", [name]);
    await waitUntil(() => m.got.length >= 4, { what: 'the live message', dump: () => m.got });
    assert.deepEqual(m.got.map((p) => p.n), [2, 3, 4, 5]);
    assert.equal(m.msgs[3].meta?.replayed, undefined);
  });

  it('replay needs broadcast.read: a presence-only reader is refused', async () => {
    const name = uniqueName('priv-replay-denied');
    const p = await user(name, { presence: 'r' });
    const m = await member(name, p.token, { broadcast: { replay: { since: Date.now() - 1000 } }, presence: { key: 'k' } });
    assert.equal(m.status.s, 'CHANNEL_ERROR', show(m.status));
    assert.equal(m.status.err, unauthorized(name));
  });

  it('a token refresh that takes the read away ends the channel with the system message', async () => {
    const name = uniqueName('priv-lose');
    const granted = await user(name, { broadcast: 'r' });
    const m = await member(name, granted.token);
    assert.equal(m.status.s, 'SUBSCRIBED', show(m.status));
    await m.client.setAuth(userToken(newUserId())); // a user with no grants
    await waitUntil(() => m.systems.length > 0 && m.statuses.includes('CLOSED'),
      { what: 'the system error and the close', dump: () => m });
    assert.deepEqual(m.systems.map((s) => [s.extension, s.status, s.message]),
      [['system', 'error', `You do not have permissions to read from this Channel topic: ${name}`]]);
  });

  it('a token refresh that grants broadcast.read starts the deliveries', async () => {
    const name = uniqueName('priv-gain');
    const presenceOnly = await user(name, { presence: 'r' });
    const upgraded = await user(name, { broadcast: 'r', presence: 'r' });
    const svc = await member(name, serviceToken(), { broadcast: { ack: true } });
    const m = await member(name, presenceOnly.token, { presence: { key: 'm' } });
    assert.equal(m.status.s, 'SUBSCRIBED', show(m.status));
    assert.equal(await svc.channel.send({ type: 'broadcast', event: 'e', payload: { n: 1 } }), 'ok');
    await m.client.setAuth(upgraded.token);
    // The refreshed reads are in place once a broadcast sent after them arrives; n=1 (sent
    // before, without broadcast.read) never does.
    await waitUntil(async () => {
      await svc.channel.send({ type: 'broadcast', event: 'e', payload: { n: 2 } });
      return m.got.length > 0;
    }, { what: 'deliveries after the refresh', intervalMs: 100, dump: () => m.got });
    assert.ok(m.got.every((p) => p.n === 2), show(m.got));
    assert.deepEqual(m.systems, []);
  });
});
