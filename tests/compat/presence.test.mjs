// Presence through the pinned realtime-js against the real server (spec §7.2): presenceState()
// across five clients on both serializers, join/leave events, untrack, and the leave of a
// socket that is killed without a goodbye.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, uniqueName } from './lib/client.mjs';
import { waitUntil, show } from './lib/wait.mjs';

let server;
const clients = [];

before(async () => { server = await Walcast.start({ CHANNEL_ERROR_BACKOFF_MS: '0' }); });
after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

async function presenceMember(name, key, vsn) {
  const c = await makeClient(server, { vsn });
  clients.push(c);
  const channel = c.channel(name, { config: { presence: { key } } });
  const events = [];
  channel.on('presence', { event: 'join' }, (e) => events.push(['join', e.key]));
  channel.on('presence', { event: 'leave' }, (e) => events.push(['leave', e.key]));
  await new Promise((resolve, reject) => channel.subscribe((s, err) => {
    if (s === 'SUBSCRIBED') resolve();
    else if (s !== 'CLOSED') reject(new Error(`${s} ${err?.message ?? ''}`));
  }));
  return { client: c, channel, events, key };
}

const keysOf = (m) => Object.keys(m.channel.presenceState()).sort();

describe('presence', () => {
  it('five clients see each other in presenceState(); untrack and a killed socket leave', async () => {
    const name = uniqueName('room');
    const members = [];
    for (let i = 0; i < 5; i++) members.push(await presenceMember(name, `u${i}`, i % 2 ? '1.0.0' : '2.0.0'));
    for (const m of members) assert.equal(await m.channel.track({ i: Number(m.key.slice(1)) }), 'ok');
    const all = ['u0', 'u1', 'u2', 'u3', 'u4'];
    for (const m of members) {
      await waitUntil(() => keysOf(m).length === 5, { what: `${m.key} sees 5 keys`, dump: () => keysOf(m) });
      assert.deepEqual(keysOf(m), all);
      assert.deepEqual(m.channel.presenceState().u3.map((p) => p.i), [3]);
      assert.equal(typeof m.channel.presenceState().u3[0].presence_ref, 'string');
    }
    // untrack: u4 leaves everyone's state.
    assert.equal(await members[4].channel.untrack(), 'ok');
    for (const m of members.slice(0, 4)) await waitUntil(() => !keysOf(m).includes('u4'), { what: `${m.key}: u4 gone`, dump: () => keysOf(m) });
    // A killed socket (no phx_leave, no close frame from the client's side reaching us first).
    members[3].client.conn?.terminate?.() ?? members[3].client.disconnect();
    for (const m of members.slice(0, 3)) {
      await waitUntil(() => !keysOf(m).includes('u3'), { what: `${m.key}: u3 gone`, dump: () => keysOf(m) });
      assert.deepEqual(keysOf(m), ['u0', 'u1', 'u2']);
      assert.ok(m.events.some(([e, k]) => e === 'leave' && k === 'u3'), show(m.events));
    }
  });

  it('answers a track whose payload is not an object with an error', async () => {
    const m = await presenceMember(uniqueName('bad'), 'k', '2.0.0');
    const res = await m.channel.send({ type: 'presence', event: 'track', payload: 5 });
    assert.equal(res, 'error');
  });
});
