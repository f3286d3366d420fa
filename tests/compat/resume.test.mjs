// Resume after a restart of walcast itself, with SLOT_NAME: walcast is killed (kill -9) in the
// middle of a write stream; after the restart it holds the slot until the channels that were
// subscribed re-join (realtime-js reconnects by itself), so the changes committed while it was
// down reach them: 0 lost, duplicates (what was handed on but not yet confirmed to Postgres)
// only as one re-sent run, in order. A channel that does not come back is logged and counted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe } from './lib/client.mjs';
import { waitUntil } from './lib/wait.mjs';

const CLIENTS = 3;

/// Inserts seq 1, 2, … one transaction each until stopped; a failed insert (walcast's Postgres
/// restarting) is retried with the same seq. committed: seqs whose COMMIT returned; uncertain:
/// seqs whose outcome is unknown (the connection died during the statement).
function writer(server) {
  const w = { committed: [], uncertain: new Set(), stop: false, next: 1 };
  w.done = (async () => {
    while (!w.stop) {
      const seq = w.next;
      try {
        await server.sql('INSERT INTO seqs VALUES ($1) ON CONFLICT DO NOTHING', [seq]);
        w.uncertain.delete(seq);
        w.committed.push(seq);
        w.next += 1;
      } catch {
        w.uncertain.add(seq); // retried; ON CONFLICT keeps it one row
        await new Promise((r) => setTimeout(r, 20)); // retry pacing of a failing writer, not synchronisation
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  return w;
}

/// How many channels walcast's registry (STATE_DIR/channels-<slot>.json) holds; -1 before it exists.
function recorded(server, slot) {
  try {
    return JSON.parse(readFileSync(join(server.stateDir, `channels-${slot}.json`), 'utf8')).length;
  } catch {
    return -1;
  }
}

describe('resume after kill -9 with SLOT_NAME', () => {
  let server;
  const clients = [];
  before(async () => {
    server = await Walcast.start({ SLOT_NAME: 'resume_slot', RESUME_GRACE_MS: 30000 });
    await server.sql('CREATE TABLE public.seqs (seq int PRIMARY KEY); GRANT SELECT ON public.seqs TO anon');
  });
  after(async () => {
    for (const c of clients) await c.disconnect();
    await server?.stop();
  });

  it('channels that re-join within the grace period lose nothing; duplicates are one in-order run', async () => {
    const subs = [];
    for (let i = 0; i < CLIENTS; ++i) {
      const c = await makeClient(server);
      clients.push(c);
      subs.push(await subscribe(c, { ins: { event: 'INSERT', schema: 'public', table: 'seqs' } }));
    }
    const port = server.port;
    const w = writer(server);
    await waitUntil(() => subs.every((s) => s.of('ins').length >= 200), { what: '200 rows before the kill' });
    await waitUntil(() => recorded(server, 'resume_slot') === CLIENTS, { what: 'the registry to record the channels' });
    await server.kill9();
    const atKill = w.committed.length;
    await waitUntil(() => w.committed.length >= atKill + 300, { what: '300 rows written while walcast is down' });
    await server.restart({ env: { PORT: port }, waitReady: false });
    await waitUntil(async () => (await fetch(`${server.httpUrl}/healthz`)).status === 200,
      { what: 'the stream to resume', timeoutMs: 60_000 });
    await waitUntil(() => w.committed.length >= atKill + 600, { what: '300 rows after the restart' });
    w.stop = true;
    await w.done;
    const last = w.committed.at(-1);
    for (const s of subs) {
      await s.waitFor((x) => x.of('ins').some((e) => e.payload.new.seq === last), `seq ${last}`, 60_000);
      const got = s.of('ins').map((e) => e.payload.new.seq);
      const seen = new Set(got);
      const lost = w.committed.filter((q) => !seen.has(q));
      assert.deepEqual(lost, [], `lost on ${s.name}`);
      for (const q of seen) assert.ok(w.committed.includes(q) || w.uncertain.has(q), `unexpected seq ${q}`);
      // In order, except one re-sent run: at most one point where the sequence steps back.
      let rewinds = 0;
      for (let i = 1; i < got.length; ++i) if (got[i] <= got[i - 1]) rewinds += 1;
      const dups = got.length - seen.size;
      assert.ok(rewinds <= 1, `at most one re-sent run on ${s.name} (rewinds ${rewinds})`);
      assert.ok(dups <= 1000, `duplicates bounded on ${s.name}: ${dups}`);
    }
    assert.match(server.log(), /resuming replication slot resume_slot: holding it until the 3 channel\(s\)/);
    assert.equal((await server.metrics()).get('walcast_resume_missed_channels_total'), 0);
  });
});

describe('resume after kill -9: a channel that does not come back', () => {
  let server;
  const clients = [];
  before(async () => {
    server = await Walcast.start({ SLOT_NAME: 'resume_slot2', RESUME_GRACE_MS: 5000 });
    await server.sql('CREATE TABLE public.seqs2 (seq int PRIMARY KEY); GRANT SELECT ON public.seqs2 TO anon');
  });
  after(async () => {
    for (const c of clients) await c.disconnect();
    await server?.stop();
  });

  it('is held for at most RESUME_GRACE_MS, then logged and counted; the channel that re-joined loses nothing', async () => {
    // Re-connecting every 200 ms: the returning channel is back long before the grace ends.
    const back = await makeClient(server, { reconnectAfterMs: () => 200 });
    const gone = await makeClient(server, { reconnectAfterMs: () => 200 });
    clients.push(back, gone);
    const stays = await subscribe(back, { ins: { event: 'INSERT', schema: 'public', table: 'seqs2' } });
    const leaves = await subscribe(gone, { ins: { event: 'INSERT', schema: 'public', table: 'seqs2' } },
      { name: 'leaves-for-good' });
    await server.sql('INSERT INTO seqs2 VALUES (1)');
    await stays.waitFor((x) => x.of('ins').length === 1, 'row 1');
    await leaves.waitFor((x) => x.of('ins').length === 1, 'row 1');
    // The registry is written within 100 ms of a join: wait until it holds both channels.
    await waitUntil(() => recorded(server, 'resume_slot2') === 2, { what: 'the registry to record both channels' });
    const port = server.port;
    await server.kill9();
    await gone.disconnect(); // this client never comes back
    for (let seq = 2; seq <= 40; ++seq) await server.sql('INSERT INTO seqs2 VALUES ($1)', [seq]);
    // While the slot is held /healthz says so (polled on the fixed port during the restart).
    let held = null;
    const poll = (async () => {
      await waitUntil(async () => {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/healthz`);
          if (r.status === 503) {
            const body = await r.text();
            if (body.includes('holding replication slot resume_slot2')) held = body;
          }
        } catch { /* not listening yet */ }
        return held !== null;
      }, { what: '/healthz 503 "holding replication slot" during the hold', timeoutMs: 60_000 });
    })();
    const restartedAt = Date.now();
    await server.restart({ env: { PORT: port }, waitReady: false });
    await poll;
    assert.match(held, /until [12] channel\(s\) subscribed before the restart re-join \(at most RESUME_GRACE_MS=5000 ms\)/);
    await waitUntil(async () => (await fetch(`${server.httpUrl}/healthz`)).status === 200, { what: 'the stream to resume', timeoutMs: 60_000 });
    assert.ok(Date.now() - restartedAt >= 4000, 'the slot was held for the grace period');
    await stays.waitFor((x) => x.of('ins').some((e) => e.payload.new.seq === 40), 'seq 40', 60_000);
    const got = new Set(stays.of('ins').map((e) => e.payload.new.seq));
    assert.deepEqual(Array.from({ length: 40 }, (_, i) => i + 1).filter((q) => !got.has(q)), [], 'lost on the re-joined channel');
    assert.match(server.log(), /channel realtime:leaves-for-good \(role anon; public\.seqs2\) was subscribed before the restart and did not re-join within RESUME_GRACE_MS=5000 ms/);
    assert.match(server.log(), /resuming replication slot resume_slot2: 1 channel\(s\) re-joined, 1 did not/);
    assert.equal((await server.metrics()).get('walcast_resume_missed_channels_total'), 1);
  });
});

describe('the embedded default', () => {
  let server;
  let client;
  before(async () => {
    server = await Walcast.start();
    await server.sql('CREATE TABLE public.seqs3 (seq int PRIMARY KEY); GRANT SELECT ON public.seqs3 TO anon');
  });
  after(async () => {
    await client?.disconnect();
    await server?.stop();
  });

  it('streams from the permanent slot walcast, so a kill -9 and restart lose nothing', async () => {
    assert.match(server.log(), /from permanent slot walcast/);
    client = await makeClient(server, { reconnectAfterMs: () => 200 });
    const s = await subscribe(client, { ins: { event: 'INSERT', schema: 'public', table: 'seqs3' } });
    await server.sql('INSERT INTO seqs3 VALUES (1)');
    await s.waitFor((x) => x.of('ins').length === 1, 'row 1');
    await waitUntil(() => recorded(server, 'walcast') === 1, { what: 'the registry to record the channel' });
    const port = server.port;
    await server.kill9();
    for (let seq = 2; seq <= 30; ++seq) await server.sql('INSERT INTO seqs3 VALUES ($1)', [seq]);
    await server.restart({ env: { PORT: port }, waitReady: false });
    await s.waitFor((x) => x.of('ins').some((e) => e.payload.new.seq === 30), 'seq 30 after the restart', 60_000);
    const got = new Set(s.of('ins').map((e) => e.payload.new.seq));
    assert.deepEqual(Array.from({ length: 30 }, (_, i) => i + 1).filter((q) => !got.has(q)), [], 'lost');
    assert.doesNotMatch(server.log(), /did not re-join/);
  });
});
