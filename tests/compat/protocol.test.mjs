// The Phoenix plumbing and HTTP surface: refused upgrades (status + JSON body, spec §1.4), both
// serializers' frames and refs (§2), heartbeat, leave/close, unmatched topics, malformed frames
// (§1.5), /healthz and /metrics — through raw `ws` where realtime-js would hide the wire, and
// through realtime-js where it is what users call.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, Sub, uniqueName, VSNS } from './lib/client.mjs';
import { RawSocket, socketUrl, tryUpgrade } from './lib/raw.mjs';
import { sign, nowS, b64url, TEST_SECRET } from './lib/tokens.mjs';
import { waitUntil, show } from './lib/wait.mjs';

let server;

before(async () => {
  server = await Walcast.start();
  await server.sql(`
    CREATE TABLE public.items (id int PRIMARY KEY, name text);
    GRANT SELECT ON public.items TO anon;`);
});

after(async () => {
  await server?.stop();
});

describe('refused upgrades', () => {
  const now = nowS();
  const unsigned = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify({ role: 'anon', exp: now + 600 }))}.`;
  const SIGNER = 'Failed to generate JWT signer, check your JWT secret or JWKS configuration';
  // name: [query params, status, body error message].
  const cases = {
    no_apikey: [{}, 401, 'API key is missing'],
    expired: [{ apikey: sign({ role: 'anon', exp: now - 5 }) }, 401, 'Token has expired'],
    no_role: [{ apikey: sign({ exp: now + 600 }) }, 401, 'Fields `role` and `exp` are required in JWT'],
    no_exp: [{ apikey: sign({ role: 'anon' }) }, 401, 'Fields `role` and `exp` are required in JWT'],
    not_a_jwt: [{ apikey: 'hello' }, 401, 'The token provided is not a valid JWT'],
    publishable_key: [{ apikey: 'sb_publishable_abc123' }, 401, 'The token provided is not a valid JWT'],
    wrong_key: [{ apikey: sign({ role: 'anon', exp: now + 600 }, { secret: `${TEST_SECRET}x` }) }, 401, 'Failed to validate JWT signature'],
    tampered_payload: [{ apikey: (() => {
      const [h, , s] = sign({ role: 'anon', exp: now + 600 }).split('.');
      return `${h}.${b64url(JSON.stringify({ role: 'service_role', exp: now + 600 }))}.${s}`;
    })() }, 401, 'Failed to validate JWT signature'],
    alg_none: [{ apikey: unsigned }, 401, SIGNER],
    hs_rs_confusion: [{ apikey: sign({ role: 'anon', exp: now + 600 }, { header: { alg: 'RS256' } }) }, 401, SIGNER],
    // The spec lists a failed `iat` type check under "anything else": 500.
    iat_not_a_number: [{ apikey: sign({ role: 'anon', exp: now + 600, iat: 'yesterday' }) }, 500, 'Error connecting to Realtime'],
    // The spec is silent on `nbf`; walcast refuses a token that is not valid yet (its message).
    not_yet_valid: [{ apikey: sign({ role: 'anon', exp: now + 600, nbf: now + 300 }) }, 401, 'Token is not valid yet'],
  };

  for (const [name, [params, status, error]] of Object.entries(cases)) {
    it(`${name}: HTTP ${status} {"error": "${error}"}`, async () => {
      const r = await tryUpgrade(socketUrl(server, { vsn: '2.0.0', ...params }));
      assert.equal(r.status, status, show(r));
      assert.match(r.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(JSON.parse(r.body), { error });
    });
  }

  it('accepts HS256, HS384 and HS512 tokens signed with JWT_SECRET', async () => {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const r = await tryUpgrade(socketUrl(server, { vsn: '2.0.0', apikey: sign({ role: 'anon', exp: nowS() + 600 }, { alg }) }));
      assert.equal(r.status, 101, `${alg}: ${show(r)}`);
      r.ws.close();
    }
  });

  it('unsupported vsn: HTTP 403 with an empty body', async () => {
    const r = await tryUpgrade(socketUrl(server, { vsn: '3.0.0', apikey: server.anonKey }));
    assert.equal(r.status, 403);
    assert.equal(r.body, '');
  });

  it('takes the token from the x-api-key header before the apikey parameter (§1.3)', async () => {
    const ok = await tryUpgrade(socketUrl(server, { vsn: '2.0.0' }), { headers: { 'x-api-key': server.anonKey } });
    assert.equal(ok.status, 101);
    ok.ws.close();
    const bad = await tryUpgrade(socketUrl(server, { vsn: '2.0.0', apikey: server.anonKey }), { headers: { 'x-api-key': 'nope' } });
    assert.equal(bad.status, 401);
    assert.deepEqual(JSON.parse(bad.body), { error: 'The token provided is not a valid JWT' });
  });

  it('serves /realtime/v1/websocket like /socket/websocket (§1.1)', async () => {
    const s = await RawSocket.connect(server, { vsn: '2.0.0', path: '/realtime/v1/websocket' });
    const hb = await s.heartbeat();
    assert.deepEqual(hb.payload, { status: 'ok', response: {} });
    s.terminate();
  });
});

for (const vsn of VSNS) {
  describe(`frames, vsn ${vsn}`, () => {
    const v1 = vsn === '1.0.0';
    let s;
    before(async () => {
      s = await RawSocket.connect(server, { vsn });
    });
    after(() => s?.terminate());

    // V1 server frames never carry join_ref (§2.1); V2 frames are 5-element arrays (§2.2).
    const assertShape = (f) => {
      if (v1) assert.deepEqual([...f.keys].sort(), ['event', 'payload', 'ref', 'topic'], f.raw);
      else assert.equal(f.length, 5, f.raw);
    };

    it('answers a heartbeat on topic phoenix with an ok reply carrying its ref (§2.3)', async () => {
      const r = await s.heartbeat();
      assertShape(r);
      assert.equal(r.event, 'phx_reply');
      assert.deepEqual(r.payload, { status: 'ok', response: {} });
      if (!v1) assert.equal(r.join_ref, null);
    });

    it('joins, pushes system with the join ref, fans out postgres_changes with null refs, leaves with reply then phx_close', async () => {
      const topic = `realtime:${uniqueName('raw')}`;
      const binding = { event: 'INSERT', schema: 'public', table: 'items', filter: `name=eq.${vsn}` };
      const { join_ref, reply } = await s.join(topic, { config: { postgres_changes: [binding] }, access_token: server.anonKey });
      assertShape(reply);
      if (!v1) assert.equal(reply.join_ref, join_ref);
      assert.equal(reply.payload.status, 'ok');
      const [echo] = reply.payload.response.postgres_changes;
      const { id, ...rest } = echo;
      assert.deepEqual(rest, binding);
      assert.ok(Number.isInteger(id) && id > 0);

      const sys = await s.waitFrame((f) => f.topic === topic && f.event === 'system', 'system message');
      assertShape(sys);
      assert.equal(sys.ref, null);
      if (!v1) assert.equal(sys.join_ref, join_ref);
      assert.deepEqual(sys.payload, { channel: topic.slice('realtime:'.length), extension: 'postgres_changes', message: 'Subscribed to PostgreSQL', status: 'ok' });

      await server.sql('INSERT INTO items VALUES ($1, $2)', [v1 ? 1 : 2, vsn]);
      const ch = await s.waitFrame((f) => f.topic === topic && f.event === 'postgres_changes', 'postgres_changes');
      assertShape(ch);
      assert.equal(ch.ref, null);
      if (!v1) assert.equal(ch.join_ref, null);
      assert.deepEqual(ch.payload.ids, [id]);
      assert.deepEqual(ch.payload.data.record, { id: v1 ? 1 : 2, name: vsn });

      const from = s.frames.length;
      const leaveRef = s.nextRef();
      s.send({ join_ref, ref: leaveRef, topic, event: 'phx_leave', payload: {} });
      const close = await s.waitFrame((f) => f.topic === topic && f.event === 'phx_close', 'phx_close', { from });
      const after = s.frames.slice(from).filter((f) => f.topic === topic);
      assert.deepEqual(after.map((f) => [f.event, f.ref]), [['phx_reply', leaveRef], ['phx_close', join_ref]]);
      assert.deepEqual(after[0].payload, { status: 'ok', response: {} });
      assert.deepEqual(close.payload, {});
      if (!v1) assert.deepEqual([after[0].join_ref, close.join_ref], [join_ref, join_ref]);

      // Gone: later changes are not sent to the left topic.
      await server.sql('INSERT INTO items VALUES ($1, $2)', [v1 ? 11 : 12, vsn]);
      await s.heartbeat();
      const topicFrames = s.framesOf(topic, 'postgres_changes');
      assert.equal(topicFrames.length, 1, show(topicFrames));
    });

    it('answers phx_leave of a topic that is not joined with ok, and other events with "unmatched topic"', async () => {
      const topic = `realtime:${uniqueName('nojoin')}`;
      const ref = s.nextRef();
      s.send({ ref, topic, event: 'phx_leave', payload: {} });
      const r = await s.waitFrame((f) => f.ref === ref, 'leave reply');
      assert.deepEqual([r.topic, r.event, r.payload], [topic, 'phx_reply', { status: 'ok', response: {} }]);

      for (const [t, event] of [[topic, 'access_token'], [topic, 'broadcast'], ['other:topic', 'phx_join']]) {
        const ref2 = s.nextRef();
        s.send({ join_ref: ref2, ref: ref2, topic: t, event, payload: {} });
        const u = await s.waitFrame((f) => f.ref === ref2, `reply to ${event} on ${t}`);
        assertShape(u);
        assert.deepEqual([u.topic, u.event, u.payload], [t, 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]);
        if (!v1) assert.equal(u.join_ref, null);
      }
    });

    it('closes the old channel with its join ref when a joined topic is joined again (§2.4)', async () => {
      const topic = `realtime:${uniqueName('dup')}`;
      const first = await s.join(topic);
      const from = s.frames.length;
      const second = await s.join(topic);
      assert.equal(second.reply.payload.status, 'ok');
      const seq = s.frames.slice(from).filter((f) => f.topic === topic).map((f) => [f.event, f.ref]);
      assert.deepEqual(seq, [['phx_close', first.join_ref], ['phx_reply', second.join_ref]]);
      assert.deepEqual(second.reply.payload.response, { postgres_changes: [] });
    });

    it('routes client messages by topic whatever their join_ref (§2.6 leniency)', async () => {
      const topic = `realtime:${uniqueName('lenient')}`;
      const { join_ref } = await s.join(topic);
      const from = s.frames.length;
      const ref = s.nextRef();
      s.send({ join_ref: 'some-other-join-ref', ref, topic, event: 'phx_leave', payload: {} });
      await s.waitFrame((f) => f.topic === topic && f.event === 'phx_close', 'phx_close', { from });
      assert.deepEqual(s.frames.slice(from).filter((f) => f.topic === topic).map((f) => [f.event, f.ref]),
        [['phx_reply', ref], ['phx_close', join_ref]]);
    });

    it('ignores malformed frames and keeps the socket open (§1.5)', async () => {
      const before = (await server.metrics()).get('walcast_frames_ignored_total');
      const wrongFormat = v1 ? '[null,"wrong-1","phoenix","heartbeat",{}]' : '{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"wrong-1"}';
      for (const bad of ['not json', '{"truncated":', wrongFormat, '[1,2]', '{}', '42', '"str"']) s.sendRaw(bad);
      const r = await s.heartbeat();
      assert.deepEqual(r.payload, { status: 'ok', response: {} });
      assert.equal(s.close, null);
      const replies = s.frames.filter((f) => f.ref === 'wrong-1');
      assert.deepEqual(replies, [], 'a heartbeat in the other serializer\'s format was answered');
      await waitUntil(async () => (await server.metrics()).get('walcast_frames_ignored_total') >= before + 7,
        { what: 'walcast_frames_ignored_total to count the 7 frames' });
    });
  });
}

it('speaks V1 when vsn is missing (§1.2)', async () => {
  const r = await tryUpgrade(socketUrl(server, { apikey: server.anonKey }));
  assert.equal(r.status, 101);
  const frames = [];
  r.ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  r.ws.send(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '9' }));
  await waitUntil(() => frames.length > 0, { what: 'a heartbeat reply', dump: () => frames });
  assert.deepEqual(frames[0], { topic: 'phoenix', event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '9' });
  r.ws.close();
});

for (const vsn of VSNS) {
  describe(`realtime-js plumbing, vsn ${vsn}`, () => {
    it('gets heartbeat replies (sent, then ok)', async () => {
      const client = await makeClient(server, { vsn });
      try {
        const statuses = [];
        client.onHeartbeat((status) => statuses.push(status));
        await subscribe(client, { t: { event: '*', schema: 'public', table: 'items' } });
        await client.sendHeartbeat();
        await waitUntil(() => statuses.includes('ok'), { what: 'heartbeat ok', dump: () => statuses });
        assert.deepEqual(statuses.slice(0, 2), ['sent', 'ok']);
      } finally {
        await client.disconnect();
      }
    });

    it('unsubscribe gets ok and CLOSED; removeChannel disconnects the last channel', async () => {
      const client = await makeClient(server, { vsn });
      try {
        const s = new Sub(client, uniqueName('leave'), { t: { event: '*', schema: 'public', table: 'items' } });
        await s.subscribed();
        assert.equal(await s.channel.unsubscribe(), 'ok');
        await s.waitFor((x) => x.statuses.some((st) => st.status === 'CLOSED'), 'CLOSED');
        assert.equal(s.channel.state, 'closed');
      } finally {
        await client.disconnect();
      }
    });
  });
}

describe('HTTP endpoints', () => {
  it('GET /healthz is 200 {"status":"ok"} while the replication stream is up, naming the capture source and why', async () => {
    const r = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(await r.json(), { status: 'ok', capture: 'logical', capture_reason: 'auto: the embedded database has wal_level=logical' });
  });

  it('GET /metrics is Prometheus text with the connection, channel, binding, change, lag and queue metrics', async () => {
    const m0 = await server.metrics();
    assert.equal(m0.status, 200);
    assert.match(m0.contentType, /^text\/plain; version=0\.0\.4/);
    for (const name of ['walcast_connections', 'walcast_channels', 'walcast_bindings', 'walcast_changes_received_total',
      'walcast_changes_delivered_total', 'walcast_changes_dropped_total', 'walcast_slow_client_disconnects_total',
      'walcast_replication_lag_bytes', 'walcast_replication_lag_ms', 'walcast_client_queue_bytes']) {
      assert.match(m0.text, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'), `${name} missing`);
    }
    assert.ok(m0.has('walcast_client_queue_bytes_count'), 'walcast_client_queue_bytes is not a histogram');

    const s = await RawSocket.connect(server, { vsn: '2.0.0' });
    const topic = `realtime:${uniqueName('metrics')}`;
    await s.join(topic, { config: { postgres_changes: [
      { event: 'INSERT', schema: 'public', table: 'items', filter: 'name=eq.metrics' },
      { event: 'DELETE', schema: 'public', table: 'items' },
    ] } });
    await s.waitFrame((f) => f.event === 'system', 'system');
    await server.sql("INSERT INTO items VALUES (100, 'metrics')");
    await s.waitFrame((f) => f.event === 'postgres_changes', 'postgres_changes');
    const m1 = await server.metrics();
    assert.equal(m1.get('walcast_connections'), m0.get('walcast_connections') + 1);
    assert.equal(m1.get('walcast_channels'), m0.get('walcast_channels') + 1);
    assert.equal(m1.get('walcast_bindings'), m0.get('walcast_bindings') + 2);
    assert.ok(m1.get('walcast_changes_received_total') > m0.get('walcast_changes_received_total'));
    assert.ok(m1.get('walcast_changes_delivered_total') >= m0.get('walcast_changes_delivered_total') + 1);
    assert.ok(m1.get('walcast_replication_lag_bytes') >= 0 && m1.get('walcast_replication_lag_ms') >= 0);
    s.terminate();
    await waitUntil(async () => (await server.metrics()).get('walcast_connections') === m0.get('walcast_connections'),
      { what: 'walcast_connections to drop back after the socket closed' });
    const m2 = await server.metrics();
    assert.equal(m2.get('walcast_channels'), m0.get('walcast_channels'));
    assert.equal(m2.get('walcast_bindings'), m0.get('walcast_bindings'));
  });

  // Last in the file: it breaks the replication connection.
  it('GET /healthz is 503 with a reason while the replication stream is down, then 200 again', async () => {
    const seen = [];
    const [{ n }] = await server.sql("SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE backend_type = 'walsender'");
    assert.ok(n >= 1, 'no walsender to terminate');
    await waitUntil(async () => {
      const r = await fetch(`${server.httpUrl}/healthz`);
      seen.push([r.status, await r.json()]);
      return seen.some(([st]) => st === 503) && r.status === 200;
    }, { what: '503 then 200 from /healthz', intervalMs: 5, timeoutMs: 20_000, dump: () => seen.slice(-5) });
    const [, down] = seen.find(([st]) => st === 503);
    assert.equal(down.status, 'unavailable');
    assert.equal(typeof down.reason, 'string');
    assert.ok(down.reason.length > 0);
  });
});
