// Issue 11, defect 1: a socket sending pings without reading any pong. Every byte the server
// queues for a client counts against its limits and control frames are coalesced (one pending
// pong), so the flood costs the server no memory, the flooder is answered with the most recent
// ping's payload when it reads again, and a normal client keeps receiving every change in order.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from '../compat/lib/server.mjs';
import { waitUntil } from '../compat/lib/wait.mjs';
import { WireSocket, clientFrame, pingBatch, OP, rssBytes } from './lib/wire.mjs';
import { Probe, createProbeTable } from './lib/probe.mjs';

/// Bytes of pings the flooder writes: more than the default hard limit (32 MiB), so that
/// pongs queued one per ping would reach it.
const FLOOD_BYTES = 48 << 20;
/// The server's resident memory may grow by at most this much during the flood.
const RSS_CEILING_BYTES = 16 << 20;
const PINGS_PER_WRITE = 1000;

let server;
let probe;

before(async () => {
  // A small ASan quarantine so that resident memory follows live memory.
  server = await Walcast.start({ ASAN_OPTIONS: 'quarantine_size_mb=4:detect_leaks=0' });
  await createProbeTable(server, 'ping_probe');
  probe = await Probe.start(server, 'ping_probe');
});

after(async () => {
  await probe?.stop();
  await server?.stop();
});

/// A ping payload of 125 bytes carrying sequence number n.
const pingPayload = (n) => `ping-${n}`.padEnd(125, '.');

it('answers a ping flood from a socket that does not read with one coalesced pong, without growing memory', async () => {
  const baseline = await probe.measure(20);
  const flooder = await WireSocket.connect(server);
  await flooder.upgrade(`/socket/websocket?apikey=${server.anonKey}&vsn=2.0.0`);
  flooder.pause(); // reads nothing from now on: every pong stays with the server or the kernel
  const rss0 = rssBytes(server.pid);
  let rssMax = rss0;

  // Floods until FLOOD_BYTES are out and the normal client has been measured meanwhile.
  let sent = 0;
  let measured = false;
  const flood = (async () => {
    const frameBytes = clientFrame(OP.ping, pingPayload(0)).length;
    while (sent * frameBytes < FLOOD_BYTES || !measured) {
      const batch = pingBatch(sent + 1, PINGS_PER_WRITE);
      sent += PINGS_PER_WRITE;
      rssMax = Math.max(rssMax, rssBytes(server.pid));
      try {
        await flooder.write(batch);
      } catch {
        return; // cut off: asserted below
      }
    }
  })();
  const during = await probe.measure(20);
  measured = true;
  await flood;
  // The last ping has been processed once a ping sent after it is answered; read again.
  const last = sent + 1;
  await flooder.write(clientFrame(OP.ping, pingPayload(last))).catch(() => {});
  flooder.resume();
  await waitUntil(() => {
    rssMax = Math.max(rssMax, rssBytes(server.pid));
    return flooder.frames.some((f) => f.opcode === OP.pong && f.payload.toString() === pingPayload(last)) || flooder.closed;
  }, { what: `the pong of ping ${last}`, timeoutMs: 60_000, dump: () => ({ frames: flooder.frames.length, close: flooder.closeFrame() }) });

  const grownMiB = ((rssMax - rss0) / 1048576).toFixed(1);
  assert.equal(flooder.closeFrame(), undefined, `the flooder was cut off (its pongs were queued one per ping); RSS +${grownMiB} MiB`);
  assert.ok(!flooder.closed, `the flooder was disconnected after ${sent} pings (its pongs were queued one per ping); RSS +${grownMiB} MiB`);
  const pongs = flooder.frames.filter((f) => f.opcode === OP.pong);
  assert.ok(pongs.length < last, `${pongs.length} pongs for ${last} pings: nothing was coalesced`);
  // Pongs answer pings in order: the sequence numbers received only increase.
  const seqs = pongs.map((f) => Number(/^ping-(\d+)/.exec(f.payload.toString())[1]));
  assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), 'pongs out of order');
  assert.ok(rssMax - rss0 <= RSS_CEILING_BYTES,
    `the server's RSS grew by ${((rssMax - rss0) / 1048576).toFixed(1)} MiB during a ${FLOOD_BYTES >> 20} MiB ping flood (ceiling ${RSS_CEILING_BYTES >> 20} MiB)`);

  probe.assertInOrder(assert);
  console.log(`normal client commit→delivery: p50 ${baseline.p50.toFixed(1)} / p99 ${baseline.p99.toFixed(1)} ms alone, ` +
    `p50 ${during.p50.toFixed(1)} / p99 ${during.p99.toFixed(1)} ms during the flood; RSS +${((rssMax - rss0) / 1048576).toFixed(1)} MiB`);
  assert.ok(during.p99 <= 10 * baseline.p99 + 200, `the normal client's p99 went from ${baseline.p99} ms to ${during.p99} ms during the flood`);
  flooder.destroy();
});
