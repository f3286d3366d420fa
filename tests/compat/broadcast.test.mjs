// Broadcast through the pinned realtime-js against the real server (spec §7.1): delivery to
// every member on both serializers (kind 3 → kind 4 for 2.0.0, JSON for 1.0.0), `self` and
// `ack`, binary payloads (not to 1.0.0 members), the sender's order over 10,000 messages, the
// payload size limit. Private channels: private_channels.test.mjs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, uniqueName, VSNS } from './lib/client.mjs';
import { waitUntil, show } from './lib/wait.mjs';

let server;
const clients = [];

before(async () => {
  // No tenant events limit here: the ordering runs send 10,000 messages (the limit has its own suite).
  server = await Walcast.start({ CHANNEL_ERROR_BACKOFF_MS: '0', TENANT_MAX_EVENTS_PER_SECOND: '0' });
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

async function client(vsn) {
  const c = await makeClient(server, { vsn });
  clients.push(c);
  return c;
}

/// A joined channel on `name` whose broadcast callbacks record into `got` (arrival order).
async function member(vsn, name, broadcast = {}, event = '*') {
  const c = await client(vsn);
  const channel = c.channel(name, { config: { broadcast } });
  const got = [];
  channel.on('broadcast', { event }, (m) => got.push(m));
  const status = await new Promise((resolve) => channel.subscribe((s, err) => {
    if (s !== 'SUBSCRIBED' && s !== 'CHANNEL_ERROR' && s !== 'TIMED_OUT') return;
    resolve({ s, err: err?.message });
  }));
  return { client: c, channel, got, status };
}

function waitGot(m, n, what) {
  return waitUntil(() => m.got.length >= n, { what, dump: () => m.got.slice(-5) });
}

for (const senderVsn of VSNS) {
  describe(`a ${senderVsn} sender`, () => {
    it('reaches 1.0.0 and 2.0.0 members with the payload as sent; not itself without self; ack after the fan-out', async () => {
      const name = uniqueName('bc');
      const sender = await member(senderVsn, name, { ack: true });
      const r1 = await member('1.0.0', name);
      const r2 = await member('2.0.0', name);
      for (const m of [sender, r1, r2]) assert.equal(m.status.s, 'SUBSCRIBED', show(m.status));
      const res = await sender.channel.send({ type: 'broadcast', event: 'cursor', payload: { x: 1, s: 'é' } });
      assert.equal(res, 'ok');
      await waitGot(r1, 1, '1.0.0 member');
      await waitGot(r2, 1, '2.0.0 member');
      for (const m of [r1, r2]) {
        assert.equal(m.got.length, 1, show(m.got));
        assert.equal(m.got[0].type, 'broadcast');
        assert.equal(m.got[0].event, 'cursor');
        assert.deepEqual(m.got[0].payload, { x: 1, s: 'é' });
      }
      // The ack is queued on the sender's socket after the fan-out: had the sender been a
      // recipient, its copy would have arrived before the ack.
      assert.deepEqual(sender.got, []);
    });

    it('with self receives its own broadcast before the ack resolves send()', async () => {
      const name = uniqueName('self');
      const sender = await member(senderVsn, name, { self: true, ack: true });
      const res = await sender.channel.send({ type: 'broadcast', event: 'e', payload: { n: 7 } });
      assert.equal(res, 'ok');
      assert.equal(sender.got.length, 1, show(sender.got));
      assert.deepEqual([sender.got[0].event, sender.got[0].payload], ['e', { n: 7 }]);
    });

    it('answers an oversized payload with ack: send() resolves "error" and nobody receives it', async () => {
      const name = uniqueName('big');
      const sender = await member(senderVsn, name, { ack: true });
      const other = await member('2.0.0', name);
      const res = await sender.channel.send({ type: 'broadcast', event: 'big', payload: { b: 'x'.repeat(3_001_000) } });
      assert.equal(res, 'error');
      assert.equal(await sender.channel.send({ type: 'broadcast', event: 'small', payload: {} }), 'ok');
      await waitGot(other, 1, 'the small message');
      assert.deepEqual(other.got.map((m) => m.event), ['small']);
    });
  });
}

describe('binary payloads (2.0.0 sender)', () => {
  it('reach 2.0.0 members byte for byte and are not delivered to 1.0.0 members', async () => {
    const name = uniqueName('bin');
    const sender = await member('2.0.0', name, { ack: true });
    const r1 = await member('1.0.0', name);
    const r2 = await member('2.0.0', name);
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    assert.equal(await sender.channel.send({ type: 'broadcast', event: 'bin', payload: bytes.buffer }), 'ok');
    // Same sender, same order: the JSON message after it reaching the 1.0.0 member proves the
    // binary one was withheld, not late.
    assert.equal(await sender.channel.send({ type: 'broadcast', event: 'json', payload: { after: true } }), 'ok');
    await waitGot(r2, 2, '2.0.0 member');
    await waitGot(r1, 1, '1.0.0 member');
    assert.equal(r2.got[0].event, 'bin');
    assert.ok(r2.got[0].payload instanceof ArrayBuffer, show(r2.got[0]));
    assert.deepEqual([...new Uint8Array(r2.got[0].payload)], [...bytes]);
    assert.deepEqual(r2.got[1].payload, { after: true });
    assert.deepEqual(r1.got.map((m) => m.event), ['json']);
  });
});

describe('ordering', () => {
  for (const vsn of VSNS) {
    it(`delivers 10,000 messages from one ${vsn} sender in the order sent`, async () => {
      const name = uniqueName('order');
      const sender = await member(vsn, name);
      const r = await member('2.0.0', name);
      const N = 10_000;
      for (let i = 0; i < N; i++) await sender.channel.send({ type: 'broadcast', event: 'seq', payload: { i } });
      await waitUntil(() => r.got.length >= N, { what: `${N} messages`, timeoutMs: 60_000, dump: () => ({ count: r.got.length }) });
      const seqs = r.got.map((m) => m.payload.i);
      const firstBad = seqs.findIndex((v, i) => v !== i);
      assert.equal(firstBad, -1, `out of order at ${firstBad}: ${show(seqs.slice(Math.max(0, firstBad - 2), firstBad + 3))}`);
      assert.equal(seqs.length, N);
    });
  }
});

describe('channels', () => {
  it('keep topics apart: a broadcast reaches only members of its own topic', async () => {
    const a = uniqueName('ta');
    const sender = await member('2.0.0', a, { ack: true });
    const same = await member('1.0.0', a);
    const other = await member('2.0.0', uniqueName('tb'), { ack: true });
    assert.equal(await sender.channel.send({ type: 'broadcast', event: 'e', payload: { t: 'a' } }), 'ok');
    await waitGot(same, 1, 'the same topic');
    assert.equal(await other.channel.send({ type: 'broadcast', event: 'probe', payload: {} }), 'ok');
    assert.deepEqual(other.got, []);
  });
});
