// REST broadcast through the pinned realtime-js and plain fetch against the real server
// (spec §7.5): channel.send() before the join (the client's REST fallback), httpSend() with
// JSON and bytes, the batch endpoint's validation errors, 401 / 415 / 403 / 429 with the
// reference's bodies, private topics only with the write permission, the CORS preflight, and
// GET /api/health.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, uniqueName } from './lib/client.mjs';
import { userToken, newUserId } from './lib/tokens.mjs';
import { waitUntil, show } from './lib/wait.mjs';

let server;
const clients = [];

before(async () => {
  server = await Walcast.start({ TENANT_MAX_EVENTS_PER_SECOND: '0' });
  await server.sql(`
    CREATE TABLE public.rest_grants (topic text, sub uuid, can_write bool);
    GRANT SELECT ON public.rest_grants TO authenticated;
    CREATE POLICY rest_read ON realtime.messages FOR SELECT TO authenticated USING (
      EXISTS (SELECT 1 FROM public.rest_grants g WHERE g.topic = realtime.topic() AND g.sub = auth.uid()));
    CREATE POLICY rest_write ON realtime.messages FOR INSERT TO authenticated WITH CHECK (
      EXISTS (SELECT 1 FROM public.rest_grants g WHERE g.topic = realtime.topic() AND g.sub = auth.uid() AND g.can_write));
  `);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

async function member(name, { vsn = '2.0.0', token, config = {} } = {}) {
  const c = await makeClient(server, { vsn, token });
  clients.push(c);
  const channel = c.channel(name, { config });
  const got = [];
  channel.on('broadcast', { event: '*' }, (m) => got.push(m));
  const status = await new Promise((resolve) => channel.subscribe((s, err) => {
    if (s === 'SUBSCRIBED' || s === 'CHANNEL_ERROR' || s === 'TIMED_OUT') resolve({ s, err: err?.message });
  }));
  assert.equal(status.s, 'SUBSCRIBED', show(status));
  return { client: c, channel, got };
}

async function user(topic, canWrite) {
  const sub = newUserId();
  await server.sql('INSERT INTO public.rest_grants VALUES ($1, $2, $3)', [topic, sub, canWrite]);
  return userToken(sub);
}

function post(path, body, headers = {}) {
  return fetch(`${server.httpUrl}${path}`, {
    method: 'POST',
    headers: { apikey: server.anonKey, 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

describe('REST broadcast', () => {
  it('channel.send() before the join falls back to POST /api/broadcast and reaches members of both serializers', async () => {
    const name = uniqueName('rest-fallback');
    const v2 = await member(name);
    const v1 = await member(name, { vsn: '1.0.0' });
    const c = await makeClient(server);
    clients.push(c);
    const unjoined = c.channel(name);
    const warn = console.warn;
    console.warn = () => {}; // the client warns that it falls back to REST
    try {
      assert.equal(await unjoined.send({ type: 'broadcast', event: 'pre', payload: { a: 1 } }), 'ok');
    } finally {
      console.warn = warn;
    }
    for (const m of [v1, v2]) {
      await waitUntil(() => m.got.length >= 1, { what: 'the REST message', dump: () => m.got });
      assert.deepEqual([m.got[0].event, m.got[0].payload], ['pre', { a: 1 }]);
    }
  });

  it('httpSend() with JSON and with bytes answers {success: true} (202)', async () => {
    const name = uniqueName('rest-single');
    const v2 = await member(name);
    const v1 = await member(name, { vsn: '1.0.0' });
    const c = await makeClient(server);
    clients.push(c);
    const ch = c.channel(name);
    assert.deepEqual(await ch.httpSend('json', { b: 2 }), { success: true });
    assert.deepEqual(await ch.httpSend('bin', new Uint8Array([7, 8, 9])), { success: true });
    assert.deepEqual(await ch.httpSend('json', { b: 3 }), { success: true });
    await waitUntil(() => v2.got.length >= 3 && v1.got.length >= 2,
      { what: 'the three messages', dump: () => ({ v1: v1.got, v2: v2.got }) });
    assert.deepEqual(v2.got.map((m) => m.event), ['json', 'bin', 'json']);
    assert.deepEqual(v2.got[0].payload, { b: 2 });
    assert.deepEqual([...new Uint8Array(v2.got[1].payload)], [7, 8, 9]);
    // 1.0.0 cannot carry bytes.
    assert.deepEqual(v1.got.map((m) => m.payload), [{ b: 2 }, { b: 3 }]);
  });

  it('answers bad requests with the reference statuses and bodies', async () => {
    const noAuth = await fetch(`${server.httpUrl}/api/broadcast`, { method: 'POST', body: '{}' });
    assert.equal(noAuth.status, 401);
    assert.deepEqual(await noAuth.json(), { message: 'Unauthorized' });
    const badToken = await post('/api/broadcast', { messages: [] }, { apikey: 'x.y.z' });
    assert.equal(badToken.status, 401);

    const blank = await post('/api/broadcast', {});
    assert.equal(blank.status, 422);
    assert.deepEqual(await blank.json(), { errors: { messages: ["can't be blank"] } });
    const invalid = await post('/api/broadcast', {
      messages: [{ topic: 't' }, { topic: 't', event: 'e', payload: 'no' }, { topic: 't', event: 'e', payload: {} }],
    });
    assert.equal(invalid.status, 422);
    assert.deepEqual(await invalid.json(), {
      errors: { messages: [{ event: ["can't be blank"], payload: ["can't be blank"] }, { payload: ['is invalid'] }, {}] },
    });

    // Hostile sizes: more than 100 private topics in one batch (one write check each on the
    // shared pool), a body past 8 MB.
    const many = await post('/api/broadcast', {
      messages: Array.from({ length: 101 }, (_, i) => ({ topic: `p${i}`, event: 'e', payload: {}, private: true })),
    });
    assert.equal(many.status, 422);
    assert.match(JSON.stringify(await many.json()), /more than 100 private topics/);
    // Past 8 MB walcast answers 413 and closes the connection without reading the rest, so
    // the client sees the 413 or, still writing, a broken pipe; nothing is delivered.
    const hugeName = uniqueName('rest-huge');
    const watcher = await member(hugeName);
    const huge = await post(`/api/broadcast/${hugeName}/events/e`, new Uint8Array(9 * 1024 * 1024),
      { 'Content-Type': 'application/octet-stream' }).catch((e) => e);
    if (huge instanceof Response) assert.equal(huge.status, 413);
    else assert.match(`${huge.cause?.code} ${huge.cause?.message}`, /EPIPE|ECONNRESET|other side closed/, show(huge));
    const small = await post(`/api/broadcast/${hugeName}/events/after`, { ok: 1 });
    assert.equal(small.status, 202);
    await waitUntil(() => watcher.got.length >= 1, { what: 'the message after the huge one', dump: () => watcher.got });
    assert.deepEqual(watcher.got.map((m) => m.event), ['after']);

    const text = await post('/api/broadcast/t/events/e', 'hi', { 'Content-Type': 'text/plain' });
    assert.equal(text.status, 415);
    assert.deepEqual(await text.json(),
      { error: 'Unsupported Media Type. Use application/json or application/octet-stream' });

    const preflight = await fetch(`${server.httpUrl}/api/broadcast`, { method: 'OPTIONS' });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /apikey/);

    const health = await fetch(`${server.httpUrl}/api/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, 'ok');
  });

  it('private topics: written only with the write permission (batch skips silently, single answers 403)', async () => {
    const name = uniqueName('rest-private');
    const readerToken = await user(name, false);
    const writerToken = await user(name, true);
    const reader = await member(name, { token: readerToken, config: { private: true } });
    const pub = await member(name);
    const msg = (n) => ({ messages: [{ topic: name, event: 'e', payload: { n }, private: true }] });

    const denied = await post('/api/broadcast', msg(1), { Authorization: `Bearer ${readerToken}` });
    assert.equal(denied.status, 202);
    const single = await post(`/api/broadcast/${encodeURIComponent(name)}/events/e?private=true`, { n: 2 },
      { Authorization: `Bearer ${readerToken}` });
    assert.equal(single.status, 403);
    assert.deepEqual(await single.json(), { message: 'Unauthorized' });

    const ok = await post('/api/broadcast', msg(3), { Authorization: `Bearer ${writerToken}` });
    assert.equal(ok.status, 202);
    const ok2 = await post(`/api/broadcast/${encodeURIComponent(name)}/events/e?private=true`, { n: 4 },
      { Authorization: `Bearer ${writerToken}` });
    assert.equal(ok2.status, 202);
    await waitUntil(() => reader.got.length >= 2, { what: 'n=3 and n=4', dump: () => reader.got });
    assert.deepEqual(reader.got.map((m) => m.payload.n), [3, 4]);
    assert.deepEqual(pub.got, []);
  });
});

describe('REST broadcast rate limit', () => {
  let limited;
  before(async () => { limited = await Walcast.start({ TENANT_MAX_EVENTS_PER_SECOND: '2' }); });
  after(async () => { await limited?.stop(); });

  it('answers 429 past TENANT_MAX_EVENTS_PER_SECOND', async () => {
    const send = (messages) => fetch(`${limited.httpUrl}/api/broadcast`, {
      method: 'POST',
      headers: { apikey: limited.anonKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages }),
    });
    const one = { topic: 't', event: 'e', payload: {} };
    // 2/s over a 5 s bucket: a batch of 11 is over the limit with the average on top.
    const big = await send(Array.from({ length: 11 }, () => one));
    assert.equal(big.status, 429);
    assert.deepEqual(await big.json(), { message: 'Too many messages to broadcast, please reduce the batch size' });
    // The single endpoint refuses once the average reaches the limit: 10 messages in the
    // first 5 s bucket are 2/s.
    const single = () => fetch(`${limited.httpUrl}/api/broadcast/t/events/e`, {
      method: 'POST',
      headers: { apikey: limited.anonKey, 'Content-Type': 'application/json' },
      body: '{}',
    });
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await single()).status);
    assert.deepEqual(statuses.slice(0, 5), [202, 202, 202, 202, 202], show(statuses));
    assert.equal(statuses.at(-1), 429, show(statuses));
    const last = await single();
    assert.equal(last.status, 429);
    assert.deepEqual(await last.json(), { message: 'You have exceeded your rate limit' });
  });
});
