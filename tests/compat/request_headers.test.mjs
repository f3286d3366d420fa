// request.headers in private channel policies (spec §7.3.2): the WebSocket upgrade's x-*
// headers (names lower-cased) and, for REST broadcast, every request header, as the JSON object
// the policies read with current_setting('request.headers'). The policies here admit a user
// only with the header `x-room-key: open-<topic>` (or, to tell REST's all-headers rule apart,
// `room-key: …`), so each verdict shows which headers reached Postgres.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

import { Walcast } from './lib/server.mjs';
import { makeClient, uniqueName } from './lib/client.mjs';
import { userToken, newUserId } from './lib/tokens.mjs';
import { waitUntil, show } from './lib/wait.mjs';

let server;
const clients = [];

before(async () => {
  server = await Walcast.start({ CHANNEL_ERROR_BACKOFF_MS: '0', TENANT_MAX_EVENTS_PER_SECOND: '0' });
  await server.sql(`
    CREATE FUNCTION public.room_key_ok() RETURNS boolean LANGUAGE sql STABLE AS $$
      SELECT coalesce(h ->> 'x-room-key', h ->> 'room-key') = 'open-' || realtime.topic()
      FROM (SELECT nullif(current_setting('request.headers', true), '')::json AS h) s $$;
    GRANT EXECUTE ON FUNCTION public.room_key_ok() TO authenticated;
    CREATE POLICY key_read ON realtime.messages FOR SELECT TO authenticated USING (public.room_key_ok());
    CREATE POLICY key_write ON realtime.messages FOR INSERT TO authenticated WITH CHECK (public.room_key_ok());
  `);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

/// A ws transport whose upgrade request carries `headers`, as a Node app (or a proxy in front of
/// walcast) sends them; realtime-js constructs it as new transport(url, protocols).
function withHeaders(headers) {
  return class HeaderWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers });
    }
  };
}

async function member(name, headers = {}) {
  const c = await makeClient(server, { token: userToken(newUserId()), transport: withHeaders(headers), timeout: 3000 });
  clients.push(c);
  const channel = c.channel(name, { config: { private: true, broadcast: { ack: true } } });
  const got = [];
  channel.on('broadcast', { event: '*' }, (m) => got.push(m.payload));
  const status = await new Promise((resolve) => channel.subscribe((s, err) => {
    if (s === 'SUBSCRIBED' || s === 'CHANNEL_ERROR' || s === 'TIMED_OUT') resolve({ s, err: err?.message });
  }));
  return { client: c, channel, got, status };
}

const unauthorized = (name) => `Unauthorized: You do not have permissions to read from this Channel topic: ${name}`;

describe('request.headers for private channel policies', () => {
  it('the upgrade\'s x-* headers reach the read and write checks, names lower-cased', async () => {
    const name = uniqueName('hdr-ws');
    const a = await member(name, { 'X-Room-Key': `open-${name}` });
    const b = await member(name, { 'x-room-key': `open-${name}` });
    assert.equal(a.status.s, 'SUBSCRIBED', show(a.status));
    assert.equal(b.status.s, 'SUBSCRIBED', show(b.status));
    // The write check (first send) sees the header too: acked and delivered.
    assert.equal(await a.channel.send({ type: 'broadcast', event: 'e', payload: { n: 1 } }), 'ok');
    assert.equal(await b.channel.send({ type: 'broadcast', event: 'e', payload: { n: 2 } }), 'ok');
    await waitUntil(() => a.got.length >= 1 && b.got.length >= 1, { what: 'each gets the other\'s', dump: () => [a.got, b.got] });
    assert.deepEqual(a.got, [{ n: 2 }]);
    assert.deepEqual(b.got, [{ n: 1 }]);
  });

  it('without the header, with a wrong value, or under a name without x-, the join is refused', async () => {
    const name = uniqueName('hdr-ws-no');
    const none = await member(name);
    const wrong = await member(name, { 'x-room-key': 'open-another-topic' });
    const notX = await member(name, { 'room-key': `open-${name}` }); // only x-* are kept
    for (const m of [none, wrong, notX]) {
      assert.equal(m.status.s, 'CHANNEL_ERROR', show(m.status));
      assert.equal(m.status.err, unauthorized(name));
    }
  });

  it('REST broadcast passes every request header: the private single endpoint answers by them', async () => {
    const name = uniqueName('hdr-rest');
    const listener = await member(name, { 'x-room-key': `open-${name}` });
    assert.equal(listener.status.s, 'SUBSCRIBED', show(listener.status));
    const token = userToken(newUserId());
    const post = (n, headers) => fetch(
      `${server.httpUrl}/api/broadcast/${encodeURIComponent(name)}/events/e?private=true`, {
        method: 'POST',
        headers: { apikey: server.anonKey, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ n }),
      });
    const denied = await post(1, {});
    assert.equal(denied.status, 403);
    assert.deepEqual(await denied.json(), { message: 'Unauthorized' });
    assert.equal((await post(2, { 'X-Room-Key': `open-${name}` })).status, 202);
    assert.equal((await post(3, { 'room-key': `open-${name}` })).status, 202); // all headers on REST
    await waitUntil(() => listener.got.length >= 2, { what: 'n=2 and n=3', dump: () => listener.got });
    assert.deepEqual(listener.got, [{ n: 2 }, { n: 3 }]);
  });
});
