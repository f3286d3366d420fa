// Subscribers are told of a gap in the change stream: on a temporary slot (no SLOT_NAME with an
// external database; here the embedded one with SLOT_TEMPORARY=true) every reconnect loses what was committed meanwhile, so each channel with Postgres Changes
// gets one `system` message (extension postgres_changes, status error) saying between which
// times changes may be missing and why, before any change streamed after it; /healthz reports
// the last gap. With SLOT_NAME the same reconnect loses nothing and says nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, news } from './lib/client.mjs';
import { waitUntil } from './lib/wait.mjs';

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
const GAP = new RegExp(`^changes committed between (${ISO}) and (${ISO}) may be missing: ` +
  'the replication stream was down and walcast runs without SLOT_NAME .*set SLOT_NAME to keep them.*Refetch');

async function terminateWalsender(server) {
  const [{ n }] = await server.sql(
    "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE backend_type = 'walsender'");
  assert.ok(n >= 1, 'no walsender to terminate');
}

async function streamUpAgain(server) {
  // Down first (the walsender is gone), then up on a new connection.
  await waitUntil(async () => (await fetch(`${server.httpUrl}/healthz`)).status === 200,
    { what: '/healthz 200 after the reconnect', timeoutMs: 20_000 });
}

describe('without SLOT_NAME: a reconnect is a gap, told to each channel', () => {
  let server;
  let client;
  before(async () => {
    server = await Walcast.start({ SLOT_TEMPORARY: 'true' });
    await server.sql(`CREATE TABLE public.gap_items (id int PRIMARY KEY, seq int);
      GRANT SELECT ON public.gap_items TO anon, authenticated`);
    client = await makeClient(server);
  });
  after(async () => {
    await client?.disconnect();
    await server?.stop();
  });

  it('each channel gets one gap system message with both times, then the changes after it', async () => {
    const a = await subscribe(client, { ins: { event: 'INSERT', schema: 'public', table: 'gap_items' } });
    const b = await subscribe(client, { all: { event: '*', schema: 'public', table: 'gap_items' } });
    await server.sql('INSERT INTO gap_items VALUES (1, 1)');
    await a.waitCount('ins', 1);
    await b.waitCount('all', 1);
    const before = Date.now();
    await terminateWalsender(server);
    // Written while (or just after) the stream is down: may be missing; the gap says so.
    await server.sql('INSERT INTO gap_items VALUES (2, 2)');
    for (const s of [a, b]) {
      await s.waitSystem((m) => m.status === 'error' && /may be missing/.test(m.message), 'the gap message', 20_000);
    }
    await streamUpAgain(server);
    await server.sql('INSERT INTO gap_items VALUES (3, 3)');
    await a.waitFor((s) => news(s.of('ins')).some((r) => r.id === 3), 'row 3');
    for (const s of [a, b]) {
      const gaps = s.systems.filter((m) => /may be missing/.test(m.message));
      assert.equal(gaps.length, 1, `one gap message per channel: ${JSON.stringify(s.systems)}`);
      const [gap] = gaps;
      assert.equal(gap.extension, 'postgres_changes');
      assert.equal(gap.channel, s.name);
      const m = GAP.exec(gap.message);
      assert.ok(m, `gap message: ${gap.message}`);
      const from = Date.parse(m[1]);
      const to = Date.parse(m[2]);
      assert.ok(from <= to, `from ${m[1]} <= to ${m[2]}`);
      // from: the commit of row 1 (the last change handed on) or later; to: after the kill.
      assert.ok(to >= before - 1000, `to ${m[2]} after the walsender was terminated`);
    }
    const health = await (await fetch(`${server.httpUrl}/healthz`)).json();
    assert.equal(health.status, 'ok');
    assert.equal(health.last_gap.open, false);
    assert.match(health.last_gap.message, GAP);
    const metrics = await server.metrics();
    assert.equal(metrics.get('walcast_stream_gaps_total'), 1);
  });
});

describe('with SLOT_NAME: a reconnect loses nothing and tells nothing', () => {
  let server;
  let client;
  before(async () => {
    server = await Walcast.start({ SLOT_NAME: 'gap_test_slot' });
    await server.sql(`CREATE TABLE public.gap_items (id int PRIMARY KEY, seq int);
      GRANT SELECT ON public.gap_items TO anon, authenticated`);
    client = await makeClient(server);
  });
  after(async () => {
    await client?.disconnect();
    await server?.stop();
  });

  it('every row written around the reconnect arrives in order and no gap message is sent', async () => {
    const a = await subscribe(client, { ins: { event: 'INSERT', schema: 'public', table: 'gap_items' } });
    await server.sql('INSERT INTO gap_items VALUES (1, 1)');
    await a.waitCount('ins', 1);
    await terminateWalsender(server);
    await server.sql('INSERT INTO gap_items VALUES (2, 2)');
    await streamUpAgain(server);
    await server.sql('INSERT INTO gap_items VALUES (3, 3)');
    await a.waitCount('ins', 3, 20_000);
    assert.deepEqual(news(a.of('ins')).map((r) => r.id), [1, 2, 3]);
    assert.deepEqual(a.systems.filter((m) => m.status !== 'ok'), []);
    const health = await (await fetch(`${server.httpUrl}/healthz`)).json();
    assert.equal(health.last_gap, undefined);
    assert.equal((await server.metrics()).get('walcast_stream_gaps_total'), 0);
  });
});
