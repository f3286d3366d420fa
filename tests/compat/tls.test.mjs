// TLS on the listener (TLS_CERT_FILE, TLS_KEY_FILE) with a self-signed certificate made by
// openssl here: the banner's https:// and wss:// URLs, /healthz and /metrics over https,
// realtime-js over wss:// (rows in order), plain ws:// and a client that does not trust the
// certificate refused (and counted) while a TLS client keeps receiving, idle handshakes bound
// by MAX_PENDING_CONNECTIONS and HTTP_REQUEST_TIMEOUT_MS, and the start-up errors.
import { before, after, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

import { Walcast, walcastBin } from './lib/server.mjs';
import { makeClient, subscribe, news } from './lib/client.mjs';
import { waitUntil } from './lib/wait.mjs';

const PENDING = 4;
const TIMEOUT_MS = 3000;

let dir;
let server;
let cert;
let key;
let otherKey;

function openssl(...args) {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'walcast-tls-'));
  chmodSync(dir, 0o755);
  cert = join(dir, 'cert.pem');
  key = join(dir, 'key.pem');
  otherKey = join(dir, 'other-key.pem');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1');
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', otherKey);
  server = await Walcast.start({
    TLS_CERT_FILE: cert, TLS_KEY_FILE: key,
    MAX_PENDING_CONNECTIONS: PENDING, HTTP_REQUEST_TIMEOUT_MS: TIMEOUT_MS,
  });
  await server.sql('create table tls_rows (id bigserial primary key, seq int not null); ' +
    'grant select on tls_rows to anon');
});
after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/// A ws transport for realtime-js that trusts the test certificate.
const trustingTransport = () => class TrustingWebSocket extends WebSocket {
  constructor(url, protocols) { super(url, protocols, { ca: readFileSync(cert) }); }
};

const failures = async () => (await server.metrics()).get('walcast_tls_handshake_failures_total');

async function insertSeqs(from, to) {
  await server.sql('insert into tls_rows (seq) select g from generate_series($1::int, $2::int) g',
    [from, to]);
}

it('prints https:// and wss:// and serves /healthz and /metrics over https', async () => {
  assert.match(server.wsUrl, /^wss:\/\/127\.0\.0\.1:\d+\/socket$/);
  assert.match(server.httpUrl, /^https:\/\//);
  const health = await server.fetch('/healthz');
  assert.equal(health.status, 200, await health.text());
  const m = await server.metrics();
  assert.equal(m.status, 200);
  assert.equal(m.get('walcast_tls_handshake_failures_total'), 0, m.text);
});

it('realtime-js over wss:// receives every row in order', async () => {
  const client = await makeClient(server, { transport: trustingTransport() });
  try {
    const sub = await subscribe(client, { rows: { event: 'INSERT', schema: 'public', table: 'tls_rows' } });
    await insertSeqs(1, 50);
    await waitUntil(() => sub.events.length >= 50, { what: '50 rows over wss://', dump: () => sub.events.length });
    assert.deepEqual(news(sub.events).map((r) => r.seq), Array.from({ length: 50 }, (_, i) => i + 1));
  } finally {
    client.disconnect();
  }
});

/// Resolves with how a WebSocket attempt ended: 'open' or the error's text.
function attempt(url, options = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.on('open', () => { ws.terminate(); resolve('open'); });
    ws.on('error', (e) => resolve(String(e.message || e.code)));
  });
}

it('refuses plain ws:// and an untrusting client, counts them, and a TLS client keeps receiving', async () => {
  const client = await makeClient(server, { transport: trustingTransport() });
  try {
    const sub = await subscribe(client, { rows: { event: 'INSERT', schema: 'public', table: 'tls_rows' } });
    const before = await failures();
    const plainUrl = `${server.wsUrl.replace(/^wss:/, 'ws:')}/websocket?apikey=${server.anonKey}&vsn=2.0.0`;
    const plain = await attempt(plainUrl);
    assert.notEqual(plain, 'open', 'a plain ws:// client was upgraded on the TLS port');
    const untrusting = await attempt(`${server.wsUrl}/websocket?apikey=${server.anonKey}&vsn=2.0.0`);
    assert.match(untrusting, /self[- ]signed|certificate/i, untrusting);
    await waitUntil(async () => (await failures()) === before + 2,
      { what: 'two more walcast_tls_handshake_failures_total', dump: async () => failures() });
    await insertSeqs(101, 120);
    await waitUntil(() => sub.events.length >= 20, { what: '20 rows after the refusals', dump: () => sub.events.length });
    assert.deepEqual(news(sub.events).map((r) => r.seq), Array.from({ length: 20 }, (_, i) => 101 + i));
  } finally {
    client.disconnect();
  }
});

it(`idle handshakes are pending connections: past MAX_PENDING_CONNECTIONS=${PENDING} the oldest is closed at once, the rest at HTTP_REQUEST_TIMEOUT_MS`, async () => {
  const evictedBefore = (await server.metrics()).get('walcast_http_pending_evicted_total');
  const sockets = [];
  for (let i = 0; i <= PENDING; i++) {
    const s = net.connect(server.port, '127.0.0.1');
    const entry = { s, opened: 0, closed: 0 };
    s.on('connect', () => { entry.opened = Date.now(); });
    s.on('error', () => {});
    s.on('close', () => { entry.closed = Date.now(); });
    sockets.push(entry);
    // In order: the first is the oldest when the last arrives.
    await waitUntil(() => entry.opened, { what: `idle connection ${i} to connect` });
    if (i < PENDING) {
      await waitUntil(async () => (await server.metrics()).get('walcast_http_pending_connections') >= i + 1,
        { what: `${i + 1} pending`, dump: async () => (await server.metrics()).text });
    }
  }
  try {
    const lastOpened = sockets[PENDING].opened;
    await waitUntil(() => sockets[0].closed, { what: 'the oldest idle handshake to be evicted' });
    assert.ok(sockets[0].closed - lastOpened < TIMEOUT_MS / 2,
      `evicted ${sockets[0].closed - lastOpened} ms after the connection past the bound`);
    await waitUntil(() => sockets.every((e) => e.closed),
      { what: 'the other idle handshakes to time out', timeoutMs: TIMEOUT_MS + 10_000,
        dump: () => sockets.map((e) => e.closed && e.closed - e.opened) });
    for (const e of sockets.slice(1)) {
      assert.ok(e.closed - e.opened >= TIMEOUT_MS - 50,
        `an idle handshake closed after ${e.closed - e.opened} ms, before HTTP_REQUEST_TIMEOUT_MS`);
    }
    assert.equal((await server.metrics()).get('walcast_http_pending_evicted_total'), evictedBefore + 1);
  } finally {
    for (const e of sockets) e.s.destroy();
  }
});

/// Runs `walcast serve` with env until it exits (it must, at once); returns {code, stderr}.
function serveFails(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(walcastBin(), ['serve'], {
      env: { PATH: process.env.PATH, HOME: dir, PORT: '0', HOST: '127.0.0.1',
        WALCAST_DATA_DIR: join(dir, 'never-created'), JWT_SECRET: server.secret, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`walcast did not stop: ${stderr}`)); }, 20_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

it('start-up refuses, naming the file and the fix', async () => {
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'this is not a certificate\n');
  const cases = [
    [{ TLS_CERT_FILE: cert }, /TLS_CERT_FILE\) is set but --tls-key-file \(TLS_KEY_FILE\) is not: set both/],
    [{ TLS_KEY_FILE: key }, /TLS_KEY_FILE\) is set but --tls-cert-file \(TLS_CERT_FILE\) is not: set both/],
    [{ TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: key },
      /TLS_CERT_FILE \S+missing\.pem: cannot read it \(No such file or directory\); give a readable PEM/],
    [{ TLS_CERT_FILE: notPem, TLS_KEY_FILE: key }, /TLS_CERT_FILE \S+not\.pem is not a PEM certificate chain .*BEGIN CERTIFICATE/],
    [{ TLS_CERT_FILE: cert, TLS_KEY_FILE: notPem }, /TLS_KEY_FILE \S+not\.pem is not an unencrypted PEM private key/],
    [{ TLS_CERT_FILE: cert, TLS_KEY_FILE: otherKey },
      /TLS_KEY_FILE \S+other-key\.pem is not the private key of the certificate in TLS_CERT_FILE \S+cert\.pem; give the key the certificate was issued for/],
  ];
  for (const [env, expected] of cases) {
    const r = await serveFails(env);
    assert.notEqual(r.code, 0, `${JSON.stringify(env)}: ${r.stderr}`);
    assert.match(r.stderr, expected, JSON.stringify(env));
  }
});
