// The tenant rate limits of Broadcast and Presence and the client presence limit, through the
// pinned realtime-js against the real server (spec §7.1.7, §7.2.7): a channel that receives
// while the tenant's events/s average is over TENANT_MAX_EVENTS_PER_SECOND gets `system`
// "Too many messages per second" and is closed, the sender is not; joins past
// TENANT_MAX_PRESENCE_EVENTS_PER_SECOND get "Too many presence messages per second"; a channel
// past CLIENT_PRESENCE_MAX_CALLS gets "Client presence rate limit exceeded". Each limit runs on
// its own server (the tenant counters average over 60 s and would leak between tests).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, uniqueName } from './lib/client.mjs';
import { waitUntil, show } from './lib/wait.mjs';

let events, presence;
const clients = [];

before(async () => {
  [events, presence] = await Promise.all([
    // 2 events/s: ten events in the first 5 s bucket are within the limit.
    Walcast.start({ TENANT_MAX_EVENTS_PER_SECOND: '2' }),
    Walcast.start({ TENANT_MAX_PRESENCE_EVENTS_PER_SECOND: '1', CLIENT_PRESENCE_MAX_CALLS: '2' }),
  ]);
});
after(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all([events?.stop(), presence?.stop()]);
});

/// A channel recording broadcasts, system messages and subscribe statuses.
async function joined(server, name, config = {}) {
  const c = await makeClient(server);
  clients.push(c);
  const channel = c.channel(name, { config });
  const rec = { client: c, channel, got: [], systems: [], statuses: [] };
  channel.on('broadcast', { event: '*' }, (m) => rec.got.push(m.payload.i));
  channel.on('system', {}, (m) => rec.systems.push(m));
  await new Promise((resolve) => channel.subscribe((s) => {
    rec.statuses.push(s);
    if (s !== 'CLOSED') resolve();
  }));
  return rec;
}

describe('tenant events per second', () => {
  it('closes the receiving channel with "Too many messages per second" after it receives past the limit; the sender stays joined', async () => {
    const name = uniqueName('flood');
    const sender = await joined(events, name, { broadcast: { ack: true } });
    const receiver = await joined(events, name);
    for (const m of [sender, receiver]) assert.deepEqual(m.statuses, ['SUBSCRIBED'], show(m.statuses));
    // Each message is 2 events (sent + delivered): the 6th makes 12 events in 5 s, 2.4/s.
    const N = 20;
    for (let i = 0; i < N; i++) assert.equal(await sender.channel.send({ type: 'broadcast', event: 'e', payload: { i } }), 'ok');
    await waitUntil(() => receiver.statuses.includes('CLOSED'), { what: 'the receiver closed', dump: () => receiver });
    assert.equal(receiver.systems.length, 1, show(receiver.systems));
    assert.deepEqual(receiver.systems[0], {
      channel: name, extension: 'system', message: 'Too many messages per second', status: 'error',
    });
    // It received the message that went past the limit, in order, and nothing after its close.
    assert.ok(receiver.got.length >= 1 && receiver.got.length < N, show(receiver.got));
    assert.deepEqual(receiver.got, [...Array(receiver.got.length).keys()]);
    assert.deepEqual(sender.systems, []);
    assert.equal(sender.channel.state, 'joined');
  });
});

describe('presence limits', () => {
  it('closes a channel after CLIENT_PRESENCE_MAX_CALLS presence pushes with "Client presence rate limit exceeded"', async () => {
    const m = await joined(presence, uniqueName('calls'), { presence: { key: 'k' } });
    assert.equal(await m.channel.track({ n: 1 }), 'ok');
    assert.equal(await m.channel.untrack(), 'ok');
    // The third push in the window: no reply, the channel is closed.
    const third = m.channel.track({ n: 3 }, { timeout: 3000 });
    await waitUntil(() => m.statuses.includes('CLOSED'), { what: 'the channel closed', dump: () => m });
    assert.deepEqual(m.systems.map((s) => [s.extension, s.status, s.message]),
      [['system', 'error', 'Client presence rate limit exceeded']]);
    assert.notEqual(await third, 'ok');
  });

  it('shuts down joins past TENANT_MAX_PRESENCE_EVENTS_PER_SECOND with "Too many presence messages per second"', async () => {
    // Each join with presence enabled sends presence_state: one presence event. At 1/s, and
    // with the average taken over the time since the server started (at least 5 s), 40 joins
    // at once go past the limit whatever time the earlier tests took (well under 40 s).
    const c = await makeClient(presence);
    clients.push(c);
    const ms = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const channel = c.channel(uniqueName(`pj${i}`), { config: { presence: { key: `u${i}`, enabled: true } } });
      const rec = { channel, systems: [], statuses: [], synced: false };
      channel.on('system', {}, (m) => rec.systems.push(m));
      channel.on('presence', { event: 'sync' }, () => { rec.synced = true; });
      await new Promise((resolve) => channel.subscribe((s) => { rec.statuses.push(s); resolve(); }));
      return rec;
    }));
    // Every join settles one way or the other: presence_state (synced) or the system error and
    // phx_close. Joins are answered concurrently, so the split is read only once all have settled.
    const settled = (m) => m.synced || m.statuses.includes('CLOSED');
    await waitUntil(() => ms.every(settled), {
      what: 'every join synced or shut down',
      dump: () => ms.map((m) => ({ statuses: m.statuses, systems: m.systems.length, synced: m.synced })),
    });
    const shut = ms.filter((m) => m.systems.length > 0);
    const open = ms.filter((m) => m.systems.length === 0);
    assert.ok(shut.length >= 1, show(ms.map((m) => m.statuses)));
    assert.ok(open.length >= 1, show(ms.map((m) => m.systems)));
    for (const m of shut) {
      assert.deepEqual(m.systems.map((s) => [s.status, s.message]), [['error', 'Too many presence messages per second']]);
      assert.ok(m.statuses.includes('CLOSED'), show(m.statuses));
      assert.equal(m.synced, false, 'a shut-down join got no presence_state');
    }
    // The joins before the limit got their presence_state and stayed open.
    for (const m of open) {
      assert.equal(m.synced, true, show(m.statuses));
      assert.equal(m.statuses.includes('CLOSED'), false, show(m.statuses));
    }
  });
});
