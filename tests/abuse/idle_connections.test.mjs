// Issue 11, defect 4: idle and half-sent connections must not exhaust the server's file
// descriptors. Requests have a read timeout (408), connections that have not completed an
// upgrade are capped (the oldest gets 503), RLIMIT_NOFILE is raised to its hard limit at start,
// and when accept(2) fails with EMFILE the accept loop backs off (logged, counted) instead of
// spinning — while a normal client keeps receiving every change in order.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

import { Walcast } from '../compat/lib/server.mjs';
import { waitUntil, withDeadline } from '../compat/lib/wait.mjs';
import { WireSocket, cpuSeconds, halfSentRequest } from './lib/wire.mjs';
import { Probe, createProbeTable } from './lib/probe.mjs';

const openFds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

async function healthz(server, timeoutMs) {
  return withDeadline(fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) }),
    { what: 'GET /healthz', timeoutMs: timeoutMs + 1000 });
}

it('closes half-sent requests at the read timeout and the oldest past the pending cap, serving /healthz and a normal client throughout', async () => {
  const HALF_SENT = 500;
  const server = await Walcast.start({
    WALCAST_WRAPPER: 'prlimit --nofile=400:400 --',
    HTTP_REQUEST_TIMEOUT_MS: 2000,
    MAX_PENDING_CONNECTIONS: 100,
  });
  const sockets = [];
  let probe;
  try {
    await createProbeTable(server, 'idle_probe');
    probe = await Probe.start(server, 'idle_probe');
    const baseline = await probe.measure(20);
    const fds0 = openFds(server.pid);
    const m0 = await server.metrics();

    for (let i = 0; i < HALF_SENT; ++i) sockets.push(await halfSentRequest(server.port));
    // Every one of them got an answer (503 for the evicted, 408 at the timeout) and was closed.
    const h = await healthz(server, 3000);
    assert.equal(h.status, 200, 'GET /healthz during 500 half-sent requests');
    // The idle close is announced, so a client does not reuse a connection the server is closing.
    assert.equal(h.headers.get('keep-alive'), 'timeout=2');
    const during = await probe.measure(20);
    await waitUntil(() => sockets.every((s) => s.closedByServer), {
      what: 'every half-sent request to be closed by the server', timeoutMs: 20_000,
      dump: () => `${sockets.filter((s) => !s.closedByServer).length} still open`,
    });
    const statuses = sockets.map((s) => /^HTTP\/1\.1 (\d+)/.exec(s.received)?.[1]);
    assert.ok(statuses.every((st) => st === '408' || st === '503'), `answers: ${[...new Set(statuses)]}`);
    assert.ok(statuses.includes('503') && statuses.includes('408'), 'expected both the cap (503) and the timeout (408)');
    const timedOut = sockets.find((s) => s.received.startsWith('HTTP/1.1 408'));
    assert.match(timedOut.received, /HTTP_REQUEST_TIMEOUT_MS/);
    // Descriptors freed: back to where they were (the probe and Postgres connections).
    await waitUntil(() => openFds(server.pid) <= fds0 + 5, {
      what: 'the server\'s descriptors to return to the baseline', timeoutMs: 10_000, dump: () => ({ fds0, now: openFds(server.pid) }),
    });
    const m1 = await server.metrics();
    const delta = (k) => m1.get(k) - m0.get(k);
    // (+ the test's own kept-alive /healthz and /metrics connections, closed when idle)
    const closedIdle = delta('walcast_http_request_timeouts_total') + delta('walcast_http_pending_evicted_total');
    assert.ok(closedIdle >= HALF_SENT && closedIdle <= HALF_SENT + 4, `${closedIdle} counted as timed out or evicted`);
    assert.equal(m1.get('walcast_http_pending_connections'), 1, 'pending connections other than the /metrics request itself');
    probe.assertInOrder(assert);
    console.log(`normal client commit→delivery: p50 ${baseline.p50.toFixed(1)} / p99 ${baseline.p99.toFixed(1)} ms alone, ` +
      `p50 ${during.p50.toFixed(1)} / p99 ${during.p99.toFixed(1)} ms with ${HALF_SENT} half-sent requests`);
    assert.ok(during.p99 <= 10 * baseline.p99 + 200, `the normal client's p99 went from ${baseline.p99} to ${during.p99} ms`);
  } finally {
    for (const s of sockets) s.destroy();
    await probe?.stop();
    await server.stop();
  }
});

it('backs off, logs and counts when accept runs out of descriptors, and accepts again once they are freed', async () => {
  const server = await Walcast.start({ WALCAST_WRAPPER: 'prlimit --nofile=200:200 --' });
  const hostile = [];
  let probe;
  let stuck;
  try {
    await createProbeTable(server, 'emfile_probe');
    probe = await Probe.start(server, 'emfile_probe');
    const baseline = await probe.measure(20);
    // Upgraded WebSockets (the anon key is public) until the server cannot accept another.
    for (let i = 0; i < 400 && !stuck; ++i) {
      const s = await WireSocket.connect(server);
      try {
        await s.upgrade(`/socket/websocket?apikey=${server.anonKey}&vsn=2.0.0`, { timeoutMs: 2000 });
        hostile.push(s);
      } catch {
        stuck = s; // connected (listen backlog) but not accepted: out of descriptors
      }
    }
    assert.ok(stuck, `the server accepted ${hostile.length} connections under a 200-descriptor limit`);
    // While out of descriptors the server must not spin: CPU time over a 2 s window.
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    const during = await probe.measure(20);
    await waitUntil(() => performance.now() - t0 >= 2000, { what: 'a 2 s measuring window', intervalMs: 100 });
    const cpuShare = (cpuSeconds(server.pid) - cpu0) / ((performance.now() - t0) / 1000);
    assert.ok(cpuShare < 0.25, `the server used ${(cpuShare * 100).toFixed(0)} % CPU while out of descriptors (spinning)`);
    probe.assertInOrder(assert);
    console.log(`normal client commit→delivery: p50 ${baseline.p50.toFixed(1)} / p99 ${baseline.p99.toFixed(1)} ms alone, ` +
      `p50 ${during.p50.toFixed(1)} / p99 ${during.p99.toFixed(1)} ms with descriptors exhausted; server CPU ${(cpuShare * 100).toFixed(0)} %`);
    assert.ok(during.p99 <= 10 * baseline.p99 + 200, `the normal client's p99 went from ${baseline.p99} to ${during.p99} ms`);
    assert.match(server.log(), /cannot accept connections: .*Raise the open files limit/);

    // Freed descriptors: the connection waiting in the backlog is accepted and upgraded.
    for (const s of hostile) s.destroy();
    await waitUntil(() => stuck.head || stuck.closed, { what: 'the waiting upgrade to be answered', timeoutMs: 10_000 });
    assert.match(stuck.head ?? '', /^HTTP\/1\.1 101/);
    assert.equal((await healthz(server, 3000)).status, 200);
    const m = await server.metrics();
    assert.ok(m.get('walcast_accept_descriptors_exhausted_total') > 0, 'walcast_accept_descriptors_exhausted_total not counted');
  } finally {
    for (const s of hostile) s.destroy();
    stuck?.destroy();
    await probe?.stop();
    await server.stop();
  }
});

it('raises the open files limit to its hard limit at start', async () => {
  const server = await Walcast.start({ WALCAST_WRAPPER: 'prlimit --nofile=256:4096 --' });
  try {
    const line = readFileSync(`/proc/${server.pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    assert.match(line, /Max open files\s+4096\s+4096/);
    assert.match(server.log(), /RLIMIT_NOFILE\) raised from 256 to its hard limit 4096/);
  } finally {
    await server.stop();
  }
});
