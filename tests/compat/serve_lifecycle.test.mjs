// `walcast serve` against a database that is down: it says "ready" only when the replication
// stream is up (the banner says "not ready" and /healthz answers 503 meanwhile), and SIGTERM
// stops it within a second even while it is retrying the connection.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

import { walcastBin } from './lib/server.mjs';
import { TEST_SECRET } from './lib/tokens.mjs';
import { waitUntil, WaitAborted } from './lib/wait.mjs';

/// A TCP port nothing listens on (bound, then released).
async function closedPort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function startAgainstDownDatabase() {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp' };
  Object.assign(env, {
    DATABASE_URL: `postgresql://postgres@127.0.0.1:${await closedPort()}/postgres`,
    PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'info',
  });
  const child = spawn(walcastBin(), ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const w = { child, out: '', err: '', exited: null, exitedAt: 0 };
  child.stdout.setEncoding('utf8').on('data', (d) => { w.out += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { w.err += d; });
  child.on('exit', (code, signal) => { w.exited = { code, signal }; w.exitedAt = Date.now(); });
  process.once('exit', () => { if (!w.exited) child.kill('SIGKILL'); });
  return w;
}

async function sigtermTakes(w) {
  const sentAt = Date.now();
  w.child.kill('SIGTERM');
  await waitUntil(() => w.exited, { what: 'walcast to exit after SIGTERM', timeoutMs: 15_000,
    dump: () => w.err.slice(-2000) });
  return w.exitedAt - sentAt;
}

it('stops within a second of SIGTERM while the replication stream is retrying', async () => {
  const w = await startAgainstDownDatabase();
  await waitUntil(() => {
    if (w.exited) throw new WaitAborted(`walcast exited: ${JSON.stringify(w.exited)}`);
    return w.err.includes('replication stream down');
  }, { what: 'a failed connection attempt in the log', timeoutMs: 15_000, dump: () => w.err });
  const ms = await sigtermTakes(w);
  assert.ok(ms < 1000, `took ${ms} ms`);
  assert.deepEqual(w.exited, { code: 0, signal: null });
  assert.ok(!w.out.includes('is ready'), w.out);
});

it('says "not ready" and answers /healthz 503 while the database is down', async () => {
  const w = await startAgainstDownDatabase();
  await waitUntil(() => {
    if (w.exited) throw new WaitAborted(`walcast exited: ${JSON.stringify(w.exited)}`);
    return w.out.includes('Press Ctrl+C to stop.');
  }, { what: 'the banner', timeoutMs: 30_000, dump: () => w.out + w.err });
  assert.match(w.out, /is listening, but not ready: the replication stream is down/);
  assert.ok(!w.out.includes('is ready'), w.out);
  const health = /Health: (http:\/\/\S+\/healthz)/.exec(w.out);
  assert.ok(health, w.out);
  const r = await fetch(health[1]);
  assert.equal(r.status, 503);
  assert.equal((await r.json()).status, 'unavailable');
  const ms = await sigtermTakes(w);
  assert.ok(ms < 1000, `took ${ms} ms`);
});
