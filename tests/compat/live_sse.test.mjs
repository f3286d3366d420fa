// Live queries over Server-Sent Events (issue 13): GET /live/v1 against the real binary and its
// Postgres, read with Node's fetch as any HTTP client would (the browser's native EventSource
// and `walcast watch` are tested in e2e/live_sse). The first result, then keyed diffs whose
// positions never go backwards and that rebuild the query's result; RLS per identity with the
// token as a header or as apikey; refusals with the status and the fix; a stream that ends
// (the client leaving, the token's exp, LIVE_SSE_MAX_STREAMS, a client that stops reading)
// frees its subscription.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

import { Walcast } from './lib/server.mjs';
import { anonToken, roleToken, serviceToken, userToken, sign } from './lib/tokens.mjs';
import { waitUntil, show } from './lib/wait.mjs';
import { replay as replayPushes, lsn } from './lib/live.mjs';

const A = randomUUID();
const B = randomUUID();
const MAX_STREAMS = 6;

let server;
const streams = [];

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'walcast-live-sse-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'group_items.sql'), '-- key: id\nSELECT id, seq, grp FROM public.sse_items WHERE grp = $1 ORDER BY id\n');
  writeFileSync(join(dir, 'moves.sql'), '-- key: id\n-- refresh: sse_moves grp=eq.$1\nSELECT id, grp FROM public.sse_moves WHERE grp = $1 ORDER BY id\n');
  writeFileSync(join(dir, 'my_notes.sql'), 'SELECT id, body FROM public.sse_notes ORDER BY id\n');
  server = await Walcast.start({
    LIVE_QUERIES_DIR: dir,
    LIVE_SSE_MAX_STREAMS: MAX_STREAMS,
    CLIENT_QUEUE_SOFT_BYTES: 128 * 1024,
    CLIENT_QUEUE_HARD_BYTES: 256 * 1024,
  });
  await server.sql(`
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO service_role;
    CREATE TABLE public.sse_items (id int PRIMARY KEY, seq int NOT NULL, grp int NOT NULL);
    CREATE TABLE public.sse_notes (id int PRIMARY KEY, owner uuid NOT NULL, body text);
    ALTER TABLE public.sse_notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.sse_notes FOR SELECT TO authenticated USING (owner = auth.uid());
    GRANT SELECT ON public.sse_notes TO authenticated;
    CREATE TABLE public.sse_moves (id int PRIMARY KEY, grp int NOT NULL, note text);
    ALTER TABLE public.sse_moves REPLICA IDENTITY FULL;
    INSERT INTO public.sse_moves SELECT g, g % 3, '' FROM generate_series(1, 30) g;
    CREATE TABLE public.sse_big (id int PRIMARY KEY, pad text);
    INSERT INTO public.sse_big SELECT g, repeat('x', 1000) FROM generate_series(1, 200) g;
  `);
});

after(async () => {
  for (const s of streams) s.close();
  await server?.stop();
});

/// Opens GET /live/v1 with `query` (an object of parameters; objects and arrays as JSON). The
/// token goes as apikey unless `header`. Events (type, id, data parsed) collect in `events`.
async function open(query, { token = serviceToken(), header = false } = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) params.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  if (token && !header) params.set('apikey', token);
  const controller = new AbortController();
  const res = await fetch(`${server.httpUrl}/live/v1?${params}`, {
    headers: token && header ? { Authorization: `Bearer ${token}` } : {},
    signal: controller.signal,
  });
  const s = { res, events: [], ended: false, close: () => controller.abort() };
  streams.push(s);
  if (res.status !== 200) {
    s.body = await res.json();
    s.ended = true;
    return s;
  }
  (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const e = { type: 'message', id: '', data: null };
          for (const line of block.split('\n')) {
            const m = line.match(/^([a-z]+): ?(.*)$/);
            if (!m) continue;
            if (m[1] === 'event') e.type = m[2];
            if (m[1] === 'id') e.id = m[2];
            if (m[1] === 'data') e.data = JSON.parse(m[2]);
          }
          if (e.data !== null) s.events.push(e);
        }
      }
    } catch { /* aborted */ }
    s.ended = true;
  })();
  return s;
}

function waitEvent(s, pred, what) {
  return waitUntil(() => s.events.find(pred), { what, dump: () => s.events });
}


/// The rows the stream's events rebuild.
const replay = (events, key) => replayPushes(events.map((e) => ({ event: e.type, payload: e.data })), key);

async function metric(name) {
  return (await server.metrics()).get(name) ?? 0;
}

describe('GET /live/v1', () => {
  it('streams the first result, then diffs that rebuild the result, positions never going backwards', async () => {
    await server.sql('INSERT INTO public.sse_items VALUES (1, 0, 1), (2, 0, 2)');
    const s = await open({ name: 'group_items', params: [1], throttle_ms: 0 });
    assert.equal(s.res.status, 200, show(s.body));
    assert.match(s.res.headers.get('content-type'), /^text\/event-stream/);
    assert.equal(s.res.headers.get('cache-control'), 'no-cache');
    assert.equal(s.res.headers.get('access-control-allow-origin'), '*');
    await waitEvent(s, (e) => e.type === 'result', 'the first result');
    assert.deepEqual(s.events[0].data.rows, [{ id: 1, seq: 0, grp: 1 }]);
    assert.deepEqual(s.events[0].data.key, ['id']);
    assert.equal(s.events[0].id, s.events[0].data.position);
    // 30 transactions: inserts, updates and deletes in group 1, and inserts in group 2 that the
    // query's WHERE leaves out.
    for (let seq = 1; seq <= 30; seq++) {
      const id = 100 + seq;
      if (seq % 3 === 0) await server.sql('UPDATE public.sse_items SET seq = $1 WHERE id = 1', [seq]);
      else if (seq % 5 === 0) await server.sql('DELETE FROM public.sse_items WHERE id = $1', [id - 1]);
      else await server.sql('INSERT INTO public.sse_items VALUES ($1, $2, $3)', [id, seq, seq % 4 === 0 ? 2 : 1]);
    }
    const expected = await server.sql('SELECT id, seq, grp FROM public.sse_items WHERE grp = 1 ORDER BY id');
    assert.equal(expected.length, 12);
    await waitUntil(() => JSON.stringify(replay(s.events, ['id'])) === JSON.stringify(expected),
      { what: 'the replayed result to equal the query', dump: () => ({ replayed: replay(s.events, ['id']), expected }) });
    const positions = s.events.map((e) => lsn(e.data.position));
    for (let i = 1; i < positions.length; i++) assert.ok(positions[i] >= positions[i - 1], show(s.events.map((e) => e.data.position)));
    assert.ok(s.events.slice(1).every((e) => e.type === 'diff'), show(s.events.map((e) => e.type)));
    assert.ok(!replay(s.events, ['id']).some((r) => r.grp !== 1), 'only group 1');
    s.close();
  });

  it('a refresh condition runs only the live queries whose value the old or new row has', async () => {
    // Live queries for groups 0, 1, 2 (each also as a second parameter spelling, ' +1', which
    // the condition compares as the integer 1).
    const groups = [[0, '0'], [1, '1'], [2, '2'], [1, ' +1']];
    const s = [];
    for (const [g, text] of groups) {
      const x = await open({ name: 'moves', params: [text], throttle_ms: 0 });
      assert.equal(x.res.status, 200, show(x.body));
      await waitEvent(x, (e) => e.type === 'result', `group ${g}'s first result`);
      assert.equal(x.events[0].data.rows.length, 10);
      s.push(x);
    }
    const triggered = async () => metric('walcast_live_query_triggered_total');
    const before = await triggered();
    // Row 4 moves from group 1 to group 2: the group 1 queries (old row) and group 2 (new row).
    await server.sql('UPDATE public.sse_moves SET grp = 2 WHERE id = 4');
    for (const k of [1, 2, 3]) await waitEvent(s[k], (e) => e.type === 'diff', `group ${groups[k][0]}'s diff`);
    assert.equal(await triggered(), before + 3);
    // A change in group 0 only (an UPDATE of note alone would run nothing: the query does not
    // read it).
    await server.sql("INSERT INTO public.sse_moves VALUES (33, 0, 'x')");
    await waitEvent(s[0], (e) => e.type === 'diff', 'group 0\'s diff');
    assert.equal(await triggered(), before + 4);
    assert.deepEqual(s.map((x) => x.events.filter((e) => e.type === 'diff').length), [1, 1, 1, 1]);
    for (const x of s) x.close();
  });

  it('runs as the token: RLS decides each identity\'s rows, with the token as a header or as apikey', async () => {
    await server.sql(`INSERT INTO public.sse_notes VALUES (1, '${A}', 'a1'), (2, '${B}', 'b1')`);
    const a = await open({ name: 'my_notes', throttle_ms: 0, key: 'id' }, { token: userToken(A), header: true });
    const b = await open({ name: 'my_notes', throttle_ms: 0, key: 'id' }, { token: userToken(B) });
    assert.equal(a.res.status, 200, show(a.body));
    assert.equal(b.res.status, 200, show(b.body));
    await waitEvent(a, (e) => e.type === 'result', 'A\'s first result');
    await waitEvent(b, (e) => e.type === 'result', 'B\'s first result');
    assert.deepEqual(a.events[0].data.rows, [{ id: 1, body: 'a1' }]);
    assert.deepEqual(b.events[0].data.rows, [{ id: 2, body: 'b1' }]);
    await server.sql(`INSERT INTO public.sse_notes VALUES (3, '${A}', 'a2')`);
    await waitUntil(() => replay(a.events, ['id']).length === 2, { what: 'A sees its new note', dump: () => a.events });
    await server.sql(`INSERT INTO public.sse_notes VALUES (4, '${B}', 'b2')`);
    await waitUntil(() => replay(b.events, ['id']).length === 2, { what: 'B sees its new note', dump: () => b.events });
    assert.deepEqual(replay(a.events, ['id']).map((r) => r.id), [1, 3]);
    assert.deepEqual(replay(b.events, ['id']).map((r) => r.id), [2, 4]);
    a.close();
    b.close();
  });

  it('refuses with the status and a message naming the fix, before any stream', async () => {
    const cases = [
      [{ name: 'group_items', params: [1] }, { token: null }, 401, /no token: send Authorization: Bearer/],
      [{ name: 'group_items', params: [1] }, { token: sign({ role: 'anon', exp: 1 }) }, 401, /expired/],
      [{ sql: 'SELECT id FROM public.sse_items' }, { token: anonToken() }, 403, /LIVE_SQL_ROLES/],
      [{ name: 'no_such_query' }, {}, 404, /no_such_query\.sql defines it/],
      [{ name: 'group_items', params: '[1' }, {}, 400, /params is not JSON/],
      [{ name: 'group_items', bogus: '1' }, {}, 400, /unknown parameter 'bogus'/],
      [{ sql: 'SELECT nope FROM public.sse_items' }, {}, 400, /column "nope" does not exist/],
      [{ sql: 'SELECT 1 AS one' }, {}, 400, /reads nothing/],
      [{ name: 'group_items', params: [1] }, { token: roleToken('postgres') }, 403, /JWT_ALLOWED_ROLES|superuser/],
    ];
    for (const [query, opts, status, message] of cases) {
      const s = await open(query, opts);
      assert.equal(s.res.status, status, `${JSON.stringify(query)}: ${show(s.body)}`);
      assert.match(s.body.message, message, JSON.stringify(query));
      assert.equal(s.res.headers.get('access-control-allow-origin'), '*');
    }
    const post = await fetch(`${server.httpUrl}/live/v1?name=group_items`, { method: 'POST' });
    assert.equal(post.status, 405);
    const preflight = await fetch(`${server.httpUrl}/live/v1`, { method: 'OPTIONS' });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers'), /authorization/);
  });

  it('a stream the client leaves unsubscribes; at LIVE_SSE_MAX_STREAMS a new one gets 503', async () => {
    for (const s of streams) s.close(); // what earlier tests left open (a failed one)
    await waitUntil(async () => (await metric('walcast_http_streams')) === 0, { what: 'no stream open' });
    const subscribed = await metric('walcast_live_query_subscriptions');
    const open_ = [];
    for (let i = 0; i < MAX_STREAMS; i++) {
      const s = await open({ name: 'group_items', params: [i + 10] });
      assert.equal(s.res.status, 200, show(s.body));
      open_.push(s);
    }
    assert.equal(await metric('walcast_http_streams'), MAX_STREAMS);
    assert.equal(await metric('walcast_live_query_subscriptions'), subscribed + MAX_STREAMS);
    const over = await open({ name: 'group_items', params: [99] });
    assert.equal(over.res.status, 503);
    assert.match(over.body.message, /LIVE_SSE_MAX_STREAMS \(6\)/);
    for (const s of open_) s.close();
    await waitUntil(async () => (await metric('walcast_http_streams')) === 0, { what: 'the streams to end' });
    await waitUntil(async () => (await metric('walcast_live_query_subscriptions')) === subscribed,
      { what: 'their subscriptions to end' });
    const again = await open({ name: 'group_items', params: [99] });
    assert.equal(again.res.status, 200, show(again.body));
    again.close();
  });

  it('at the token\'s exp the stream ends after an error event token_expired', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const s = await open({ name: 'group_items', params: [1] }, { token: sign({ role: 'service_role', exp }) });
    assert.equal(s.res.status, 200, show(s.body));
    await waitEvent(s, (e) => e.type === 'result', 'the first result');
    await waitUntil(() => s.ended, { what: 'the stream to end at exp', timeoutMs: 15_000 });
    const last = s.events.at(-1);
    assert.equal(last.type, 'error');
    assert.equal(last.data.code, 'token_expired');
    assert.ok(Date.now() / 1000 >= exp, 'not before exp');
  });

  it('a client that stops reading is cut off at CLIENT_QUEUE_HARD_BYTES, and its subscription ends', async () => {
    for (const s of streams) s.close();
    await waitUntil(async () => (await metric('walcast_http_streams')) === 0, { what: 'no stream open' });
    const slowBefore = await metric('walcast_slow_client_disconnects_total');
    const subscribed = await metric('walcast_live_query_subscriptions');
    const token = serviceToken();
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const sql = encodeURIComponent('SELECT id, pad FROM public.sse_big ORDER BY id');
    socket.write(`GET /live/v1?sql=${sql}&full=true&throttle_ms=0&apikey=${token} HTTP/1.1\r\nHost: x\r\n\r\n`);
    let received = 0;
    await new Promise((resolve) => socket.once('data', (d) => { received += d.length; resolve(); }));
    socket.pause(); // reads nothing more: the kernel's buffers fill, then walcast's queue
    await waitUntil(async () => (await metric('walcast_live_query_subscriptions')) === subscribed + 1,
      { what: 'the slow stream subscribed' });
    // Each change pushes the whole ~200 kB result again.
    let n = 0;
    await waitUntil(async () => {
      await server.sql('UPDATE public.sse_big SET pad = repeat($1, 1000) WHERE id = 1', [String.fromCharCode(97 + (n++ % 26))]);
      return (await metric('walcast_slow_client_disconnects_total')) > slowBefore;
    }, { what: 'the slow client to be cut off', timeoutMs: 60_000, intervalMs: 10 });
    await waitUntil(async () => (await metric('walcast_live_query_subscriptions')) === subscribed,
      { what: 'the slow stream\'s subscription to end' });
    assert.equal(await metric('walcast_http_streams'), 0);
    socket.destroy();
    assert.ok(received > 0);
  });
});
