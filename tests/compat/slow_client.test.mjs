// Bounded queues and deliberate delays, on a server with small limits: a client that stops
// reading is cut off (close 1008, counted in /metrics) while realtime-js clients on the same
// table keep receiving everything in order; refused upgrades and failed joins wait
// CONNECT_ERROR_BACKOFF_MS / CHANNEL_ERROR_BACKOFF_MS (spec §1.4, §3.6); MAX_CHANNELS_PER_CLIENT
// (§8).
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, Sub, uniqueName, VSNS } from './lib/client.mjs';
import { RawSocket, socketUrl, tryUpgrade } from './lib/raw.mjs';
import { sign, nowS } from './lib/tokens.mjs';
import { waitUntil, show } from './lib/wait.mjs';

const SOFT_BYTES = 1024 * 1024;
const HARD_BYTES = 4 * 1024 * 1024;
const BACKOFF_MS = 700;
const ROWS = 800;
const ROW_BYTES = 8 * 1024;
// The slow client joins the table this many times, so that it is sent several times what the
// fast clients are (a socket that stops reading still absorbs a few MB in kernel buffers).
const SLOW_CHANNELS = 4;

let server;
const clients = [];

before(async () => {
  server = await Walcast.start({
    CLIENT_QUEUE_SOFT_BYTES: SOFT_BYTES,
    CLIENT_QUEUE_HARD_BYTES: HARD_BYTES,
    CLIENT_QUEUE_SOFT_SECONDS: 3,
    CONNECT_ERROR_BACKOFF_MS: BACKOFF_MS,
    CHANNEL_ERROR_BACKOFF_MS: BACKOFF_MS,
    MAX_CHANNELS_PER_CLIENT: 6,
  });
  await server.sql(`
    CREATE TABLE public.big (seq int PRIMARY KEY, body text NOT NULL);
    GRANT SELECT ON public.big TO anon;`);
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await server?.stop();
});

it('cuts off a client that stops reading (1008, counted) while the others receive everything in order', async () => {
  const fast = await Promise.all(VSNS.map(async (vsn) => {
    const c = await makeClient(server, { vsn });
    clients.push(c);
    return subscribe(c, { big: { event: 'INSERT', schema: 'public', table: 'big' } });
  }));
  const slow = await RawSocket.connect(server, { vsn: '2.0.0' });
  const topics = Array.from({ length: SLOW_CHANNELS }, () => `realtime:${uniqueName('slow')}`);
  for (const topic of topics) {
    await slow.join(topic, { config: { postgres_changes: [{ event: 'INSERT', schema: 'public', table: 'big' }] } });
    await slow.waitFrame((f) => f.topic === topic && f.event === 'system' && f.payload.status === 'ok', 'Subscribed to PostgreSQL');
  }
  slow.ws._socket.pause(); // stops reading: the server's queue for it can only grow
  const m0 = await server.metrics();

  // ~6.5 MB per fast client (four times that for the slow one), in transactions of 100 rows.
  for (let first = 1; first <= ROWS; first += 100) {
    await server.sql(`INSERT INTO big SELECT i, repeat(md5(i::text), ${ROW_BYTES / 32}) FROM generate_series($1::int, $2::int) i`,
      [first, Math.min(ROWS, first + 99)]);
  }

  let m1;
  await waitUntil(async () => {
    m1 = await server.metrics();
    return m1.get('walcast_slow_client_disconnects_total') > m0.get('walcast_slow_client_disconnects_total');
  }, { what: 'walcast_slow_client_disconnects_total to increase', timeoutMs: 60_000, dump: () => m1?.text.match(/^walcast_(slow|changes).*$/gm) });
  assert.ok(m1.get('walcast_changes_dropped_total') > m0.get('walcast_changes_dropped_total'), 'walcast_changes_dropped_total did not increase');

  slow.ws._socket.resume();
  const close = await slow.waitClosed(20_000);
  assert.equal(close.code, 1008, `close ${show(close)}`);
  // What it got before the cut is a gap-free prefix on every channel: nothing silently skipped.
  let received = 0;
  for (const topic of topics) {
    const seqs = slow.framesOf(topic, 'postgres_changes').map((f) => f.payload.data.record.seq);
    received += seqs.length;
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `${topic} has a gap`);
  }
  assert.ok(received < ROWS * SLOW_CHANNELS, `the slow client received all ${ROWS} rows on every channel: it was never slow`);

  for (const s of fast) {
    await s.waitCount('big', ROWS, 120_000);
    const got = s.of('big').map((e) => e.payload.new.seq);
    assert.deepEqual(got, Array.from({ length: ROWS }, (_, i) => i + 1), `${s.name} out of order or incomplete`);
    assert.equal(s.channel.state, 'joined');
  }
  assert.equal((await server.metrics()).get('walcast_slow_client_disconnects_total'), m1.get('walcast_slow_client_disconnects_total'),
    'a fast client was cut off too');
});

it('refuses a bad upgrade only after CONNECT_ERROR_BACKOFF_MS', async () => {
  const t0 = Date.now();
  const r = await tryUpgrade(socketUrl(server, { vsn: '2.0.0', apikey: sign({ role: 'anon', exp: nowS() - 1 }) }));
  const waited = Date.now() - t0;
  assert.equal(r.status, 401);
  assert.deepEqual(JSON.parse(r.body), { error: 'Token has expired' });
  assert.ok(waited >= BACKOFF_MS - 20, `refused after ${waited} ms, before the ${BACKOFF_MS} ms back-off`);
});

it('answers a failed join only after CHANNEL_ERROR_BACKOFF_MS', async () => {
  const c = await makeClient(server, { vsn: '2.0.0', token: 'not-a-jwt' });
  clients.push(c);
  const s = new Sub(c, uniqueName('backoff'), {});
  const t0 = Date.now();
  const { status, err } = await s.subscribe();
  const waited = Date.now() - t0;
  await s.remove();
  assert.equal(status, 'CHANNEL_ERROR');
  assert.equal(err.message, 'MalformedJWT: The token provided is not a valid JWT');
  assert.ok(waited >= BACKOFF_MS - 20, `join error after ${waited} ms, before the ${BACKOFF_MS} ms back-off`);
});

it('refuses a join beyond MAX_CHANNELS_PER_CLIENT with ChannelRateLimitReached (§3.6, §8)', async () => {
  const s = await RawSocket.connect(server, { vsn: '2.0.0' });
  try {
    for (let i = 0; i < 6; i++) {
      const { reply } = await s.join(`realtime:${uniqueName('limit')}`);
      assert.equal(reply.payload.status, 'ok', `join ${i + 1}`);
    }
    const { reply } = await s.join(`realtime:${uniqueName('limit')}`);
    assert.deepEqual(reply.payload, { status: 'error', response: { reason: 'ChannelRateLimitReached: Too many channels' } });
  } finally {
    s.terminate();
  }
});
